"""HTTP endpoints for pre-proceedings and the FGDM duty (contract v1.1), with their own bodies.

Registered before the main router: `/referrals/pre-proceedings/…`, `/referrals/reports/fgdm` and
`/referrals/worklists/fgdm-offers-overdue` must never be read as `/referrals/{referral_id}`.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import AfterValidator, BaseModel, Field, StrictBool, StrictInt, StrictStr

from eoc_shared.api import IsoDate, StrictModel
from eoc_shared.auth import Principal, Scope, requires
from eoc_shared.clock import today
from eoc_shared.errors import Invalid
from eoc_shared.finyear import MAX_YEAR, MIN_YEAR
from eoc_shared.service import UoW
from eoc_shared.text import Prose, Text, not_blank
from referral_svc import pre_proceedings as ops
from referral_svc.acting import Acting
from referral_svc.domain import groupings
from referral_svc.domain.fgdm_report import Figures
from referral_svc.domain.pre_proceedings import (
    ChildParticipation,
    ExceptionKind,
    ExceptionReason,
    MeetingOutcome,
    Order,
    Relationship,
    Response,
)

router = APIRouter(prefix="/referrals", tags=["pre-proceedings"])

Writer = Annotated[Principal, Depends(requires(Scope.CASES_WRITE))]
Reader = Annotated[Principal, Depends(requires(Scope.CASES_READ))]
ReportReader = Annotated[Principal, Depends(requires(Scope.REPORTS_READ, Scope.CASES_WRITE))]
Ops = Annotated[Principal, Depends(requires(Scope.OPS))]


def _acting(principal: Principal, request: Request) -> Acting:
    return Acting(principal, getattr(request.state, "request_id", None))


# --------------------------------------------------------------------------------------------- text fields
# The text-field policy of contract v1.1, written once in eoc_shared.text (control characters refused, NFC).

PartyName = Text
Explanation = Annotated[Prose, Field(min_length=1), AfterValidator(not_blank)]
UrgentReason = Annotated[Prose, Field(min_length=1, max_length=2000), AfterValidator(not_blank)]
AttendeeKind = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z_]{0,31}$")]


# --------------------------------------------------------------------------------------------- bodies


class StartIn(StrictModel):
    started_on: IsoDate
    letter_before_proceedings_on: IsoDate | None = None


class LetterIn(StrictModel):
    letter_before_proceedings_on: IsoDate


class PartyIn(StrictModel):
    relationship: Relationship
    child_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=50)]
    given_name: PartyName | None = None
    family_name: PartyName | None = None


class OfferIn(StrictModel):
    party_id: uuid.UUID
    offered_on: IsoDate
    in_letter_before_proceedings: StrictBool


class ResponseIn(StrictModel):
    responded_on: IsoDate
    response: Response


class MeetingIn(StrictModel):
    held_on: IsoDate
    outcome: MeetingOutcome
    child_participation: ChildParticipation
    network_attendees: Annotated[
        dict[AttendeeKind, Annotated[StrictInt, Field(ge=0, le=500)]], Field(max_length=30),
    ] = Field(description="relationship → count, e.g. {\"grandparent\": 2, \"friend\": 1}")
    intervention_id: uuid.UUID | None = None


class ExceptionIn(StrictModel):
    kind: ExceptionKind
    party_id: uuid.UUID | None = None
    decided_on: IsoDate
    reason: ExceptionReason
    explanation: Explanation


class ApplicationIn(StrictModel):
    applied_on: IsoDate
    order: Order
    urgent: StrictBool
    urgent_reason: UrgentReason | None = None


class PartyOut(BaseModel):
    id: uuid.UUID
    pre_proceedings_id: uuid.UUID
    relationship: str
    child_ids: list[uuid.UUID]
    given_name: str | None
    family_name: str | None


class OfferOut(BaseModel):
    id: uuid.UUID
    pre_proceedings_id: uuid.UUID
    party_id: uuid.UUID
    offered_on: date
    in_letter_before_proceedings: bool
    response: str | None
    responded_on: date | None


class MeetingOut(BaseModel):
    id: uuid.UUID
    pre_proceedings_id: uuid.UUID
    held_on: date
    outcome: str
    child_participation: str
    network_attendees: dict[str, int]
    intervention_id: uuid.UUID | None


class ExceptionOut(BaseModel):
    id: uuid.UUID
    pre_proceedings_id: uuid.UUID
    kind: str
    party_id: uuid.UUID | None
    decided_on: date
    reason: str
    explanation: str
    decided_by: str


class ApplicationOut(BaseModel):
    id: uuid.UUID
    pre_proceedings_id: uuid.UUID
    applied_on: date
    order: str
    urgent: bool
    urgent_reason: str | None


class ComplianceOut(BaseModel):
    all_parties_offered: bool
    any_accepted: bool
    meeting_held: bool
    ready_to_apply: bool
    unmet: list[str]


class RecordOut(BaseModel):
    id: uuid.UUID
    referral_id: uuid.UUID
    family_id: uuid.UUID
    child_ids: list[uuid.UUID]
    status: str
    started_on: date
    letter_before_proceedings_on: date | None
    offer_due_on: date
    offer_overdue: bool
    offer_overdue_escalated_on: date | None
    parties: list[PartyOut]
    offers: list[OfferOut]
    meetings: list[MeetingOut]
    exceptions: list[ExceptionOut]
    application: ApplicationOut | None
    compliance: ComplianceOut


class OverdueOffersOut(BaseModel):
    pre_proceedings_id: uuid.UUID
    referral_id: uuid.UUID
    family_id: uuid.UUID
    team: str | None
    child_ids: list[uuid.UUID]
    started_on: date
    offer_due_on: date
    days_overdue: int
    parties_not_offered: int
    escalated_on: date | None


class OfferTimersIn(StrictModel):
    as_of: IsoDate | None = None


class OfferTimersOut(BaseModel):
    as_of: date
    offer_overdue: list[uuid.UUID]


Count = int | str


class FiguresOut(BaseModel):
    started: Count
    parties: Count
    parties_offered: Count
    offers_accepted: Count
    meetings_held: Count
    applications: Count
    applications_urgent: Count
    applications_with_meeting_before: Count
    applications_without_compliant_fgdm: Count
    exceptions: dict[str, dict[str, Count]]


class GroupOut(FiguresOut):
    group: str


class ReportHead(BaseModel):
    financial_year: str
    quarter: int | None = None
    by: str | None = None


class ReportOut(FiguresOut, ReportHead):
    """`financial_year` (and `quarter`, `by`) first, then the figures, then the groups."""

    groups: list[GroupOut] | None = None


# --------------------------------------------------------------------------------------------- views


def _record_out(view: ops.RecordView) -> RecordOut:
    loaded, r = view.loaded, view.loaded.record
    return RecordOut(
        id=r.id, referral_id=r.referral_id, family_id=view.family_id, child_ids=view.child_ids, status=r.status,
        started_on=r.started_on, letter_before_proceedings_on=r.letter_before_proceedings_on,
        offer_due_on=r.offer_due_on, offer_overdue=view.offer_overdue, offer_overdue_escalated_on=r.offer_overdue_as_of,
        parties=[PartyOut.model_validate(p, from_attributes=True) for p in loaded.parties],
        offers=[OfferOut.model_validate(o, from_attributes=True) for o in loaded.offers],
        meetings=[MeetingOut.model_validate(m, from_attributes=True) for m in loaded.meetings],
        exceptions=[ExceptionOut.model_validate(e, from_attributes=True) for e in loaded.exceptions],
        application=ApplicationOut.model_validate(loaded.application, from_attributes=True)
        if loaded.application else None,
        compliance=ComplianceOut.model_validate(view.compliance, from_attributes=True),
    )


def _figures(f: Figures, suppress: bool) -> dict[str, object]:
    show = groupings.shown_count if suppress else (lambda n: n)
    return {
        "started": show(f.started), "parties": show(f.parties), "parties_offered": show(f.parties_offered),
        "offers_accepted": show(f.offers_accepted), "meetings_held": show(f.meetings_held),
        "applications": show(f.applications), "applications_urgent": show(f.applications_urgent),
        "applications_with_meeting_before": show(f.applications_with_meeting_before),
        "applications_without_compliant_fgdm": show(f.applications_without_compliant_fgdm),
        "exceptions": {k: {reason: show(n) for reason, n in v.items()} for k, v in f.exceptions.items()},
    }


# --------------------------------------------------------------------------------------------- endpoints


@router.post("/{referral_id}/pre-proceedings", status_code=status.HTTP_201_CREATED, response_model=RecordOut)
async def start(referral_id: uuid.UUID, body: StartIn, uow: UoW, principal: Writer, request: Request) -> RecordOut:
    """Pre-proceedings start (usually at the legal planning meeting); FGDM offers are due 5 working days later."""
    view = await ops.start(uow, referral_id, started_on=body.started_on,
                           letter_before_proceedings_on=body.letter_before_proceedings_on,
                           acting=_acting(principal, request))
    await uow.commit()
    return _record_out(view)


@router.get("/pre-proceedings/{record_id}", response_model=RecordOut)
async def read(record_id: uuid.UUID, uow: UoW, principal: Reader, request: Request) -> RecordOut:
    """The record; `compliance` is computed when read, as of today."""
    view = await ops.read(uow, record_id, _acting(principal, request))
    await uow.commit()
    return _record_out(view)


@router.patch("/pre-proceedings/{record_id}", response_model=RecordOut)
async def set_letter(record_id: uuid.UUID, body: LetterIn, uow: UoW, principal: Writer, request: Request) -> RecordOut:
    view = await ops.set_letter(uow, record_id, body.letter_before_proceedings_on, _acting(principal, request))
    await uow.commit()
    return _record_out(view)


@router.post("/pre-proceedings/{record_id}/parties", status_code=status.HTTP_201_CREATED, response_model=PartyOut)
async def add_party(record_id: uuid.UUID, body: PartyIn, uow: UoW, principal: Writer, request: Request) -> PartyOut:
    party = await ops.add_party(uow, record_id, relationship=body.relationship.value, child_ids=body.child_ids,
                                given_name=body.given_name, family_name=body.family_name,
                                acting=_acting(principal, request))
    await uow.commit()
    return PartyOut.model_validate(party, from_attributes=True)


@router.post("/pre-proceedings/{record_id}/offers", status_code=status.HTTP_201_CREATED, response_model=OfferOut)
async def make_offer(record_id: uuid.UUID, body: OfferIn, uow: UoW, principal: Writer, request: Request) -> OfferOut:
    offer = await ops.make_offer(uow, record_id, party_id=body.party_id, offered_on=body.offered_on,
                                 in_letter_before_proceedings=body.in_letter_before_proceedings,
                                 acting=_acting(principal, request))
    await uow.commit()
    return OfferOut.model_validate(offer, from_attributes=True)


@router.post("/pre-proceedings/offers/{offer_id}/response", response_model=OfferOut)
async def respond(offer_id: uuid.UUID, body: ResponseIn, uow: UoW, principal: Writer, request: Request) -> OfferOut:
    offer = await ops.respond(uow, offer_id, responded_on=body.responded_on, response=body.response.value,
                              acting=_acting(principal, request))
    await uow.commit()
    return OfferOut.model_validate(offer, from_attributes=True)


@router.post("/pre-proceedings/{record_id}/meetings", status_code=status.HTTP_201_CREATED, response_model=MeetingOut)
async def hold_meeting(record_id: uuid.UUID, body: MeetingIn, uow: UoW, principal: Writer,
                       request: Request) -> MeetingOut:
    meeting = await ops.hold_meeting(
        uow, record_id, held_on=body.held_on, outcome=body.outcome.value,
        child_participation=body.child_participation.value, network_attendees=body.network_attendees,
        intervention_id=body.intervention_id, acting=_acting(principal, request),
    )
    await uow.commit()
    return MeetingOut.model_validate(meeting, from_attributes=True)


@router.post("/pre-proceedings/{record_id}/exceptions", status_code=status.HTTP_201_CREATED,
             response_model=ExceptionOut)
async def record_exception(record_id: uuid.UUID, body: ExceptionIn, uow: UoW, principal: Writer,
                           request: Request) -> ExceptionOut:
    """Only a team manager may decide that offering or holding the meeting is not in the child's best interests."""
    exception = await ops.record_exception(
        uow, record_id, kind=body.kind.value, party_id=body.party_id, decided_on=body.decided_on,
        reason=body.reason.value, explanation=body.explanation, acting=_acting(principal, request),
    )
    await uow.commit()
    return ExceptionOut.model_validate(exception, from_attributes=True)


@router.post("/pre-proceedings/{record_id}/application", status_code=status.HTTP_201_CREATED,
             response_model=ApplicationOut)
async def apply(record_id: uuid.UUID, body: ApplicationIn, uow: UoW, principal: Writer,
                request: Request) -> ApplicationOut:
    """409 names every unmet duty; an urgent application needs `urgent_reason` and is counted apart."""
    if body.urgent and body.urgent_reason is None:
        raise Invalid("is required when the application is urgent", field="urgent_reason")
    if not body.urgent and body.urgent_reason is not None:
        raise Invalid("is only for an urgent application (urgent is false)", field="urgent_reason")
    application = await ops.apply(uow, record_id, applied_on=body.applied_on, order=body.order.value,
                                  urgent=body.urgent, urgent_reason=body.urgent_reason,
                                  acting=_acting(principal, request))
    await uow.commit()
    return ApplicationOut.model_validate(application, from_attributes=True)


@router.get("/reports/fgdm", response_model=ReportOut, response_model_exclude_none=True)
async def fgdm_report(
    uow: UoW, _principal: ReportReader,
    financial_year: Annotated[int, Query(ge=MIN_YEAR, le=MAX_YEAR)],
    quarter: Annotated[int | None, Query(ge=1, le=4)] = None,
    by: Annotated[Literal[groupings.GROUPINGS] | None, Query()] = None,  # type: ignore[valid-type]
) -> ReportOut:
    """Over records started in the financial year (or its quarter, Q1 April–June); `by` adds the equity
    groupings, with counts from 1 to 4 shown as "<5"."""
    result = await ops.report(uow, financial_year, quarter=quarter, by=by)
    groups = None
    if result.groups is not None:
        groups = [GroupOut.model_validate({"group": g, **_figures(f, True)}) for g, f in result.groups.items()]
    return ReportOut.model_validate({
        "financial_year": ops.financial_year_label(financial_year), "quarter": quarter, "by": by,
        **_figures(result.total, False), "groups": groups,
    })


@router.get("/worklists/fgdm-offers-overdue", response_model=list[OverdueOffersOut])
async def overdue_offers(
    uow: UoW, principal: Writer, request: Request,
    as_of: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
    team: Annotated[Text | None, Query()] = None,
) -> list[OverdueOffersOut]:
    """Open pre-proceedings whose FGDM offers are overdue (as of today unless `as_of`), longest overdue first."""
    try:
        day = date.fromisoformat(as_of) if as_of else today()
    except ValueError as exc:
        raise Invalid("is not a real date", field="as_of") from exc
    rows = await ops.overdue_offers(uow, _acting(principal, request), as_of=day, team=team)
    await uow.commit()
    return [OverdueOffersOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/pre-proceedings/timers/run", response_model=OfferTimersOut)
async def run_offer_timers(body: OfferTimersIn, uow: UoW, principal: Ops, request: Request) -> OfferTimersOut:
    """Escalate every open record whose FGDM offers are overdue as of `as_of` (default today), once."""
    as_of = body.as_of or today()
    if as_of > today():
        raise Invalid("is after today; timers run only for days that have come", field="as_of")
    escalated = await ops.run_offer_timers(uow, as_of, _acting(principal, request))
    await uow.commit()
    return OfferTimersOut(as_of=as_of, offer_overdue=escalated)
