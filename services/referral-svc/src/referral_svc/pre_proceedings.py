"""Application operations for pre-proceedings and the FGDM duty (s31ZA): each takes a unit of work, checks
the rules in `domain/pre_proceedings.py`, changes state, writes thin events to the outbox and one audit
entry per step. Every check runs before the first write, so a refusal stores and publishes nothing.

Parties' names stay in this service's tables: events carry ids, codes and dates, and nothing here logs.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError

from eoc_shared import finyear
from eoc_shared.acting import Acting
from eoc_shared.auth import Role
from eoc_shared.clock import today
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.errors import Conflict, Forbidden, Invalid, NotFound
from eoc_shared.events.schemas import (
    CareApplicationMade,
    FgdmMeetingHeld,
    FgdmOffered,
    FgdmOfferOverdue,
    FgdmResponded,
    PreProceedingsStarted,
)
from eoc_shared.vocab import Programme
from referral_svc.access import ensure_may_read
from referral_svc.db.models import Referral
from referral_svc.db.pre_proceedings_models import (
    CareApplication,
    FgdmException,
    FgdmMeeting,
    FgdmOffer,
    PreProceedings,
    PreProceedingsParty,
)
from referral_svc.db.pre_proceedings_repository import Loaded, PreProceedingsRecords
from referral_svc.db.repositories import AuditLog, Interventions, Referrals
from referral_svc.domain import fgdm_report
from referral_svc.domain import pre_proceedings as rules
from referral_svc.domain.pre_proceedings import ExceptionKind, RecordStatus
from referral_svc.domain.vocab import ReferralStatus

# --------------------------------------------------------------------------------------------- helpers


def _audit(uow: UnitOfWork, acting: Acting, action: str, child_ids: Sequence[uuid.UUID]) -> None:
    """One audit entry per step and child: the single place to re-point when the shared audit kit lands."""
    AuditLog(uow.session).record(acting, action, child_ids)


def _refuse_out_of_order(problem: rules.OutOfOrder | None) -> None:
    if problem is not None:
        raise Invalid(problem.message, field=problem.field)


def facts_of(loaded: Loaded) -> rules.Record:
    """The plain facts the rules read, from the stored record."""
    r = loaded.record
    return rules.Record(
        started_on=r.started_on,
        letter_before_proceedings_on=r.letter_before_proceedings_on,
        parties=[rules.Party(p.id, p.relationship, tuple(uuid.UUID(c) for c in p.child_ids)) for p in loaded.parties],
        offers=[rules.Offer(o.id, o.party_id, o.offered_on, o.response, o.responded_on) for o in loaded.offers],
        meetings=[rules.Meeting(m.held_on) for m in loaded.meetings],
        exceptions=[rules.Exception_(e.kind, e.reason, e.party_id) for e in loaded.exceptions],
    )


@dataclass(frozen=True)
class RecordView:
    """A record as read: what is stored, the referral's children, and the duty's state computed today."""

    loaded: Loaded
    family_id: uuid.UUID
    child_ids: list[uuid.UUID]
    compliance: rules.Compliance
    offer_overdue: bool


async def _referral(uow: UnitOfWork, referral_id: uuid.UUID) -> Referral:
    referral = await Referrals(uow.session).get(referral_id)
    if referral is None:
        raise NotFound(f"there is no referral {referral_id}")
    return referral


async def _open_record(uow: UnitOfWork, record_id: uuid.UUID) -> tuple[PreProceedings, Referral]:
    """The record, locked, refusing any change once the application is made."""
    record = await PreProceedingsRecords(uow.session).get(record_id, for_update=True)
    if record is None:
        raise NotFound(f"there is no pre-proceedings record {record_id}")
    if record.status != RecordStatus.OPEN:
        raise Conflict("the application has been made: this pre-proceedings record is closed to changes",
                       current_status=record.status)
    return record, await _referral(uow, record.referral_id)


async def _view(uow: UnitOfWork, record: PreProceedings, referral: Referral) -> RecordView:
    loaded = await PreProceedingsRecords(uow.session).load(record)
    facts = facts_of(loaded)
    day = today()
    return RecordView(
        loaded, referral.family_id, referral.child_ids,
        rules.compliance(facts, day, applied=record.status == RecordStatus.APPLIED),
        rules.offer_overdue(facts, offer_due_on=record.offer_due_on, as_of=day,
                            open_=record.status == RecordStatus.OPEN),
    )


def _touch(record: PreProceedings) -> None:
    record.updated_at = utcnow()


# --------------------------------------------------------------------------------------------- the record


async def start(uow: UnitOfWork, referral_id: uuid.UUID, *, started_on: date,
                letter_before_proceedings_on: date | None, acting: Acting) -> RecordView:
    referral = await Referrals(uow.session).get(referral_id, for_update=True)
    if referral is None:
        raise NotFound(f"there is no referral {referral_id}")
    day = today()
    _refuse_out_of_order(rules.after_today(started_on, day, "started_on"))
    if letter_before_proceedings_on is not None:
        _refuse_out_of_order(rules.check_letter(letter_before_proceedings_on, started_on=started_on, today=day))
    if referral.status == ReferralStatus.WITHDRAWN:
        raise Conflict("the referral is withdrawn", current_status=referral.status)
    records = PreProceedingsRecords(uow.session)
    if (existing := await records.open_of_referral(referral_id)) is not None:
        raise Conflict(f"the referral already has an open pre-proceedings record {existing.id}",
                       pre_proceedings_id=str(existing.id))
    now = utcnow()
    record = PreProceedings(
        id=uuid.uuid4(), referral_id=referral_id, status=RecordStatus.OPEN.value, started_on=started_on,
        letter_before_proceedings_on=letter_before_proceedings_on, offer_due_on=rules.offer_due_on(started_on),
        created_at=now, created_by=acting.actor, updated_at=now,
    )
    uow.session.add(record)
    try:
        await uow.session.flush()
    except IntegrityError as exc:  # a concurrent start for the same referral
        raise Conflict("the referral already has an open pre-proceedings record") from exc
    uow.publish("pre_proceedings.started", key=referral_id, data=PreProceedingsStarted(
        pre_proceedings_id=record.id, referral_id=referral_id, family_id=referral.family_id,
        child_ids=referral.child_ids, started_on=started_on, offer_due_on=record.offer_due_on))
    _audit(uow, acting, "pre_proceedings.started", referral.child_ids)
    return await _view(uow, record, referral)


async def read(uow: UnitOfWork, record_id: uuid.UUID, acting: Acting) -> RecordView:
    record = await PreProceedingsRecords(uow.session).get(record_id)
    if record is None:
        raise NotFound(f"there is no pre-proceedings record {record_id}")
    await ensure_may_read(uow.session, acting, referral_id=record.referral_id)
    referral = await _referral(uow, record.referral_id)
    _audit(uow, acting, "pre_proceedings.read", referral.child_ids)
    return await _view(uow, record, referral)


async def set_letter(uow: UnitOfWork, record_id: uuid.UUID, letter_before_proceedings_on: date,
                     acting: Acting) -> RecordView:
    record, referral = await _open_record(uow, record_id)
    _refuse_out_of_order(rules.check_letter(letter_before_proceedings_on, started_on=record.started_on, today=today()))
    record.letter_before_proceedings_on = letter_before_proceedings_on
    _touch(record)
    _audit(uow, acting, "pre_proceedings.letter_recorded", referral.child_ids)
    return await _view(uow, record, referral)


# --------------------------------------------------------------------------------------------- parties


async def add_party(uow: UnitOfWork, record_id: uuid.UUID, *, relationship: str, child_ids: Sequence[uuid.UUID],
                    given_name: str | None, family_name: str | None, acting: Acting) -> PreProceedingsParty:
    record, referral = await _open_record(uow, record_id)
    of_referral = set(referral.child_ids)
    for i, child_id in enumerate(child_ids):
        if child_id not in of_referral:
            raise Invalid(f"child {child_id} is not a child of this referral", field=f"child_ids.{i}")
    party = PreProceedingsParty(
        id=uuid.uuid4(), pre_proceedings_id=record.id, relationship=relationship,
        child_ids=[str(c) for c in dict.fromkeys(child_ids)], given_name=given_name, family_name=family_name,
        created_at=utcnow(), created_by=acting.actor,
    )
    uow.session.add(party)
    _touch(record)
    _audit(uow, acting, "pre_proceedings.party_added", list(child_ids))
    return party


async def _party_of(uow: UnitOfWork, record: PreProceedings, party_id: uuid.UUID) -> PreProceedingsParty:
    loaded = await PreProceedingsRecords(uow.session).load(record)
    party = next((p for p in loaded.parties if p.id == party_id), None)
    if party is None:
        raise Invalid(f"party {party_id} is not a party of this pre-proceedings record", field="party_id")
    return party


def _party_children(party: PreProceedingsParty) -> list[uuid.UUID]:
    return [uuid.UUID(c) for c in party.child_ids]


# --------------------------------------------------------------------------------------------- offers


async def make_offer(uow: UnitOfWork, record_id: uuid.UUID, *, party_id: uuid.UUID, offered_on: date,
                     in_letter_before_proceedings: bool, acting: Acting) -> FgdmOffer:
    """A later offer to the same party (after a decline or no response) is kept as another offer."""
    record, referral = await _open_record(uow, record_id)
    party = await _party_of(uow, record, party_id)
    _refuse_out_of_order(rules.check_offer(offered_on, started_on=record.started_on, today=today()))
    loaded = await PreProceedingsRecords(uow.session).load(record)
    mine = [o for o in loaded.offers if o.party_id == party_id]
    if any(o.response == rules.Response.ACCEPTED for o in mine):
        raise Conflict(f"party {party_id} has already accepted an FGDM offer; no further offer is needed",
                       field="party_id")
    offer = FgdmOffer(
        id=uuid.uuid4(), pre_proceedings_id=record.id, party_id=party_id, offered_on=offered_on,
        in_letter_before_proceedings=in_letter_before_proceedings, created_at=utcnow(), created_by=acting.actor,
    )
    uow.session.add(offer)
    _touch(record)
    uow.publish("fgdm.offered", key=referral.id, data=FgdmOffered(
        pre_proceedings_id=record.id, referral_id=referral.id, offer_id=offer.id, party_id=party_id,
        relationship=party.relationship, child_ids=_party_children(party), offered_on=offered_on,
        in_letter_before_proceedings=in_letter_before_proceedings))
    _audit(uow, acting, "fgdm.offered", _party_children(party))
    return offer


async def respond(uow: UnitOfWork, offer_id: uuid.UUID, *, responded_on: date, response: str,
                  acting: Acting) -> FgdmOffer:
    records = PreProceedingsRecords(uow.session)
    offer = await records.offer(offer_id)
    if offer is None:
        raise NotFound(f"there is no FGDM offer {offer_id}")
    record, referral = await _open_record(uow, offer.pre_proceedings_id)
    if offer.response is not None:
        raise Conflict(f"the response to this offer is already recorded ({offer.response})",
                       current_response=offer.response)
    _refuse_out_of_order(rules.check_response(responded_on, offered_on=offer.offered_on, today=today()))
    party = await _party_of(uow, record, offer.party_id)
    offer.response, offer.responded_on = response, responded_on
    offer.responded_at, offer.responded_by = utcnow(), acting.actor
    _touch(record)
    uow.publish("fgdm.responded", key=referral.id, data=FgdmResponded(
        pre_proceedings_id=record.id, referral_id=referral.id, offer_id=offer.id, party_id=offer.party_id,
        response=response, responded_on=responded_on))
    _audit(uow, acting, f"fgdm.{response}", _party_children(party))
    return offer


# --------------------------------------------------------------------------------------------- meetings


async def hold_meeting(uow: UnitOfWork, record_id: uuid.UUID, *, held_on: date, outcome: str,
                       child_participation: str, network_attendees: Mapping[str, int],
                       intervention_id: uuid.UUID | None, acting: Acting) -> FgdmMeeting:
    record, referral = await _open_record(uow, record_id)
    loaded = await PreProceedingsRecords(uow.session).load(record)
    facts = facts_of(loaded)
    if intervention_id is not None:
        iv = await Interventions(uow.session).get(intervention_id)
        if iv is None or iv.referral_id != referral.id or iv.programme != Programme.FGC:
            raise Invalid(f"intervention {intervention_id} is not an FGC intervention of this referral",
                          field="intervention_id")
    if not any(o.accepted for o in facts.offers):
        raise Conflict("meeting duty: no party has accepted an FGDM offer; record the acceptance first")
    _refuse_out_of_order(rules.check_meeting(held_on, offers=facts.offers, today=today()))
    meeting = FgdmMeeting(
        id=uuid.uuid4(), pre_proceedings_id=record.id, held_on=held_on, outcome=outcome,
        child_participation=child_participation, network_attendees=dict(network_attendees),
        intervention_id=intervention_id, created_at=utcnow(), created_by=acting.actor,
    )
    uow.session.add(meeting)
    _touch(record)
    uow.publish("fgdm.meeting_held", key=referral.id, data=FgdmMeetingHeld(
        pre_proceedings_id=record.id, referral_id=referral.id, meeting_id=meeting.id, held_on=held_on,
        outcome=outcome, child_participation=child_participation, network_attendees=dict(network_attendees),
        intervention_id=intervention_id))
    _audit(uow, acting, "fgdm.meeting_held", referral.child_ids)
    return meeting


# --------------------------------------------------------------------------------------------- exceptions


async def record_exception(uow: UnitOfWork, record_id: uuid.UUID, *, kind: str, party_id: uuid.UUID | None,
                           decided_on: date, reason: str, explanation: str, acting: Acting) -> FgdmException:
    """Only a team manager decides that offering or holding the meeting is not in the child's best interests."""
    if acting.role != Role.TEAM_MANAGER:
        raise Forbidden(f"only a team_manager may record an FGDM exception (this token's role is {acting.role})")
    record, referral = await _open_record(uow, record_id)
    _refuse_out_of_order(rules.check_exception(decided_on, started_on=record.started_on, today=today()))
    loaded = await PreProceedingsRecords(uow.session).load(record)
    children = referral.child_ids
    if kind == ExceptionKind.NOT_OFFERED:
        if party_id is None:
            raise Invalid("is required for a not_offered exception", field="party_id")
        party = await _party_of(uow, record, party_id)
        children = _party_children(party)
        if any(o.party_id == party_id for o in loaded.offers):
            raise Conflict(f"party {party_id} has already been offered an FGDM meeting", field="party_id")
        if any(e.kind == kind and e.party_id == party_id for e in loaded.exceptions):
            raise Conflict(f"a not_offered exception is already recorded for party {party_id}", field="party_id")
    else:
        if party_id is not None:
            raise Invalid("is not part of a not_held exception (it concerns the meeting, not one party)",
                          field="party_id")
        if any(e.kind == kind for e in loaded.exceptions):
            raise Conflict("a not_held exception is already recorded")
        if loaded.meetings:
            raise Conflict("an FGDM meeting has already been held")
    exception = FgdmException(
        id=uuid.uuid4(), pre_proceedings_id=record.id, kind=kind, party_id=party_id, decided_on=decided_on,
        reason=reason, explanation=explanation, decided_by=acting.actor, created_at=utcnow(),
    )
    uow.session.add(exception)
    _touch(record)
    _audit(uow, acting, f"fgdm.exception_{kind}", children)
    return exception


# --------------------------------------------------------------------------------------------- application


async def apply(uow: UnitOfWork, record_id: uuid.UUID, *, applied_on: date, order: str, urgent: bool,
                urgent_reason: str | None, acting: Acting) -> CareApplication:
    """Refused with 409 naming every unmet duty; an urgent application is recorded on its own path."""
    record, referral = await _open_record(uow, record_id)
    loaded = await PreProceedingsRecords(uow.session).load(record)
    facts = facts_of(loaded)
    _refuse_out_of_order(rules.check_application(applied_on, record=facts, urgent=urgent, today=today()))
    unmet = rules.application_unmet(facts, applied_on, urgent=urgent)
    if unmet:
        raise Conflict("the application cannot be recorded: " + "; ".join(unmet), unmet=unmet)
    application = CareApplication(
        id=uuid.uuid4(), pre_proceedings_id=record.id, applied_on=applied_on, order=order, urgent=urgent,
        urgent_reason=urgent_reason, created_at=utcnow(), created_by=acting.actor,
    )
    uow.session.add(application)
    record.status = RecordStatus.APPLIED.value
    _touch(record)
    uow.publish("care_application.made", key=referral.id, data=CareApplicationMade(
        pre_proceedings_id=record.id, referral_id=referral.id, family_id=referral.family_id,
        application_id=application.id, child_ids=referral.child_ids, applied_on=applied_on, order=order,
        urgent=urgent, fgdm_compliant=not rules.fgdm_unmet(facts, applied_on)))
    _audit(uow, acting, "care_application.made", referral.child_ids)
    return application


# --------------------------------------------------------------------------------------------- timers


async def run_offer_timers(uow: UnitOfWork, as_of: date, acting: Acting) -> list[uuid.UUID]:
    """Escalate each open record whose offers are overdue on `as_of`, once (`fgdm.offer_overdue`)."""
    records = PreProceedingsRecords(uow.session)
    candidates = [r for r in await records.open_offer_due_before(as_of) if r.offer_overdue_sent_at is None]
    escalated = []
    now = utcnow()
    for record, loaded in (await records.load_many(candidates)).items():
        facts = facts_of(loaded)
        r = loaded.record
        if not rules.offer_overdue(facts, offer_due_on=r.offer_due_on, as_of=as_of, open_=True):
            continue
        if not await records.claim_offer_escalation(r.id, as_of, now):
            continue
        referral = await _referral(uow, r.referral_id)
        uow.publish("fgdm.offer_overdue", key=referral.id, data=FgdmOfferOverdue(
            pre_proceedings_id=r.id, referral_id=referral.id, offer_due_on=r.offer_due_on, as_of=as_of,
            parties_not_offered=len(rules.parties_without_offer(facts))))
        _audit(uow, acting, "fgdm.offer_overdue_escalated", referral.child_ids)
        escalated.append(record)
    return sorted(escalated, key=str)


@dataclass(frozen=True)
class OverdueOffers:
    pre_proceedings_id: uuid.UUID
    referral_id: uuid.UUID
    family_id: uuid.UUID
    referral_status: str
    referred_on: date
    team: str | None
    child_ids: list[uuid.UUID]
    started_on: date
    offer_due_on: date
    days_overdue: int
    parties_not_offered: int
    escalated_on: date | None


async def find_overdue_offers(uow: UnitOfWork, *, as_of: date, team: str | None) -> list[OverdueOffers]:
    """Open records whose FGDM offers are overdue on `as_of`, longest overdue first; unaudited: callers audit
    what they show (this work list, and the referrals' overdue work list as the timer `fgdm_offer`)."""
    records = PreProceedingsRecords(uow.session)
    found = await records.open_offer_due_before(as_of)
    loaded = await records.load_many(found)
    referrals = await records.referrals([r.referral_id for r in found])
    rows = []
    for r in found:
        facts = facts_of(loaded[r.id])
        referral = referrals[r.referral_id]
        if team is not None and referral.team != team:
            continue
        if not rules.offer_overdue(facts, offer_due_on=r.offer_due_on, as_of=as_of, open_=True):
            continue
        rows.append(OverdueOffers(
            r.id, referral.id, referral.family_id, referral.status, referral.referred_on, referral.team,
            referral.child_ids, r.started_on, r.offer_due_on, (as_of - r.offer_due_on).days,
            len(rules.parties_without_offer(facts)), r.offer_overdue_as_of))
    rows.sort(key=lambda row: (-row.days_overdue, row.started_on))
    return rows


async def overdue_offers(uow: UnitOfWork, acting: Acting, *, as_of: date, team: str | None) -> list[OverdueOffers]:
    """The work list: open records whose FGDM offers are overdue on `as_of`, longest overdue first."""
    rows = await find_overdue_offers(uow, as_of=as_of, team=team)
    _audit(uow, acting, "worklist.read", [c for row in rows for c in row.child_ids])
    return rows


# --------------------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class FgdmReport:
    financial_year: int
    quarter: int | None
    total: fgdm_report.Figures
    by: str | None = None
    groups: dict[str, fgdm_report.Figures] | None = None


async def report(uow: UnitOfWork, financial_year: int, *, quarter: int | None, by: str | None) -> FgdmReport:
    """Over records started in the year (or quarter); aggregate only, so nothing is audited per child."""
    start, end = fgdm_report.period(financial_year, quarter)
    repo = PreProceedingsRecords(uow.session)
    found = await repo.started_between(start, end)
    loaded = await repo.load_many(found)
    referral_ids = list({r.referral_id for r in found})
    children = await repo.referral_children(referral_ids) if by else {}
    referrals = await repo.referrals(referral_ids) if by else {}
    facts: list[fgdm_report.RecordFacts] = []
    for r in found:
        base = facts_of(loaded[r.id])
        app = loaded[r.id].application
        kids: list[fgdm_report.ChildFacts] = []
        if by:
            referred_on = referrals[r.referral_id].referred_on
            kids = [fgdm_report.ChildFacts(c.id, c.ethnicity, c.sex, c.date_of_birth, referred_on,
                                           f.primary_language, f.interpreter_needed)
                    for c, f in children[r.referral_id]]
        facts.append(fgdm_report.RecordFacts(
            base.started_on, base.letter_before_proceedings_on, base.parties, base.offers, base.meetings,
            base.exceptions, fgdm_report.Application(app.applied_on, app.urgent) if app else None, kids))
    return FgdmReport(financial_year, quarter, fgdm_report.total(facts), by,
                      fgdm_report.by_group(facts, by) if by else None)


def financial_year_label(fy: int) -> str:
    return finyear.label(fy)


def timeline_items(loaded: Loaded, child_id: uuid.UUID) -> list[tuple[date, str, str, str | None]]:
    """Each step of one record that concerns the child, as (day, kind, ref, summary) — codes and dates only."""
    items: list[tuple[date, str, str, str | None]] = []
    r = loaded.record
    items.append((r.started_on, "pre_proceedings.started", str(r.id),
                  f"pre-proceedings started; FGDM offers due {r.offer_due_on.isoformat()}"))
    if r.letter_before_proceedings_on is not None:
        items.append((r.letter_before_proceedings_on, "pre_proceedings.letter_sent", str(r.id),
                      "letter before proceedings"))
    if r.offer_overdue_as_of is not None:
        items.append((r.offer_overdue_as_of, "fgdm.offer_overdue", str(r.id),
                      f"FGDM offers due {r.offer_due_on.isoformat()} not all made: escalated"))
    mine = {p.id: p for p in loaded.parties if str(child_id) in p.child_ids}
    for o in loaded.offers:
        if o.party_id not in mine:
            continue
        relationship = mine[o.party_id].relationship.replace("_", " ")
        where = " in the letter before proceedings" if o.in_letter_before_proceedings else ""
        items.append((o.offered_on, "fgdm.offered", str(o.id), f"FGDM meeting offered to {relationship}{where}"))
        if o.response is not None and o.responded_on is not None:
            items.append((o.responded_on, "fgdm.responded", str(o.id),
                          f"{relationship}: {o.response.replace('_', ' ')}"))
    for m in loaded.meetings:
        items.append((m.held_on, "fgdm.meeting_held", str(m.id),
                      f"FGDM meeting held: {m.outcome.replace('_', ' ')}; child participation: "
                      f"{m.child_participation.replace('_', ' ')}"))
    for e in loaded.exceptions:
        if e.party_id is not None and e.party_id not in mine:
            continue
        items.append((e.decided_on, f"fgdm.exception_{e.kind}", str(e.id),
                      f"team manager decided {e.kind.replace('_', ' ')}: {e.reason.replace('_', ' ')}"))
    if loaded.application is not None:
        a = loaded.application
        items.append((a.applied_on, "care_application.made", str(a.id),
                      f"application for a {a.order} order{' (urgent)' if a.urgent else ''}"))
    return items


async def timeline_of(uow: UnitOfWork, referral_ids: Sequence[uuid.UUID],
                      child_id: uuid.UUID) -> list[tuple[date, str, str, str | None]]:
    repo = PreProceedingsRecords(uow.session)
    loaded = await repo.load_many(await repo.of_referrals(referral_ids))
    return [item for one in loaded.values() for item in timeline_items(one, child_id)]
