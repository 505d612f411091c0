"""Aggregate reports of referral-svc: the equity funnel (contract v1.1) and the operations pulse.

Declared in their own router, included before the case routes, so `/reports/…` is never read as a referral id.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from eoc_shared import finyear
from eoc_shared.auth import Principal, Role, Scope, requires
from eoc_shared.clock import today
from eoc_shared.errors import Forbidden, Invalid
from eoc_shared.service import UoW
from referral_svc import equity
from referral_svc.domain.funnel import FunnelRow

router = APIRouter(prefix="/referrals/reports", tags=["reports"])

EQUITY_ROLES = frozenset({Role.TEAM_MANAGER, Role.BOARD_MEMBER, Role.OPS})
OPERATIONS_ROLES = frozenset({Role.TEAM_MANAGER, Role.OPS})
Grouping = Literal["ethnic_group", "ethnicity", "primary_language", "interpreter_needed", "sex", "age_band"]
Reporter = Annotated[Principal, Depends(requires(Scope.REPORTS_READ, Scope.OPS))]


def _only(principal: Principal, roles: frozenset[Role]) -> None:
    if principal.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Forbidden(f"the role {principal.role.value} may not read this report (roles: {allowed})")


class StageRates(BaseModel):
    eligible: Decimal | None
    started: Decimal | None
    closed_at_home: Decimal | None
    at_home_12m: Decimal | None


class FunnelOut(BaseModel):
    group: str
    referred: int | str
    eligible: int | str
    started: int | str
    closed_at_home: int | str
    at_home_12m: int | str
    rates: StageRates


class EquityOut(BaseModel):
    financial_year: str
    by: str
    groups: list[FunnelOut]
    total: FunnelOut


def _row(row: FunnelRow) -> FunnelOut:
    return FunnelOut(group=row.group, **row.counts, rates=StageRates(**row.rates))  # type: ignore[arg-type]


@router.get("/equity", response_model=EquityOut)
async def equity_funnel(
    uow: UoW, principal: Reporter,
    financial_year: Annotated[int, Query(ge=finyear.MIN_YEAR, le=finyear.MAX_YEAR,
                                         description="the year it starts in: 2025 is 1 April 2025 to 31 March 2026")],
    by: Annotated[Grouping, Query(description="the grouping")] = "ethnic_group",
) -> EquityOut:
    """Children referred in the year through eligible, started, closed at home and at home at 12 months,
    per group; counts 1–4 are "<5" and rates over fewer than 10 are null."""
    _only(principal, EQUITY_ROLES)
    report = await equity.equity(uow.session, financial_year, by)
    return EquityOut(financial_year=report.label, by=by, groups=[_row(g) for g in report.groups], total=_row(report.total))


class QueueOut(BaseModel):
    programme: str
    capacity: int | None
    active_families: int
    waiting: int
    longest_wait_days: int | None
    median_wait_days: int | None
    past_expected_end: int = 0


class OperationsOut(BaseModel):
    as_of: date
    financial_year: str
    consent_overdue: int
    consent_escalated: int
    assessments_due: int
    assessments_breached: int
    assessments_escalated: int
    decided_in_year: int
    decided_within_10_days: int
    share_within_10_days: Decimal | None
    interventions_past_expected_end: int = 0
    queues: list[QueueOut]
    feed_review: dict[str, int]


@router.get("/operations", response_model=OperationsOut)
async def operations_pulse(
    uow: UoW, principal: Reporter,
    as_of: Annotated[date | None, Query(description="the day the timers are read at; default today")] = None,
) -> OperationsOut:
    """Counts a team manager or ops acts on today: consent overdue and escalated, assessments due and
    breached, the share decided within 10 working days this financial year, waiting lists, feed review."""
    _only(principal, OPERATIONS_ROLES)
    day = as_of or today()
    if day > today():
        raise Invalid("is after today; timers are read only for days that have come", field="as_of")
    if day.year < finyear.MIN_YEAR:
        raise Invalid(f"is before {finyear.MIN_YEAR}", field="as_of")
    report = await equity.operations(uow.session, day)
    return OperationsOut(
        as_of=report.as_of, financial_year=finyear.label(report.financial_year),
        consent_overdue=report.consent_overdue, consent_escalated=report.consent_escalated,
        assessments_due=report.assessments_due, assessments_breached=report.assessments_breached,
        assessments_escalated=report.assessments_escalated, decided_in_year=report.decided_in_year,
        decided_within_10_days=report.decided_within_10_days, share_within_10_days=report.share_within_10_days,
        interventions_past_expected_end=report.interventions_past_expected_end, queues=[QueueOut(**vars(q)) for q in report.queues], feed_review=report.feed_review,
    )
