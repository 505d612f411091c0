"""Outcome figures: the financial year's summary (overall and per programme) and the survival estimate."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from eoc_shared.db import UnitOfWork
from eoc_shared.finyear import label
from eoc_shared.vocab import LivingSituation, Programme
from outcomes_svc.db.models import Closure
from outcomes_svc.db.repositories import Closures, Followups, Signals
from outcomes_svc.detecting import signal_of
from outcomes_svc.domain import outcome_rates
from outcomes_svc.domain.followup_dates import add_months, months_between
from outcomes_svc.domain.kaplan_meier import at_risk_at, kaplan_meier, survival_at
from outcomes_svc.domain.outcome_rates import CohortFigures
from outcomes_svc.domain.outcome_terms import HORIZON_MONTHS, FollowupStatus
from outcomes_svc.domain.signals import PRACTITIONER, first_break


async def _child_closures(uow: UnitOfWork, closures: Sequence[Closure]) -> list[outcome_rates.ChildClosure]:
    by_closure: dict[Any, dict[int, outcome_rates.Result]] = defaultdict(dict)
    due: dict[Any, dict[int, date]] = defaultdict(dict)
    for f in await Followups(uow.session).of_closures([c.id for c in closures]):
        due[f.closure_id][f.checkpoint_months] = f.due_on
        if f.status == FollowupStatus.RECORDED.value and f.living_situation is not None:
            by_closure[f.closure_id][f.checkpoint_months] = outcome_rates.Result(f.living_situation, bool(f.re_referred))
    return [
        outcome_rates.ChildClosure(
            child_id=str(c.child_id), intervention_id=str(c.intervention_id), programme=c.programme,
            closed_on=c.closed_on, living_situation=c.living_situation, results=by_closure[c.id], due=due[c.id],
        )
        for c in closures
    ]


@dataclass(frozen=True, kw_only=True)
class YearOutcomes(CohortFigures):
    """A financial year's closures and how they held, as of a day."""

    financial_year: int
    as_of: date

    @property
    def label(self) -> str:
        return label(self.financial_year)


@dataclass(frozen=True, kw_only=True)
class ProgrammeOutcomes(CohortFigures):
    programme: str


@dataclass(frozen=True)
class ProgrammesOfYear:
    financial_year: int
    as_of: date
    programmes: list[ProgrammeOutcomes]

    @property
    def label(self) -> str:
        return label(self.financial_year)


def _fields(figures: CohortFigures) -> dict[str, Any]:
    return {f.name: getattr(figures, f.name) for f in fields(CohortFigures)}


async def summary(uow: UnitOfWork, financial_year: int, as_of: date) -> YearOutcomes:
    cohort = await _child_closures(uow, await Closures(uow.session).of_year(financial_year))
    return YearOutcomes(**_fields(outcome_rates.summarise(cohort, as_of)), financial_year=financial_year, as_of=as_of)


async def programme_summaries(uow: UnitOfWork, financial_year: int, as_of: date) -> ProgrammesOfYear:
    cohort = await _child_closures(uow, await Closures(uow.session).of_year(financial_year))
    names = [p.value for p in Programme] + sorted({c.programme for c in cohort} - {p.value for p in Programme})
    return ProgrammesOfYear(financial_year, as_of, [
        ProgrammeOutcomes(**_fields(outcome_rates.summarise([c for c in cohort if c.programme == name], as_of)),
                          programme=name)
        for name in names
    ])


@dataclass(frozen=True)
class SurvivalStep:
    time_months: float
    at_risk: int
    events: int
    censored: int
    survival: float
    std_error: float | None


@dataclass(frozen=True)
class SurvivalMonth:
    month: int
    at_risk: int
    survival: float


@dataclass(frozen=True)
class SurvivalEstimate:
    """Kaplan–Meier estimate of staying at home after closure, at each event and at each month."""

    programme: str | None
    financial_year: int | None
    as_of: date
    event: str
    children: int
    events: int
    censored: int
    median_months: float | None
    steps: list[SurvivalStep]
    monthly: list[SurvivalMonth]


async def survival(uow: UnitOfWork, *, programme: str | None, financial_year: int | None,
                   as_of: date) -> SurvivalEstimate:
    """Kaplan–Meier: months from closure to the first care entry (or custody) or re-referral, for the
    children at home at closure; followed to 60 months or `as_of`, whichever comes first."""
    closures = await Closures(uow.session).cohort(programme=programme, financial_year=financial_year,
                                                  living_situation=LivingSituation.AT_HOME.value, closed_by=as_of)
    signals_by_child: dict[Any, list[Any]] = defaultdict(list)
    for row in await Signals(uow.session).of_children(c.child_id for c in closures):
        if row.occurred_on <= as_of:
            signals_by_child[row.child_id].append(signal_of(row))
    results: dict[Any, list[tuple[date, str, bool]]] = defaultdict(list)
    for f in await Followups(uow.session).of_closures([c.id for c in closures]):
        if f.recorded_source == PRACTITIONER and f.observed_on is not None and f.observed_on <= as_of:
            results[f.closure_id].append((f.observed_on, f.living_situation or "", bool(f.re_referred)))

    observations = []
    for c in closures:
        end = min(as_of, add_months(c.closed_on, HORIZON_MONTHS))
        broke = first_break(closed_on=c.closed_on, closure_referral_id=c.referral_id,
                            signals=signals_by_child[c.child_id], results=results[c.id])
        if broke is not None and broke <= end:
            observations.append((months_between(c.closed_on, broke), True))
        else:
            observations.append((months_between(c.closed_on, end), False))

    steps = kaplan_meier(observations)
    event_steps = [s for s in steps if s.events]
    median = next((s.time for s in event_steps if s.survival <= 0.5), None)
    return SurvivalEstimate(
        programme=programme, financial_year=financial_year, as_of=as_of,
        event="care entry, custody or re-referral after closure",
        children=len(observations),
        events=sum(1 for _, e in observations if e),
        censored=sum(1 for _, e in observations if not e),
        median_months=_round(median) if median is not None else None,
        steps=[
            SurvivalStep(_round(s.time), s.at_risk, s.events, s.censored, round(s.survival, 4),
                         round(s.std_error, 4) if s.std_error is not None else None)
            for s in event_steps
        ],
        monthly=[
            SurvivalMonth(m, at_risk_at(observations, m), round(survival_at(steps, m), 4))
            for m in range(0, HORIZON_MONTHS + 1)
        ],
    )


def _round(value: Any) -> float:
    return round(float(value), 4)
