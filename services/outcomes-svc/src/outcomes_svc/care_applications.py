"""Care applications (care_application.made from referral-svc) as a signal on the children's follow-ups.

An application for a care or supervision order is not a care entry — the court may never make the
order — so it never records a follow-up; each follow-up shows `care_application_on`: the first
application for that child between the intervention's start and the follow-up's due date.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select

from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.events.schemas import CareApplicationMade
from outcomes_svc.db.care_application_models import CareApplicationSeen
from outcomes_svc.db.models import Closure


async def on_care_application_made(uow: UnitOfWork, payload: CareApplicationMade) -> None:
    """Kept once per application and child (also before any closure of the child is known)."""
    seen = set((await uow.session.execute(
        select(CareApplicationSeen.child_id).where(CareApplicationSeen.application_id == payload.application_id)
    )).scalars())
    for child_id in payload.child_ids:
        if child_id in seen:
            continue
        uow.session.add(CareApplicationSeen(
            id=uuid.uuid4(), application_id=payload.application_id, child_id=child_id,
            referral_id=payload.referral_id, applied_on=payload.applied_on, order=payload.order,
            urgent=payload.urgent, received_at=utcnow(),
        ))


def first_between(applied: Sequence[date], start: date, end: date) -> date | None:
    """The first application on or after `start` and on or before `end`."""
    within = [d for d in applied if start <= d <= end]
    return min(within) if within else None


async def annotate(uow: UnitOfWork, child_id: uuid.UUID, views: list[dict[str, Any]],
                   closures: dict[uuid.UUID, Closure]) -> None:
    """Add `care_application_on` to each follow-up view of the child."""
    applied = list((await uow.session.execute(
        select(CareApplicationSeen.applied_on).where(CareApplicationSeen.child_id == child_id)
    )).scalars())
    if not applied:
        return
    by_intervention = {c.intervention_id: c for c in closures.values()}
    for view in views:
        closure = by_intervention.get(view["intervention_id"])
        if closure is not None:
            view["care_application_on"] = first_between(applied, closure.started_on, view["due_on"])
