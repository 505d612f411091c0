"""Each child's projected placement cost avoided: proposed when a referral arrives, verified by the placements
team; every change is a new version with before and after, and `projection.updated` when it has a rate."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from eoc_shared.acting import Acting
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.errors import Invalid, NotFound
from eoc_shared.events.envelope import Envelope
from eoc_shared.events.schemas import (
    ProjectionUpdated,
    ReferralCreated,
)
from eoc_shared.finyear import financial_year_of, label
from finance_svc.db.models import (
    Projection,
    ProjectionVersion,
    ReferralSeen,
)
from finance_svc.db.repositories import (
    AccessLog,
    Projections,
    Rates,
    keep_first_insert,
    lock_ledger,
)
from finance_svc.domain import projection as rules
from finance_svc.domain.vocab import RISK_FACTORS
from finance_svc.ledgering import recompute
from finance_svc.placement_rules import rule_in_force

SERVICE_ACTOR = "finance-svc"


def _state(p: Projection) -> dict[str, Any]:
    return {
        "placement_type": p.placement_type,
        "daily_rate": None if p.daily_rate is None else str(p.daily_rate),
        "status": p.status,
        "basis": p.basis,
    }


def change_projection(
    uow: UnitOfWork,
    projection: Projection,
    *,
    placement_type: str,
    daily_rate: Decimal | None,
    status: str,
    basis: str,
    changed_by: str,
    recorded_by: str,
    rule_version: int | None = None,
) -> None:
    """Apply a change to a stored projection: a new version with before and after, and the event."""
    before = _state(projection) if projection.version else None
    now = utcnow()
    projection.placement_type = placement_type
    projection.daily_rate = daily_rate
    projection.status = status
    projection.basis = basis
    projection.rule_version = rule_version
    projection.changed_by = changed_by
    projection.changed_at = now
    projection.version = (projection.version or 0) + 1
    uow.session.add(
        ProjectionVersion(
            child_id=projection.child_id, version=projection.version, changed_by=changed_by, recorded_by=recorded_by,
            changed_at=now, basis=basis, before=before, after=_state(projection),
        )
    )
    if daily_rate is not None:
        uow.publish(
            "projection.updated",
            key=projection.child_id,
            data=ProjectionUpdated(
                child_id=projection.child_id, placement_type=placement_type, daily_rate=daily_rate,
                annual_cost_avoided=rules.annual_cost_avoided(daily_rate), status=status, version=projection.version,
            ),
        )


async def referral_created(uow: UnitOfWork, event: Envelope, payload: ReferralCreated) -> None:
    """Propose a projection for every child of a new referral (the rule in force, the referral year's rates)."""
    session = uow.session
    fy = financial_year_of(payload.referred_on)
    children = [c.child_id for c in payload.children]
    await lock_ledger(session, children=children, rate_years=[fy])
    # One statement, not a look-up and an insert: a repeat of the event keeps the row first stored.
    await session.execute(keep_first_insert(session, ReferralSeen), {
        "id": payload.referral_id, "family_id": payload.family_id, "referred_on": payload.referred_on,
        "risk_factors": list(payload.risk_factors),
        "children": [c.model_dump(mode="json") for c in payload.children], "received_at": utcnow(),
    })
    rule_set = await rule_in_force(uow)
    card = await Rates(session).card(fy)
    known = await Projections(session).of_children(children)
    factors = [f for f in payload.risk_factors if f in RISK_FACTORS]  # a newer producer's codes play no part
    changed: list[uuid.UUID] = []
    for child in payload.children:
        placement, matched = rules.explain_placement(
            rule_set, child.age_years, child.legal_status, child.placement_type, factors
        )
        basis = rules.basis_for(rule_set, matched)
        rate = card.get(placement)
        current = known.get(child.child_id)
        if current is not None and current.status == rules.VERIFIED:
            continue  # the placements team's word stands until they change it
        if current is not None and (current.placement_type, current.daily_rate, current.rate_fy) == (placement, rate, fy):
            continue
        if current is None:
            current = Projection(child_id=child.child_id, version=0)
            session.add(current)
        current.referral_id = payload.referral_id
        current.family_id = payload.family_id
        current.rate_fy = fy
        change_projection(uow, current, placement_type=placement, daily_rate=rate, status=rules.PROPOSED, basis=basis,
                changed_by=rules.SYSTEM_ACTOR, recorded_by=SERVICE_ACTOR, rule_version=rule_set.version)
        changed.append(child.child_id)
    await session.flush()
    await recompute(session, changed)


async def read_projection(uow: UnitOfWork, child_id: uuid.UUID, acting: Acting) -> Projection:
    projection = await Projections(uow.session).get(child_id)
    if projection is None:
        raise NotFound(f"finance has no projection for child {child_id}: projections are made when a referral "
                       "for the child arrives", field="child_id")
    AccessLog(uow.session).record(acting, "projection.read", [child_id])
    return projection


async def projection_history(uow: UnitOfWork, child_id: uuid.UUID, acting: Acting) -> list[ProjectionVersion]:
    await read_projection(uow, child_id, acting)
    return await Projections(uow.session).history(child_id)


async def verify_projection(
    uow: UnitOfWork,
    child_id: uuid.UUID,
    *,
    placement_type: str,
    daily_rate: Decimal | None,
    basis: str,
    verified_by: str,
    acting: Acting,
) -> Projection:
    """The placements team confirms or changes a projection; it becomes `verified`, the old one is kept."""
    session = uow.session
    found = await Projections(session).get(child_id)
    if found is None:
        raise NotFound(f"finance has no projection for child {child_id}: projections are made when a referral "
                       "for the child arrives", field="child_id")
    await lock_ledger(session, children=[child_id], rate_years=[found.rate_fy])
    projection = await Projections(session).get(child_id)
    assert projection is not None
    if daily_rate is None:
        daily_rate = (await Rates(session).card(projection.rate_fy)).get(placement_type)
        if daily_rate is None:
            raise Invalid(
                f"there is no {label(projection.rate_fy)} daily rate for {placement_type}: set it with PUT "
                f"/finance/rates/{projection.rate_fy}, or give daily_rate", field="daily_rate",
            )
    change_projection(uow, projection, placement_type=placement_type, daily_rate=daily_rate, status=rules.VERIFIED,
            basis=basis, changed_by=verified_by, recorded_by=acting.actor)
    AccessLog(session).record(acting, "projection.verify", [child_id])
    await session.flush()
    await recompute(session, [child_id])
    return projection
