"""HTTP endpoints of referral-svc: thin; validation in schemas, rules in the operations and the domain.

Fixed paths (/families, /children, /programmes, /interventions, /feeds, /timers, /audit, /worklists)
are declared before `/{referral_id}` so that they are never read as a referral id.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from eoc_shared.acting import Acting
from eoc_shared.acting import acting_of as _acting
from eoc_shared.auth import Principal, Scope, requires
from eoc_shared.clock import today
from eoc_shared.errors import Forbidden, Invalid, field_errors
from eoc_shared.routing import DirectRoute
from eoc_shared.service import UoW, unit_of_work_of
from eoc_shared.text import Text
from eoc_shared.vocab import FeedSource, Programme
from referral_svc import (
    assessment,
    case_history,
    escalations,
    families,
    feed_intake,
    partner_feeds,
    programme_work,
    referrals,
    worklists,
)
from referral_svc.api.schemas import (
    ByStatusOut,
    CapacityIn,
    ChildIn,
    ChildOut,
    ChildPatch,
    CloseIn,
    ConsentIn,
    DismissIn,
    DurationIn,
    FamilyIn,
    FamilyOut,
    FamilyPatch,
    FeedAccepted,
    FeedBatchIn,
    FeedBatchOut,
    FeedEventFields,
    FeedEventIn,
    InterventionIn,
    InterventionOut,
    OverdueOut,
    ProgrammeOut,
    ReferralIn,
    ReferralOut,
    ReferralSummary,
    ResolveIn,
    ReviewItem,
    StartedOut,
    TimelineEntry,
    TimersRunIn,
    TimersRunOut,
    WaitingOut,
    Waitlisted,
    WithdrawIn,
    check_events,
)
from referral_svc.db.models import Child, Family
from referral_svc.domain.interventions import ChildOutcome
from referral_svc.domain.vocab import ReferralStatus
from referral_svc.feed_intake import IncomingEvent
from referral_svc.programme_work import Started
from referral_svc.referrals import ReferralView
from referral_svc.waiting import WaitingPlace

#: DirectRoute (see `intake`) serves the endpoints that take no `UoW` dependency: making and reading a referral.
router = APIRouter(prefix="/referrals", tags=["referrals"], route_class=DirectRoute)
#: the hot write paths (a partner event, a family, a child): included before every other router, since routes are
#: tried in order and each one tried costs a few microseconds (the feed route was the 38th of 52, matched twice).
#: Only paths no other route could match belong here. Their requests are handled by `DirectRoute`: parameters
#: planned once, checked by the same fields, FastAPI's own handler for anything that is not a plain success.
intake = APIRouter(prefix="/referrals", tags=["referrals"], route_class=DirectRoute)

CaseWriter = Annotated[Principal, Depends(requires(Scope.CASES_WRITE))]
CaseReader = Annotated[Principal, Depends(requires(Scope.CASES_READ))]
Ops = Annotated[Principal, Depends(requires(Scope.OPS))]
CaseWriterOrOps = Annotated[Principal, Depends(requires(Scope.CASES_WRITE, Scope.OPS))]
AuditReader = Annotated[Principal, Depends(requires(Scope.AUDIT_READ))]
FeedReviewer = Annotated[Principal, Depends(requires(Scope.FEEDS_REVIEW))]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
#: a text query parameter follows the same policy as a text field (contract v1.1)
TextQuery = Annotated[Text | None, Query()]


# --------------------------------------------------------------------------------------------- families


def _family_out(family: Family | families.RegisteredFamily, child_ids: list[uuid.UUID]) -> FamilyOut:
    out = FamilyOut.model_validate(family)
    out.child_ids = child_ids
    return out


@intake.post("/families", status_code=status.HTTP_201_CREATED, response_model=FamilyOut)
async def register_family(body: FamilyIn, principal: CaseWriter, request: Request) -> FamilyOut:
    """Answered after the statement holding the family (shared with concurrent registrations: group commit)."""
    registration = (families.NewFamily(**body.model_dump()), _acting(principal, request))
    return _family_out(families.settled(await request.app.state.family_group.submit(registration)), [])


@router.get("/families/{family_id}", response_model=FamilyOut)
async def read_family(family_id: uuid.UUID, uow: UoW, principal: CaseReader, request: Request) -> FamilyOut:
    family, child_ids = await families.read_family(uow, family_id, _acting(principal, request))
    await uow.commit()
    return _family_out(family, child_ids)


@router.patch("/families/{family_id}", response_model=FamilyOut)
async def update_family(
    family_id: uuid.UUID, body: FamilyPatch, uow: UoW, principal: CaseWriter, request: Request
) -> FamilyOut:
    changes = families.FamilyChanges(**body.model_dump(exclude_unset=True))
    family, child_ids = await families.update_family(uow, family_id, changes, _acting(principal, request))
    await uow.commit()
    return _family_out(family, child_ids)


@intake.post("/families/{family_id}/children", status_code=status.HTTP_201_CREATED, response_model=ChildOut)
async def add_child(family_id: uuid.UUID, body: ChildIn, principal: CaseWriter, request: Request) -> ChildOut:
    """Answered after the transaction holding the child (shared with concurrent registrations: group commit)."""
    registration = (family_id, families.NewChild(**body.model_dump()), _acting(principal, request))
    return ChildOut.model_validate(families.settled(await request.app.state.child_group.submit(registration)))


# --------------------------------------------------------------------------------------------- children


def _child_out(child: Child, referral_ids: list[uuid.UUID]) -> ChildOut:
    out = ChildOut.model_validate(child)
    out.referral_ids = referral_ids
    return out


@router.get("/children/{child_id}", response_model=ChildOut)
async def read_child(child_id: uuid.UUID, uow: UoW, principal: CaseReader, request: Request) -> ChildOut:
    child, referral_ids = await families.read_child(uow, child_id, _acting(principal, request))
    await uow.commit()
    return _child_out(child, referral_ids)


@router.patch("/children/{child_id}", response_model=ChildOut)
async def update_child(
    child_id: uuid.UUID, body: ChildPatch, uow: UoW, principal: CaseWriter, request: Request
) -> ChildOut:
    """A change of `legal_status` or `placement_type` publishes `child.updated`, effective on `effective_on`."""
    changes = families.ChildChanges(**body.model_dump(exclude_unset=True))
    child, referral_ids = await families.update_child(uow, child_id, changes, _acting(principal, request))
    await uow.commit()
    return _child_out(child, referral_ids)


@router.get("/children/{child_id}/timeline", response_model=list[TimelineEntry], response_model_exclude_none=True)
async def child_timeline(child_id: uuid.UUID, uow: UoW, principal: CaseReader, request: Request) -> list[TimelineEntry]:
    items = await case_history.timeline(uow, child_id, _acting(principal, request))
    await uow.commit()
    return [TimelineEntry.model_validate(i) for i in items]


# --------------------------------------------------------------------------------------------- programmes (ops)


@router.get("/programmes", response_model=list[ProgrammeOut])
async def programmes(uow: UoW, _principal: CaseWriterOrOps) -> list[ProgrammeOut]:
    return [ProgrammeOut.model_validate(p) for p in await programme_work.programmes_view(uow)]


@router.put("/programmes/{programme}/capacity", response_model=ProgrammeOut)
async def set_capacity(programme: Programme, body: CapacityIn, uow: UoW, principal: Ops, request: Request) -> ProgrammeOut:
    """Active families the programme serves at once (`null`: no limit). Raising it starts waiting families."""
    state = await programme_work.set_capacity(uow, programme, body.capacity, _acting(principal, request))
    await uow.commit()
    return ProgrammeOut.model_validate(state)


@router.put("/programmes/{programme}/duration", response_model=ProgrammeOut)
async def set_duration(programme: Programme, body: DurationIn, uow: UoW, principal: Ops, request: Request) -> ProgrammeOut:
    """Planned length in months of interventions started from now on."""
    state = await programme_work.set_duration(uow, programme, body.months, _acting(principal, request))
    await uow.commit()
    return ProgrammeOut.model_validate(state)


@router.get("/programmes/{programme}/waiting-list", response_model=list[WaitingOut])
async def waiting_list(programme: Programme, uow: UoW, _principal: CaseWriterOrOps) -> list[WaitingOut]:
    """Families waiting for a place, in the order places are given (referral date), with days waiting."""
    return [WaitingOut.model_validate(e) for e in await programme_work.waiting_list_of(uow, programme)]


# --------------------------------------------------------------------------------------------- interventions


@router.get("/interventions", response_model=list[InterventionOut])
async def list_interventions(
    uow: UoW, principal: CaseReader, request: Request,
    practitioner: TextQuery = None, programme: Programme | None = None,
    intervention_status: Annotated[Literal["active", "closed"] | None, Query(alias="status")] = None,
    past_expected_end: bool | None = None, limit: Limit = 200, offset: Offset = 0,
) -> list[InterventionOut]:
    """Interventions; a practitioner sees only their own. `past_expected_end=true`: active ones running past
    their expected end today."""
    found = await programme_work.list_interventions(
        uow, _acting(principal, request), practitioner=practitioner,
        programme=programme.value if programme else None, status=intervention_status,
        past_expected_end=past_expected_end, limit=limit, offset=offset,
    )
    await uow.commit()
    return [InterventionOut.model_validate(i) for i in found]


@router.get("/interventions/{intervention_id}", response_model=InterventionOut)
async def read_intervention(intervention_id: uuid.UUID, uow: UoW, principal: CaseReader, request: Request) -> InterventionOut:
    intervention = await programme_work.read_intervention(uow, intervention_id, _acting(principal, request))
    await uow.commit()
    return InterventionOut.model_validate(intervention)


@router.post("/interventions/{intervention_id}/close", response_model=InterventionOut)
async def close_intervention(
    intervention_id: uuid.UUID, body: CloseIn, uow: UoW, principal: CaseWriter, request: Request
) -> InterventionOut:
    outcomes = [ChildOutcome(o.child_id, o.living_situation.value, o.placement_type.value if o.placement_type else None)
                for o in body.child_outcomes]
    intervention = await programme_work.close_intervention(
        uow, intervention_id, closed_on=body.closed_on, reason=body.reason, child_outcomes=outcomes,
        acting=_acting(principal, request),
    )
    await uow.commit()
    return InterventionOut.model_validate(intervention)


# --------------------------------------------------------------------------------------------- partner feeds


def _own_feed(principal: Principal, request: Request) -> None:
    source = request.path_params.get("source")
    if principal.source != source:
        raise Forbidden(f"this token is for the {principal.source or 'unnamed'} feed and may not post to {source}")


#: a partner's token, posting to its own source's feed only (checked in the token dependency, before the body)
PartnerOfPath = Annotated[Principal, Depends(requires(Scope.FEEDS_WRITE, check=_own_feed))]


def _incoming(source: FeedSource, event: FeedEventFields, acting: Acting) -> IncomingEvent:
    """The event as intake takes it, from a checked event of either endpoint (one at a time, or a batch's)."""
    return IncomingEvent(source.value, event.external_id, event.occurred_at, event.kind, event.summary,
                         event.la_child_id, event.nhs_number, acting)


@intake.post("/feeds/{source}/events", status_code=status.HTTP_202_ACCEPTED, response_model=FeedAccepted)
async def partner_event(
    source: FeedSource, body: FeedEventIn, principal: PartnerOfPath,
    request: Request,
) -> JSONResponse:
    """Accepted once per `external_id`; the answer never says whether a child matched. Answered after the
    transaction holding the event (shared with concurrent requests: group commit) has committed."""
    event = _incoming(source, FeedEventFields.of(body), _acting(principal, request))
    outcome = await request.app.state.feed_group.submit(event)
    if outcome.status == "invalid":
        raise Invalid(outcome.errors[0].message, field=outcome.errors[0].field)
    # FeedAccepted's JSON, written directly: the model made here and validated again as the response model
    # cost more than the rest of the endpoint.
    return JSONResponse({"id": str(outcome.id), "status": "accepted", "duplicate": outcome.status == "duplicate"},
                        status_code=status.HTTP_202_ACCEPTED)


@router.post("/feeds/{source}/events/batch", response_model=FeedBatchOut, response_model_exclude_none=True)
async def partner_event_batch(
    source: FeedSource, body: FeedBatchIn, uow: UoW, principal: PartnerOfPath,
    request: Request,
) -> JSONResponse:
    """1 to 1,000 events, each checked and accepted as by the single endpoint; results in the order sent.
    An invalid event refuses only itself; the others are committed together, outbox included."""
    acting = _acting(principal, request)
    results: list[dict[str, Any]] = []
    valid: list[IncomingEvent] = []
    slots: list[int] = []
    for raw, event in zip(body.events, check_events(body.events), strict=True):
        if isinstance(event, ValidationError):
            external_id = raw.get("external_id") if isinstance(raw, dict) else None
            results.append({"external_id": external_id if isinstance(external_id, str) else None,
                            "status": "invalid", "errors": field_errors(event.errors())})
            continue
        results.append({"external_id": event.external_id})
        valid.append(_incoming(source, event, acting))
        slots.append(len(results) - 1)
    outcomes = await feed_intake.receive_many(uow, valid) if valid else []
    await uow.commit()
    for slot, outcome in zip(slots, outcomes, strict=True):
        results[slot]["status"] = outcome.status
        if outcome.id is not None:
            results[slot]["id"] = str(outcome.id)
        if outcome.errors:
            results[slot]["errors"] = [{"field": e.field, "message": e.message} for e in outcome.errors]
    return JSONResponse({"results": results})


@router.get("/feeds/review", response_model=list[ReviewItem])
async def review_queue(
    uow: UoW, _principal: FeedReviewer,
    review_status: Annotated[Literal["review", "resolved", "dismissed"], Query(alias="status")] = "review",
    source: FeedSource | None = None, limit: Limit = 200, offset: Offset = 0,
) -> list[ReviewItem]:
    """Partner events that matched no child (or matched ambiguously), oldest first."""
    items = await partner_feeds.review_queue(uow, status=review_status, source=source.value if source else None,
                                             limit=limit, offset=offset)
    return [ReviewItem.model_validate(i) for i in items]


@router.post("/feeds/review/{event_id}/resolve", response_model=ReviewItem)
async def resolve_partner_event(
    event_id: uuid.UUID, body: ResolveIn, uow: UoW, principal: FeedReviewer, request: Request
) -> ReviewItem:
    event = await partner_feeds.resolve(uow, event_id, body.child_id, body.note, _acting(principal, request))
    await uow.commit()
    return ReviewItem.model_validate(event)


@router.post("/feeds/review/{event_id}/dismiss", response_model=ReviewItem)
async def dismiss_partner_event(
    event_id: uuid.UUID, body: DismissIn, uow: UoW, principal: FeedReviewer, request: Request
) -> ReviewItem:
    event = await partner_feeds.dismiss(uow, event_id, body.note, _acting(principal, request))
    await uow.commit()
    return ReviewItem.model_validate(event)


# --------------------------------------------------------------------------------------------- timers (ops)


@router.post("/timers/run", response_model=TimersRunOut)
async def run_timers(body: TimersRunIn, uow: UoW, principal: Ops, request: Request) -> TimersRunOut:
    """Escalate every referral whose consent or assessment is overdue as of `as_of` (default today), once."""
    as_of = body.as_of or today()
    if as_of > today():
        raise Invalid("is after today; timers run only for days that have come", field="as_of")
    result = await escalations.run_timers(uow, as_of, _acting(principal, request))
    await uow.commit()
    return TimersRunOut.model_validate(result)


# The audit log is read through eoc_shared.audit.audit_router (the same endpoint in every service; app.py).


# --------------------------------------------------------------------------------------------- work lists


@router.get("/worklists/overdue", response_model=list[OverdueOut])
async def overdue_worklist(
    uow: UoW, principal: CaseWriter, request: Request,
    as_of: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None, team: TextQuery = None,
) -> list[OverdueOut]:
    """Open referrals whose consent or assessment is overdue (as of today unless `as_of`)."""
    try:
        day = date.fromisoformat(as_of) if as_of else today()
    except ValueError as exc:
        raise Invalid("is not a real date", field="as_of") from exc
    rows = await worklists.overdue_worklist(uow, _acting(principal, request), as_of=day, team=team)
    await uow.commit()
    return [OverdueOut.model_validate(r) for r in rows]


@router.get("/worklists/by-status", response_model=ByStatusOut)
async def by_status(uow: UoW, principal: CaseWriter, request: Request, team: TextQuery = None) -> ByStatusOut:
    """The referrals (of a team, when given) grouped by status, with counts."""
    grouped = await worklists.referrals_by_status(uow, _acting(principal, request), team=team)
    await uow.commit()
    return ByStatusOut.model_validate(grouped)


# --------------------------------------------------------------------------------------------- referrals


def _referral_out(view: ReferralView) -> ReferralOut:
    """The contract names the escalation dates `…_escalated_on`; the row keeps them as `…_overdue_as_of`."""
    out = ReferralOut.model_validate(view.referral)
    out.consent_overdue_escalated_on = view.referral.consent_overdue_as_of
    out.assessment_overdue_escalated_on = view.referral.assessment_overdue_as_of
    out.interventions = [InterventionOut.model_validate(i) for i in view.interventions]
    out.waiting = [WaitingOut.model_validate(w) for w in view.waiting]
    return out


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ReferralOut)
async def make_referral(body: ReferralIn, principal: CaseWriter, request: Request) -> ReferralOut:
    async with unit_of_work_of(request) as uow:  # not the `UoW` dependency: see unit_of_work_of
        view = await referrals.make_referral(uow, referrals.NewReferral(**body.model_dump()),
                                             _acting(principal, request))
        await uow.commit()
    return _referral_out(view)


@router.get("", response_model=list[ReferralSummary])
async def list_referrals(
    uow: UoW, principal: CaseWriter, request: Request,
    referral_status: Annotated[list[ReferralStatus] | None, Query(alias="status")] = None,
    overdue: Annotated[list[Literal["consent", "assessment"]] | None, Query()] = None,
    team: TextQuery = None, limit: Limit = 200, offset: Offset = 0,
) -> list[ReferralSummary]:
    """Referrals, oldest referral date first; `status` may be repeated; `overdue=consent` and/or
    `overdue=assessment`: only those overdue today."""
    rows = await worklists.list_referrals(
        uow, _acting(principal, request), statuses=[s.value for s in referral_status or []] or None, team=team,
        overdue=overdue or [], limit=limit, offset=offset,
    )
    await uow.commit()
    return [ReferralSummary.model_validate(r) for r in rows]


@router.get("/{referral_id}", response_model=ReferralOut)
async def read_referral(referral_id: uuid.UUID, principal: CaseReader, request: Request) -> ReferralOut:
    async with unit_of_work_of(request) as uow:
        view = await referrals.read_referral(uow, referral_id, _acting(principal, request))
        await uow.commit()
    return _referral_out(view)


@router.post("/{referral_id}/consent", response_model=ReferralOut)
async def record_consent(
    referral_id: uuid.UUID, body: ConsentIn, uow: UoW, principal: CaseWriter, request: Request
) -> ReferralOut:
    view = await assessment.record_consent(uow, referral_id, body.signed_on, _acting(principal, request))
    await uow.commit()
    return _referral_out(view)


@router.post("/{referral_id}/withdraw", response_model=ReferralOut)
async def withdraw(referral_id: uuid.UUID, body: WithdrawIn, uow: UoW, principal: CaseWriter, request: Request) -> ReferralOut:
    view = await referrals.withdraw_referral(uow, referral_id, body.reason, _acting(principal, request))
    await uow.commit()
    return _referral_out(view)


def _started_out(started: Started) -> StartedOut:
    out = StartedOut.model_validate(started.intervention)
    out.superseded = [s.id for s in started.superseded]
    return out


@router.post(
    "/{referral_id}/interventions", status_code=status.HTTP_201_CREATED, response_model=StartedOut | Waitlisted,
    responses={202: {"model": Waitlisted, "description": "the programme is full: the family joined its waiting list"}},
)
async def start_intervention(
    referral_id: uuid.UUID, body: InterventionIn, uow: UoW, principal: CaseWriter, request: Request, response: Response
) -> StartedOut | Waitlisted:
    result = await programme_work.start_intervention(
        uow, referral_id, body.programme, started_on=body.started_on, practitioner=body.practitioner,
        acting=_acting(principal, request),
    )
    await uow.commit()
    if isinstance(result, WaitingPlace):
        response.status_code = status.HTTP_202_ACCEPTED
        return Waitlisted.model_validate(dataclasses.replace(result, status="waitlisted"))
    return _started_out(result)


@router.delete("/{referral_id}/waiting-list/{programme}", response_model=WaitingOut)
async def leave_waiting_list(
    referral_id: uuid.UUID, programme: Programme, uow: UoW, principal: CaseWriter, request: Request
) -> WaitingOut:
    place = await programme_work.leave_waiting_list(uow, referral_id, programme, _acting(principal, request))
    await uow.commit()
    return WaitingOut.model_validate(place)
