"""Detection on the bus: re-referrals, care entries and custody, applied to the children's follow-ups.

Every signal is kept once per source fact (also for a child with no closure yet: the closure may
arrive later, from another topic), then applied to each closure of the child it concerns
(`domain/signals.py` says which and how). Each detection publishes `followup.recorded` once per
closure it concerns, naming the earliest follow-up it recorded.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from eoc_shared.clock import UK
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.events.schemas import ChildUpdated, PartnerEventReceived, ReferralCreated
from outcomes_svc.db.models import Closure, Followup
from outcomes_svc.db.models import Signal as SignalRow
from outcomes_svc.db.repositories import Closures, Followups, Signals, lock_children
from outcomes_svc.domain import signals as rules
from outcomes_svc.domain.outcome_terms import FollowupStatus, SignalKind
from outcomes_svc.tracking import publish_recorded


def signal_of(row: SignalRow) -> rules.Signal:
    return rules.Signal(SignalKind(row.kind), row.occurred_on, row.referral_id, row.living_situation)


def _state(f: Followup) -> rules.FollowupState:
    return rules.FollowupState(
        recorded=f.status == FollowupStatus.RECORDED.value, source=f.recorded_source, observed_on=f.observed_on,
        living_situation=f.living_situation, re_referred=f.re_referred, re_referred_on=f.re_referred_on,
        care_entry_on=f.care_entry_on, care_entry_kind=f.care_entry_kind,
    )


async def apply_to_closure(uow: UnitOfWork, closure: Closure, signal: rules.Signal) -> bool:
    """Apply one signal to one closure's follow-ups; publish `followup.recorded`. False when it does not apply."""
    if not rules.applies(signal, closed_on=closure.closed_on, closure_referral_id=closure.referral_id):
        return False
    now = utcnow()
    first: Followup | None = None
    for f in await Followups(uow.session).of_closure(closure.id, for_update=True):
        new = rules.apply(_state(f), signal)
        if new is None:
            continue
        f.status = FollowupStatus.RECORDED.value
        f.recorded_source, f.observed_on = new.source, new.observed_on
        f.living_situation, f.re_referred = new.living_situation, new.re_referred
        f.re_referred_on, f.care_entry_on, f.care_entry_kind = new.re_referred_on, new.care_entry_on, new.care_entry_kind
        if f.recorded_at is None:
            f.recorded_at, f.recorded_by = now, "outcomes-svc (detection)"
        f.updated_at = now
        first = first or f
    publish_recorded(
        uow, child_id=closure.child_id, followup=first, intervention_id=closure.intervention_id,
        living_situation=first.living_situation if first and first.living_situation else signal.living_situation,
        re_referred=bool(first.re_referred) if first else signal.kind is SignalKind.RE_REFERRAL,
        observed_on=signal.occurred_on,
    )
    return True


async def detect(uow: UnitOfWork, child_id: uuid.UUID, signal: rules.Signal, *, source: str, source_ref: str) -> int:
    """Keep the signal (once per source fact) and apply it to the child's closures; how many it concerned."""
    signals = Signals(uow.session)
    if await signals.seen(source, source_ref, child_id):
        return 0
    uow.session.add(SignalRow(
        id=uuid.uuid4(), child_id=child_id, kind=signal.kind.value, occurred_on=signal.occurred_on, source=source,
        source_ref=source_ref, referral_id=signal.referral_id, living_situation=signal.living_situation,
        received_at=utcnow(),
    ))
    applied = 0
    for closure in await Closures(uow.session).of_child(child_id):
        applied += await apply_to_closure(uow, closure, signal)
    return applied


async def on_referral_created(uow: UnitOfWork, payload: ReferralCreated) -> None:
    await lock_children(uow.session, [c.child_id for c in payload.children])
    for child in payload.children:
        signal = rules.re_referral(payload.referral_id, payload.referred_on, child.legal_status, child.placement_type)
        await detect(uow, child.child_id, signal, source="referral.created", source_ref=str(payload.referral_id))


def acts_on_child_update(payload: ChildUpdated) -> bool:
    """Only an entry into care among a child's changes says anything about the child's outcome."""
    return rules.is_care_entry(payload.legal_status_before, payload.legal_status, payload.placement_type_before,
                               payload.placement_type)


async def on_child_updated(uow: UnitOfWork, payload: ChildUpdated) -> None:
    """An entry into care (`acts_on_child_update`; the consumer settles the other changes without calling this)."""
    await lock_children(uow.session, [payload.child_id])
    await detect(uow, payload.child_id, rules.care_entry(payload.effective_on), source="child.updated",
                 source_ref=f"{payload.effective_on.isoformat()}:{payload.legal_status}:{payload.placement_type or ''}")


def uk_day(moment: datetime) -> date:
    """The calendar day in the UK on which something happened (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UK).date()


def acts_on_partner_event(payload: PartnerEventReceived) -> bool:
    """Only custody among a partner's events says anything about a child's outcome."""
    return rules.is_custody(payload.kind)


async def on_partner_event(uow: UnitOfWork, payload: PartnerEventReceived) -> None:
    """A custody event (`acts_on_partner_event`; the consumer settles the others without calling this)."""
    await lock_children(uow.session, [payload.child_id])
    await detect(uow, payload.child_id, rules.custody(uk_day(payload.occurred_at)), source="partner.event.received",
                 source_ref=str(payload.partner_event_id))
