"""A financial year's settings people enter: the rate card, the targets, the programme costs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from eoc_shared.acting import Acting
from eoc_shared.db import UnitOfWork
from eoc_shared.errors import Invalid
from eoc_shared.finyear import label
from finance_svc.db.repositories import (
    ProgrammeCosts,
    Projections,
    Rates,
    Targets,
    chunks,
    lock_ledger,
)
from finance_svc.domain import projection as rules
from finance_svc.ledgering import recompute
from finance_svc.projections import change_projection


def _unique(items: Sequence[tuple[str, Any]], what: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for index, (key, value) in enumerate(items):
        if key in seen:
            raise Invalid(f"{key} is given twice; give each {what} once", field=f"{index}.{what}")
        seen[key] = value
    return seen


async def set_rates(uow: UnitOfWork, fy: int, items: Sequence[tuple[str, Decimal]], acting: Acting) -> int:
    """Replace the year's rate card; proposed projections of that year take the new rates. Returns how many moved."""
    card = _unique(items, "placement_type")
    session = uow.session
    await lock_ledger(session, rate_years=[fy])
    await Rates(session).replace(fy, card, acting.actor)
    waiting = await Projections(session).proposed_of_rate_year(fy)
    moved = 0
    for part in chunks(sorted(waiting)):
        await lock_ledger(session, children=part)
        changed: list[uuid.UUID] = []
        for projection in (await Projections(session).of_children(part)).values():
            if projection.status != rules.PROPOSED:
                continue
            rate = card.get(projection.placement_type)
            if rate == projection.daily_rate:
                continue
            change_projection(uow, projection, placement_type=projection.placement_type, daily_rate=rate,
                    status=rules.PROPOSED, basis=f"{projection.basis.split('; ')[0]}; {label(fy)} rate card changed",
                    changed_by=acting.actor, recorded_by=acting.actor, rule_version=projection.rule_version)
            changed.append(projection.child_id)
        await session.flush()
        await recompute(session, changed)
        moved += len(changed)
    return moved


async def rate_card(uow: UnitOfWork, fy: int) -> dict[str, Decimal]:
    return await Rates(uow.session).card(fy)


async def set_targets(uow: UnitOfWork, fy: int, children_diverted: int, gross_savings: Decimal, acting: Acting) -> Any:
    return await Targets(uow.session).put(fy, children_diverted, gross_savings, acting.actor)


async def targets_of(uow: UnitOfWork, fy: int) -> Any:
    return await Targets(uow.session).get(fy)


async def set_programme_costs(uow: UnitOfWork, fy: int, items: Sequence[tuple[str, Decimal]], acting: Acting) -> None:
    await ProgrammeCosts(uow.session).replace(fy, _unique(items, "programme"), acting.actor)


async def programme_costs(uow: UnitOfWork, fy: int) -> dict[str, Decimal]:
    return {c.programme: c.cost for c in await ProgrammeCosts(uow.session).of_year(fy)}
