"""HTTP endpoints of outcomes-svc: thin; validation in schemas, rules in the operations and the domain."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from eoc_shared.acting import acting_of as _acting
from eoc_shared.auth import Principal, Scope, requires
from eoc_shared.clock import today
from eoc_shared.errors import Invalid
from eoc_shared.finyear import MAX_YEAR, MIN_YEAR
from eoc_shared.service import UoW
from eoc_shared.vocab import Programme
from outcomes_svc import reporting, scheduling, tracking
from outcomes_svc.api.schemas import (
    ChildRecordOut,
    FollowupOut,
    ProgrammeSummaryOut,
    ResultIn,
    SchedulerRunIn,
    SchedulerRunOut,
    SummaryOut,
    SurvivalOut,
)
from outcomes_svc.domain.outcome_terms import FollowupStatus

router = APIRouter(prefix="/outcomes", tags=["outcomes"])


# Practitioners hold these scopes too, and see only the closures of their own interventions (tracking.py).
ChildReader = Annotated[Principal, Depends(requires(Scope.OUTCOMES_READ))]
ChildWriter = Annotated[Principal, Depends(requires(Scope.OUTCOMES_WRITE))]
AggregateReader = Annotated[Principal, Depends(requires(Scope.OUTCOMES_READ, Scope.REPORTS_READ))]
Ops = Annotated[Principal, Depends(requires(Scope.OPS))]
AuditReader = Annotated[Principal, Depends(requires(Scope.AUDIT_READ))]
FinancialYear = Annotated[int, Query(ge=MIN_YEAR, le=MAX_YEAR, description="the calendar year the financial year starts in")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
EARLIEST = date(MIN_YEAR, 1, 1)
DateQuery = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD; default today")]


def _day(value: str | None, field: str) -> date:
    if value is None:
        return today()
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise Invalid("is not a real date", field=field) from exc
    if day > today():
        raise Invalid("is after today", field=field)
    if day < EARLIEST:
        raise Invalid(f"is before {EARLIEST.isoformat()}", field=field)
    return day


# --------------------------------------------------------------------------------------------- follow-ups


@router.get("/children/{child_id}/followups", response_model=list[FollowupOut], response_model_exclude_none=True)
async def child_followups(child_id: uuid.UUID, uow: UoW, principal: ChildReader, request: Request) -> list[FollowupOut]:
    """The child's follow-ups (every closed intervention), earliest due first; `living_situation` and
    `re_referred` once recorded."""
    views = await tracking.child_followups(uow, child_id, _acting(principal, request))
    await uow.commit()
    return [FollowupOut.model_validate(v) for v in views]


@router.get("/children/{child_id}", response_model=ChildRecordOut, response_model_exclude_none=True)
async def child_record(child_id: uuid.UUID, uow: UoW, principal: ChildReader, request: Request) -> ChildRecordOut:
    """The child's outcome record: each closure (checkpoint 0), the follow-ups and the signals detected."""
    view = await tracking.child_record(uow, child_id, _acting(principal, request))
    await uow.commit()
    return ChildRecordOut.model_validate(view)


@router.get("/followups", response_model=list[FollowupOut], response_model_exclude_none=True)
async def followups_by_status(
    uow: UoW, principal: ChildReader, request: Request,
    followup_status: Annotated[list[FollowupStatus] | None, Query(alias="status")] = None,
    programme: Programme | None = None, limit: Limit = 200, offset: Offset = 0,
) -> list[FollowupOut]:
    """Follow-ups by status as of today (from their dates), longest waiting first; `?status=overdue` is the
    weekly case review list. Without `status`: the open work (`due` and `overdue`)."""
    statuses = followup_status or [FollowupStatus.DUE, FollowupStatus.OVERDUE]
    views = await tracking.worklist(uow, statuses, programme=programme.value if programme else None, limit=limit,
                                    offset=offset, acting=_acting(principal, request))
    await uow.commit()
    return [FollowupOut.model_validate(v) for v in views]


@router.get("/followups/{followup_id}", response_model=FollowupOut, response_model_exclude_none=True)
async def read_followup(followup_id: uuid.UUID, uow: UoW, principal: ChildReader, request: Request) -> FollowupOut:
    view = await tracking.read_followup(uow, followup_id, _acting(principal, request))
    await uow.commit()
    return FollowupOut.model_validate(view)


@router.post("/followups/{followup_id}/result", response_model=FollowupOut, response_model_exclude_none=True)
async def record_result(
    followup_id: uuid.UUID, body: ResultIn, uow: UoW, principal: ChildWriter, request: Request
) -> FollowupOut:
    """Record what was observed, once (again → 409). `observed_on` between the closure and today."""
    view = await tracking.record_result(
        uow, followup_id, observed_on=body.observed_on, living_situation=body.living_situation.value,
        re_referred=body.re_referred, acting=_acting(principal, request),
    )
    await uow.commit()
    return FollowupOut.model_validate(view)


# --------------------------------------------------------------------------------------------- scheduler (ops)


@router.post("/scheduler/run", response_model=SchedulerRunOut)
async def run_scheduler(body: SchedulerRunIn, principal: Ops, request: Request) -> SchedulerRunOut:
    """Mark every follow-up due by `as_of` (default today) and publish `followup.due` for each, exactly once;
    mark overdue those 28 days past due without a result. A future `as_of` is refused."""
    as_of = body.as_of or today()
    if as_of > today():
        raise Invalid("is after today; follow-ups fall due only on days that have come", field="as_of")
    if as_of < EARLIEST:
        raise Invalid(f"is before {EARLIEST.isoformat()}", field="as_of")
    runtime = request.app.state.runtime
    result = await scheduling.run(runtime.uow, as_of, runtime.settings.scheduler_batch_size)
    return SchedulerRunOut.model_validate(result)


# --------------------------------------------------------------------------------------------- figures


@router.get("/summary", response_model=SummaryOut)
async def summary(financial_year: FinancialYear, uow: UoW, _principal: AggregateReader) -> SummaryOut:
    """Children closed in the financial year (not superseded), at home at closure, `success_rate`, and
    `sustained` at 6, 12 and 18 months; `evidence` gives what each rate rests on, for every checkpoint."""
    return SummaryOut.model_validate(await reporting.summary(uow, financial_year, today()))


@router.get("/summary/programmes", response_model=ProgrammeSummaryOut)
async def programme_summary(financial_year: FinancialYear, uow: UoW, _principal: AggregateReader) -> ProgrammeSummaryOut:
    """The same figures per programme."""
    return ProgrammeSummaryOut.model_validate(await reporting.programme_summaries(uow, financial_year, today()))


@router.get("/survival", response_model=SurvivalOut)
async def survival(
    uow: UoW, _principal: AggregateReader, programme: Programme | None = None,
    financial_year: Annotated[int | None, Query(ge=MIN_YEAR, le=MAX_YEAR)] = None, as_of: DateQuery = None,
) -> SurvivalOut:
    """Kaplan–Meier estimate of the time from closure to care entry (or custody) or re-referral, months 0–60,
    for the children at home at closure, with the number at risk at each step and each month."""
    view = await reporting.survival(uow, programme=programme.value if programme else None,
                                    financial_year=financial_year, as_of=_day(as_of, "as_of"))
    return SurvivalOut.model_validate(view)


# The access log is read through eoc_shared.audit.audit_router (the same endpoint in every service; app.py).
