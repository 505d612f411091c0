"""Application operations for interventions: starting (or waiting for a place), superseding, closing,
filling freed places from the waiting list, and the ops settings of each programme.

Every operation that gives or frees a place first locks all programme rows in one order, so two
requests never give the same place twice and cascades (a start that supersedes, freeing a place
elsewhere) never deadlock.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from eoc_shared.acting import Acting
from eoc_shared.clock import today
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.errors import Conflict, Invalid, NotFound
from eoc_shared.events.schemas import ChildOutcome, InterventionClosed, InterventionStarted
from eoc_shared.vocab import ClosureReason, Programme
from referral_svc.access import ensure_may_read
from referral_svc.db.models import Intervention, ProgrammeSetting, Referral, WaitingEntry
from referral_svc.db.repositories import AuditLog, Children, Interventions, Programmes, Referrals, WaitingList
from referral_svc.domain.interventions import ChildOutcome as GivenOutcome
from referral_svc.domain.interventions import (
    expected_end_on,
    living_situation_on_record,
    needs_waiting_list,
    order_waiting_list,
    start_from_waiting_list_on,
    superseded_closed_on,
    to_supersede,
    validate_child_outcomes,
)
from referral_svc.domain.status import IllegalTransition, can_transition, is_terminal
from referral_svc.domain.timeline import start_of
from referral_svc.domain.vocab import ReferralStatus
from referral_svc.referrals import get_referral, move_status
from referral_svc.waiting import WaitingPlace, current_place, place_of

Settings = dict[str, ProgrammeSetting]


# --------------------------------------------------------------------------------------------- start


@dataclass(frozen=True)
class Started:
    """An intervention just started, with the family's interventions it superseded (now closed)."""

    intervention: Intervention
    superseded: list[Intervention]


async def start_intervention(
    uow: UnitOfWork, referral_id: uuid.UUID, programme: Programme, *, started_on: date, practitioner: str | None,
    acting: Acting,
) -> Started | WaitingPlace:
    """Start the programme for the referral's family, or put the family on the programme's waiting list
    when it is full (the family's place on it is returned)."""
    settings = await Programmes(uow.session).lock_all()
    referral = await get_referral(uow, referral_id, for_update=True)
    code = programme.value
    if started_on > today():
        raise Invalid("is after today; record a start once it has happened", field="started_on")
    if started_on < referral.referred_on:
        raise Invalid(f"is before the referral date {referral.referred_on.isoformat()}", field="started_on")
    if is_terminal(referral.status):
        raise Conflict(f"the referral is {referral.status}; a new episode needs a new referral",
                       current_status=referral.status)
    _ensure_eligible(referral, code)
    if not can_transition(referral.status, ReferralStatus.ACTIVE):
        raise Conflict(str(IllegalTransition(referral.status, ReferralStatus.ACTIVE)), current_status=referral.status)

    interventions = Interventions(uow.session)
    for open_iv in await interventions.open_of_family(referral.family_id):
        if open_iv.referral_id == referral.id and open_iv.programme == code:
            raise Conflict(f"the referral already has an open {code} intervention ({open_iv.id}, started "
                           f"{open_iv.started_on.isoformat()})", current_status=referral.status)
    for entry in await WaitingList(uow.session).of_referral(referral.id):
        if entry.programme == code:
            raise Conflict(f"the referral is already waiting for a place in {code} since "
                           f"{entry.joined_at.date().isoformat()}", current_status=referral.status)

    active = await interventions.active_families(code)
    if needs_waiting_list(family_already_active=referral.family_id in active, active_families=len(active),
                          limit=settings[code].capacity):
        entry = await _join_waiting_list(uow, referral, code, started_on, practitioner, acting)
        return await current_place(uow, entry)

    iv, superseded = await _start(uow, referral, code, started_on, practitioner, acting, settings,
                                  from_waiting_list=False)
    await _fill_places(uow, [s.programme for s in superseded], iv.started_on, acting, settings)
    return Started(iv, superseded)


def _ensure_eligible(referral: Referral, programme: str) -> None:
    if referral.eligibility is None:
        raise Conflict(f"the referral has no eligibility decision yet (it is {referral.status}); an intervention "
                       "can start once eligibility is decided", current_status=referral.status, programme=programme)
    decided = next((p for p in referral.eligibility.get("programmes", []) if p.get("programme") == programme), None)
    if decided is None or not decided.get("eligible"):
        reasons = list(decided.get("reasons") or []) if decided else ["the decision does not cover this programme"]
        because = "; ".join(reasons) or "no reason given"
        raise Conflict(f"the referral is not eligible for {programme}: {because}", current_status=referral.status,
                       programme=programme, reasons=reasons)


async def _join_waiting_list(
    uow: UnitOfWork, referral: Referral, programme: str, started_on: date, practitioner: str | None, acting: Acting
) -> WaitingEntry:
    now = utcnow()
    entry = WaitingEntry(
        id=uuid.uuid4(), referral_id=referral.id, family_id=referral.family_id, programme=programme,
        status="waiting", referred_on=referral.referred_on, joined_at=now, requested_started_on=started_on,
        practitioner=practitioner, requested_by=acting.actor,
    )
    uow.session.add(entry)
    if referral.status == ReferralStatus.ELIGIBLE:
        await move_status(uow, referral, ReferralStatus.WAITLISTED, at=now, cause="intervention.waitlisted",
                          acting=acting)
    await uow.session.flush()
    AuditLog(uow.session).record(acting, "intervention.waitlisted", referral.child_ids)
    return entry


async def _start(
    uow: UnitOfWork, referral: Referral, programme: str, started_on: date, practitioner: str | None,
    acting: Acting, settings: Settings, *, from_waiting_list: bool,
) -> tuple[Intervention, list[Intervention]]:
    """Start an intervention and close every other open intervention of the family it supersedes."""
    open_before = await Interventions(uow.session).open_of_family(referral.family_id)
    iv = Intervention(
        id=uuid.uuid4(), referral_id=referral.id, family_id=referral.family_id, programme=programme,
        status="active", started_on=started_on,
        expected_end_on=expected_end_on(started_on, settings[programme].duration_months),
        practitioner=practitioner, from_waiting_list=from_waiting_list, created_at=utcnow(), created_by=acting.actor,
    )
    uow.session.add(iv)
    await move_status(uow, referral, ReferralStatus.ACTIVE, at=start_of(started_on), cause="intervention.started",
                      acting=acting)
    uow.publish("intervention.started", key=referral.id, data=InterventionStarted(
        intervention_id=iv.id, referral_id=referral.id, family_id=referral.family_id, child_ids=referral.child_ids,
        programme=programme, started_on=started_on, expected_end_on=iv.expected_end_on, practitioner=practitioner,
    ))
    action = "intervention.started_from_waiting_list" if from_waiting_list else "intervention.started"
    AuditLog(uow.session).record(acting, action, referral.child_ids)
    superseded = to_supersede(programme, open_before, new_intervention_id=iv.id)
    for old in superseded:
        await _close_superseded(uow, old, iv, acting)
    return iv, superseded


async def _close_superseded(uow: UnitOfWork, old: Intervention, new: Intervention, acting: Acting) -> None:
    referral = await get_referral(uow, old.referral_id, for_update=True)
    children = await Children(uow.session).on_referral(referral.child_ids)
    outcomes = []
    for child_id in referral.child_ids:
        living, placement = living_situation_on_record(children[child_id].legal_status,
                                                       children[child_id].placement_type)
        outcomes.append({"child_id": str(child_id), "living_situation": living, "placement_type": placement})
    closed_on = superseded_closed_on(new.started_on, old.started_on)
    _mark_closed(uow, old, referral, closed_on, ClosureReason.SUPERSEDED.value, outcomes, acting)
    old.superseded_by = new.id
    AuditLog(uow.session).record(acting, "intervention.superseded", referral.child_ids)
    if referral.id != new.referral_id:
        await _close_referral_when_done(uow, referral, closed_on, acting)


def _mark_closed(
    uow: UnitOfWork, iv: Intervention, referral: Referral, closed_on: date, reason: str,
    outcomes: list[dict[str, Any]], acting: Acting,
) -> None:
    iv.status, iv.closed_on, iv.reason, iv.child_outcomes = "closed", closed_on, reason, outcomes
    iv.closed_at, iv.closed_by = utcnow(), acting.actor
    uow.publish("intervention.closed", key=referral.id, data=InterventionClosed(
        intervention_id=iv.id, referral_id=referral.id, family_id=iv.family_id, child_ids=referral.child_ids,
        programme=iv.programme, started_on=iv.started_on, closed_on=closed_on, reason=reason,
        child_outcomes=[ChildOutcome(**o) for o in outcomes], practitioner=iv.practitioner,
    ))


async def _close_referral_when_done(uow: UnitOfWork, referral: Referral, closed_on: date, acting: Acting) -> None:
    """A referral closes with its last open intervention, unless the family still waits for a place."""
    if referral.status != ReferralStatus.ACTIVE:
        return
    await uow.session.flush()
    if await Interventions(uow.session).open_count_of_referral(referral.id):
        return
    if await WaitingList(uow.session).of_referral(referral.id):
        return
    await move_status(uow, referral, ReferralStatus.CLOSED, at=start_of(closed_on), cause="intervention.closed",
                      acting=acting)


# --------------------------------------------------------------------------------------------- waiting list


async def _fill_places(
    uow: UnitOfWork, programmes: Iterable[str], freed_on: date, acting: Acting, settings: Settings
) -> list[Intervention]:
    """Give freed places to the families waiting longest (by referral date): the intervention starts at
    once, on the day the place freed (or the later start date asked for). Starting may supersede other
    interventions and free places elsewhere, which are filled in turn."""
    pending = deque(dict.fromkeys(programmes))
    started: list[Intervention] = []
    interventions = Interventions(uow.session)
    waiting_list = WaitingList(uow.session)
    while pending:
        programme = pending.popleft()
        while True:
            await uow.session.flush()
            entries = order_waiting_list(await waiting_list.waiting(programme))
            if not entries:
                break
            entry = entries[0]
            referral = await get_referral(uow, entry.referral_id, for_update=True)
            if not can_transition(referral.status, ReferralStatus.ACTIVE):
                entry.status, entry.left_at, entry.left_reason = "cancelled", utcnow(), f"referral {referral.status}"
                continue
            active = await interventions.active_families(programme)
            if needs_waiting_list(family_already_active=referral.family_id in active, active_families=len(active),
                                  limit=settings[programme].capacity):
                break
            started_on = start_from_waiting_list_on(freed_on, entry.requested_started_on, referral.referred_on)
            entry.status, entry.left_at, entry.left_reason = "started", utcnow(), "place offered and started"
            iv, superseded = await _start(uow, referral, programme, started_on, entry.practitioner, acting, settings,
                                          from_waiting_list=True)
            entry.intervention_id = iv.id
            started.append(iv)
            for old in superseded:
                if old.programme != programme and old.programme not in pending:
                    pending.append(old.programme)
    return started


async def waiting_list_of(uow: UnitOfWork, programme: Programme) -> list[WaitingPlace]:
    entries = order_waiting_list(await WaitingList(uow.session).waiting(programme.value))
    return [place_of(e, i + 1) for i, e in enumerate(entries)]


async def leave_waiting_list(
    uow: UnitOfWork, referral_id: uuid.UUID, programme: Programme, acting: Acting
) -> WaitingPlace:
    """Take a referral off a programme's waiting list (the family no longer wants or needs the place)."""
    await Programmes(uow.session).lock_all()
    referral = await get_referral(uow, referral_id, for_update=True)
    entry = next((e for e in await WaitingList(uow.session).of_referral(referral.id) if e.programme == programme), None)
    if entry is None:
        raise NotFound(f"referral {referral_id} is not waiting for a place in {programme.value}")
    others = [e for e in await WaitingList(uow.session).of_referral(referral.id) if e.id != entry.id]
    if referral.status == ReferralStatus.WAITLISTED and not others:
        raise Conflict(f"the referral is waitlisted only for {programme.value}; start another programme or withdraw "
                       "the referral instead", current_status=referral.status)
    entry.status, entry.left_at, entry.left_reason = "cancelled", utcnow(), f"taken off the list by {acting.actor}"
    await uow.session.flush()
    AuditLog(uow.session).record(acting, "waiting_list.left", referral.child_ids)
    return place_of(entry, None)


# --------------------------------------------------------------------------------------------- close


async def close_intervention(
    uow: UnitOfWork, intervention_id: uuid.UUID, *, closed_on: date, reason: ClosureReason,
    child_outcomes: Sequence[GivenOutcome], acting: Acting,
) -> Intervention:
    """Close with one outcome per child of the referral; the freed place goes to the waiting list."""
    settings = await Programmes(uow.session).lock_all()
    iv = await Interventions(uow.session).get(intervention_id, for_update=True)
    if iv is None:
        raise NotFound(f"there is no intervention {intervention_id}")
    if iv.status == "closed":
        raise Conflict(f"the intervention was already closed on {iv.closed_on.isoformat() if iv.closed_on else '?'} "
                       f"({iv.reason})", intervention_status=iv.status)
    if closed_on > today():
        raise Invalid("is after today; record a closure once it has happened", field="closed_on")
    if closed_on < iv.started_on:
        raise Invalid(f"is before the intervention started on {iv.started_on.isoformat()}", field="closed_on")
    referral = await get_referral(uow, iv.referral_id, for_update=True)
    problems = validate_child_outcomes(referral.child_ids, child_outcomes)
    if problems:
        raise Invalid("; ".join(f"{p.field}: {p.message}" for p in problems), field=problems[0].field)
    given = {o.child_id: o for o in child_outcomes}
    outcomes = [
        {"child_id": str(cid), "living_situation": given[cid].living_situation,
         "placement_type": given[cid].placement_type}
        for cid in referral.child_ids
    ]
    _mark_closed(uow, iv, referral, closed_on, reason.value, outcomes, acting)
    AuditLog(uow.session).record(acting, "intervention.closed", referral.child_ids)
    await _close_referral_when_done(uow, referral, closed_on, acting)
    await _fill_places(uow, [iv.programme], closed_on, acting, settings)
    return iv


# --------------------------------------------------------------------------------------------- reads


async def read_intervention(uow: UnitOfWork, intervention_id: uuid.UUID, acting: Acting) -> Intervention:
    iv = await Interventions(uow.session).get(intervention_id)
    if iv is None:
        raise NotFound(f"there is no intervention {intervention_id}")
    await ensure_may_read(uow.session, acting, referral_id=iv.referral_id)
    referral = await get_referral(uow, iv.referral_id)
    AuditLog(uow.session).record(acting, "intervention.read", referral.child_ids)
    return iv


async def list_interventions(
    uow: UnitOfWork, acting: Acting, *, practitioner: str | None, programme: str | None, status: str | None,
    limit: int, offset: int, past_expected_end: bool | None = None,
) -> Sequence[Intervention]:
    if acting.is_practitioner:
        practitioner = acting.actor  # a practitioner sees only their own
    found = await Interventions(uow.session).listing(practitioner=practitioner, programme=programme, status=status,
                                                     past_expected_end=past_expected_end, as_of=today(),
                                                     limit=limit, offset=offset)
    if found:
        children = await Referrals(uow.session).child_ids_of(list({i.referral_id for i in found}))
        AuditLog(uow.session).record(acting, "worklist.read",
                                     [c for i in found for c in children.get(i.referral_id, [])])
    return found


# --------------------------------------------------------------------------------------------- ops settings


@dataclass(frozen=True)
class ProgrammeState:
    """A programme's ops settings with how full it is now."""

    programme: str
    capacity: int | None
    duration_months: int
    active_families: int
    waiting: int
    updated_at: datetime | None
    updated_by: str | None


async def programmes_view(uow: UnitOfWork) -> list[ProgrammeState]:
    counts = await WaitingList(uow.session).counts()
    interventions = Interventions(uow.session)
    out = []
    for row in await Programmes(uow.session).all():
        out.append(ProgrammeState(
            programme=row.programme, capacity=row.capacity, duration_months=row.duration_months,
            active_families=len(await interventions.active_families(row.programme)),
            waiting=counts.get(row.programme, 0), updated_at=row.updated_at, updated_by=row.updated_by,
        ))
    order = [p.value for p in Programme]
    return sorted(out, key=lambda r: order.index(r.programme) if r.programme in order else len(order))


async def set_capacity(uow: UnitOfWork, programme: Programme, capacity: int | None, acting: Acting) -> ProgrammeState:
    """Set how many families a programme serves at once (None: no limit). Places opened by a raise go to
    the waiting list at once; a lower limit ends no one's intervention, it only holds new starts."""
    settings = await Programmes(uow.session).lock_all()
    row = settings[programme.value]
    row.capacity, row.updated_at, row.updated_by = capacity, utcnow(), acting.actor
    await _fill_places(uow, [programme.value], today(), acting, settings)
    await uow.session.flush()
    return next(p for p in await programmes_view(uow) if p.programme == programme.value)


async def set_duration(uow: UnitOfWork, programme: Programme, months: int, acting: Acting) -> ProgrammeState:
    """Planned length for interventions started from now on; those already started keep their end date."""
    settings = await Programmes(uow.session).lock_all()
    row = settings[programme.value]
    row.duration_months, row.updated_at, row.updated_by = months, utcnow(), acting.actor
    await uow.session.flush()
    return next(p for p in await programmes_view(uow) if p.programme == programme.value)
