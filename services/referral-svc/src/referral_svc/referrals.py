"""Referrals: making one, reading it, moving it along the status machine and withdrawing it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from eoc_shared.acting import Acting
from eoc_shared.clock import today
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.errors import Conflict, Invalid, NotFound
from eoc_shared.events.schemas import ChildFacts, ReferralCreated, ReferralUpdated
from eoc_shared.vocab import Programme, ReferralSource, RiskFactor
from referral_svc.access import ensure_may_read
from referral_svc.db.models import Intervention, Referral, ReferralChild, StatusChange
from referral_svc.db.repositories import (
    AuditLog,
    ChildOnReferral,
    Children,
    Families,
    Interventions,
    Referrals,
    WaitingList,
)
from referral_svc.domain.ages import age_in_whole_years
from referral_svc.domain.status import IllegalTransition, is_terminal, transition
from referral_svc.domain.timeline import start_of
from referral_svc.domain.vocab import ReferralStatus
from referral_svc.domain.working_days import assessment_due_on, consent_due_on
from referral_svc.waiting import WaitingPlace, current_place


@dataclass(frozen=True)
class NewReferral:
    """What a social worker gives to make a referral (children in the order given)."""

    family_id: uuid.UUID
    child_ids: list[uuid.UUID]
    referred_on: date
    source: ReferralSource
    risk_factors: list[RiskFactor]
    threshold_for_removal_met: bool
    requested_programme: Programme | None = None
    team: str | None = None


@dataclass(frozen=True)
class ReferralView:
    """A referral as read: the row, its interventions and its places on waiting lists (none for a new one)."""

    referral: Referral
    interventions: Sequence[Intervention] = field(default_factory=list)
    waiting: Sequence[WaitingPlace] = field(default_factory=list)


async def make_referral(uow: UnitOfWork, data: NewReferral, acting: Acting) -> ReferralView:
    # Reads, then one INSERT of the referral and all that belongs to it: no transaction around it on PostgreSQL.
    await uow.one_statement()
    if not await Families(uow.session).exists(data.family_id):
        raise Invalid(f"there is no family {data.family_id}", field="family_id")
    if data.referred_on > today():
        raise Invalid("is in the future", field="referred_on")
    children = await Children(uow.session).on_referral(data.child_ids)
    for position, child_id in enumerate(data.child_ids):
        child = children.get(child_id)
        if child is None:
            raise Invalid(f"there is no child {child_id}", field=f"child_ids.{position}")
        if child.family_id != data.family_id:
            raise Invalid(f"child {child_id} belongs to another family", field=f"child_ids.{position}")
        if child.date_of_birth > data.referred_on:
            raise Invalid(f"is before the date of birth of child {child_id}", field="referred_on")
    now = utcnow()
    referral = Referral(
        id=uuid.uuid4(),
        family_id=data.family_id,
        referred_on=data.referred_on,
        source=data.source.value,
        risk_factors=[f.value for f in data.risk_factors],
        threshold_for_removal_met=data.threshold_for_removal_met,
        requested_programme=data.requested_programme.value if data.requested_programme else None,
        team=data.team,
        status=ReferralStatus.RECEIVED.value,
        consent_due_on=consent_due_on(data.referred_on),
        assessment_due_on=assessment_due_on(data.referred_on),
        created_at=now,
        created_by=acting.actor,
        updated_at=now,
        children=[ReferralChild(child_id=cid, position=i) for i, cid in enumerate(data.child_ids)],
    )
    first_status = StatusChange(
        referral_id=referral.id, at=start_of(referral.referred_on), from_status=None,
        to_status=referral.status, cause="referral.created", actor=acting.actor, recorded_at=now,
    )
    announced = uow.outbox_rows("referral.created", [(
        referral.id,
        ReferralCreated(
            referral_id=referral.id,
            family_id=data.family_id,
            referred_on=referral.referred_on,
            source=referral.source,
            risk_factors=referral.risk_factors,
            threshold_for_removal_met=referral.threshold_for_removal_met,
            requested_programme=referral.requested_programme,
            children=[_child_facts(children[cid], referral.referred_on) for cid in data.child_ids],
        ),
    )])
    audited_children = list(dict.fromkeys(data.child_ids))
    audited = AuditLog.dependent("referral.created", [(acting, cid) for cid in audited_children],
                                 parents=[referral.id] * len(audited_children))
    await Referrals(uow.session).insert_new(referral, first_status, announced, audited)
    return ReferralView(referral)


def _child_facts(child: ChildOnReferral, on: date) -> ChildFacts:
    return ChildFacts(
        child_id=child.id,
        age_years=age_in_whole_years(child.date_of_birth, on),
        legal_status=child.legal_status,
        placement_type=child.placement_type,
    )


async def get_referral(uow: UnitOfWork, referral_id: uuid.UUID, *, for_update: bool = False) -> Referral:
    referral = await Referrals(uow.session).get(referral_id, for_update=for_update)
    if referral is None:
        raise NotFound(f"there is no referral {referral_id}")
    return referral


async def view_of(uow: UnitOfWork, referral: Referral) -> ReferralView:
    interventions = await Interventions(uow.session).of_referrals([referral.id])
    waiting = [await current_place(uow, entry) for entry in await WaitingList(uow.session).of_referral(referral.id)]
    return ReferralView(referral, list(interventions), waiting)


async def read_referral(uow: UnitOfWork, referral_id: uuid.UUID, acting: Acting) -> ReferralView:
    referral = await get_referral(uow, referral_id)
    await ensure_may_read(uow.session, acting, referral_id=referral_id)
    await AuditLog(uow.session).append(acting, "referral.read", referral.child_ids)  # the read's only write
    return await view_of(uow, referral)


async def move_status(
    uow: UnitOfWork, referral: Referral, target: ReferralStatus, *, at: datetime, cause: str, acting: Acting
) -> bool:
    """Move a referral along the status machine (409 naming the current status when not allowed),
    keep the move in its history and publish `referral.updated`. False when the status stays the same."""
    current = ReferralStatus(referral.status)
    try:
        new = transition(current, target)
    except IllegalTransition as exc:
        raise Conflict(str(exc), current_status=current.value) from exc
    if new == current:
        return False
    now = utcnow()
    referral.status = new.value
    referral.updated_at = now
    uow.session.add(StatusChange(
        referral_id=referral.id, at=at, from_status=current.value, to_status=new.value, cause=cause,
        actor=acting.actor, recorded_at=now,
    ))
    await publish_referral_updated(uow, referral, ["status"])
    return True


async def publish_referral_updated(uow: UnitOfWork, referral: Referral, changed: list[str]) -> None:
    children = await Children(uow.session).on_referral(referral.child_ids)
    uow.publish("referral.updated", key=referral.id, data=ReferralUpdated(
        referral_id=referral.id, family_id=referral.family_id, status=referral.status, changed=changed,
        referred_on=referral.referred_on, risk_factors=referral.risk_factors,
        threshold_for_removal_met=referral.threshold_for_removal_met,
        children=[_child_facts(children[cid], referral.referred_on) for cid in referral.child_ids],
    ))


async def withdraw_referral(uow: UnitOfWork, referral_id: uuid.UUID, reason: str, acting: Acting) -> ReferralView:
    """Withdraw a referral: refused while an intervention is open (close it first); leaves any waiting list."""
    referral = await get_referral(uow, referral_id, for_update=True)
    if not is_terminal(referral.status) and await Interventions(uow.session).open_count_of_referral(referral.id):
        raise Conflict("the referral has an open intervention; close it before withdrawing the referral",
                       current_status=referral.status)
    await move_status(uow, referral, ReferralStatus.WITHDRAWN, at=utcnow(), cause="referral.withdrawn", acting=acting)
    referral.withdrawn_reason = reason
    now = utcnow()
    for entry in await WaitingList(uow.session).of_referral(referral.id):
        entry.status, entry.left_at, entry.left_reason = "cancelled", now, "referral withdrawn"
    AuditLog(uow.session).record(acting, "referral.withdrawn", referral.child_ids)
    return await view_of(uow, referral)
