"""The savings ledger: savings method v1 taken apart per child, so it can be kept up to date one event at a time.

`savings.financial_summary` is the reference: it computes a year from every intervention at
once. The service cannot afford that for a large authority on every request, so it keeps one
ledger entry per (financial year, child) — that child's `ChildPosition` — and per-year totals
that are the sum of the entries' contributions. When an event touches a child, only that child's
positions are recomputed, and the totals move by the difference between the new contribution and
the old one. `summary_from_totals` then words the totals exactly as `financial_summary` does.

Why this is exact: every figure of the summary is either a count of distinct children, a count of
distinct families, or a sum over distinct children, and each child's part depends only on that
child's own interventions, projection and follow-ups (the earliest diverting intervention, the
in-year days from its start, the first breakdown after it closed). Families are counted from the
interventions themselves (`families_served`), not from children. The unit tests prove the
equality against `financial_summary` on the hand-worked data set and on random data.

Money stays exact here (Decimal); rounding happens in `summary_from_totals` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from .money import to_decimal, to_pounds
from .savings import (
    HIGH_COST_DAILY_RATE,
    Breakdown,
    FollowUp,
    Intervention,
    ProgrammeValue,
    Projection,
    Targets,
    YearSummary,
    _breakdowns,
    _savings,
    diversions,
    programme_row,
    started_in,
    year_summary,
)
from .vocab import PROGRAMMES

ZERO = Decimal(0)


@dataclass(frozen=True)
class ChildPosition:
    """One child's part of one financial year: what the ledger stores per (fy, child)."""

    fy: int
    child_id: str
    closed: bool
    diverted: bool
    credited_intervention: str | None = None
    credited_programme: str | None = None
    credited_started_on: date | None = None
    daily_rate: Decimal | None = None
    annual_cost_avoided: Decimal | None = None
    full_year: Decimal = ZERO
    in_year: Decimal = ZERO
    high_cost: bool = False
    breakdown_on: date | None = None
    breakdown_situation: str | None = None


def child_position(
    fy: int,
    child_id: str,
    interventions: Iterable[Intervention],
    projection: Projection | None,
    followups: Iterable[FollowUp] = (),
) -> ChildPosition | None:
    """The child's position in the year, or None when no intervention serving the child started in it.

    `interventions` may hold any interventions (other years, other children); only those serving
    this child and started in `fy` count. A projection without a rate is passed as None.
    """
    year = [i for i in started_in(fy, interventions) if child_id in i.child_ids]
    if not year:
        return None
    own = [_only(i, child_id) for i in year]
    closed = any(i.counts_as_closed() for i in own)
    diverted = diversions(fy, own)
    credited = diverted.get(child_id)
    projections = {} if projection is None else {child_id: projection}
    full_year, in_year = _savings(fy, diverted, projections)
    breakdowns = _breakdowns(diverted, own, [f for f in followups if f.child_id == child_id], None)
    breakdown = breakdowns[0] if breakdowns else None
    return ChildPosition(
        fy=fy,
        child_id=child_id,
        closed=closed,
        diverted=credited is not None,
        credited_intervention=None if credited is None else credited.intervention.id,
        credited_programme=None if credited is None else credited.intervention.programme,
        credited_started_on=None if credited is None else credited.started_on,
        daily_rate=None if projection is None else projection.daily_rate,
        annual_cost_avoided=None if projection is None else projection.annual_cost_avoided,
        full_year=full_year,
        in_year=in_year,
        high_cost=projection is not None and projection.daily_rate >= HIGH_COST_DAILY_RATE,
        breakdown_on=None if breakdown is None else breakdown.date,
        breakdown_situation=None if breakdown is None else breakdown.living_situation,
    )


def _only(intervention: Intervention, child_id: str) -> Intervention:
    """The intervention as far as one child is concerned (other children's outcomes play no part)."""
    outcomes = {child_id: intervention.child_outcomes[child_id]} if child_id in intervention.child_outcomes else {}
    return replace(intervention, child_ids=(child_id,), child_outcomes=outcomes)


@dataclass(frozen=True)
class YearTotals:
    """Sums of ledger contributions for one year. Subtraction makes deltas: new contribution − old one."""

    families_served: int = 0
    children_served: int = 0
    children_closed: int = 0
    children_diverted: int = 0
    full_year: Decimal = ZERO
    in_year: Decimal = ZERO
    costed_children: int = 0
    costed_annual: Decimal = ZERO
    high_cost_children: int = 0
    breakdowns: int = 0

    @classmethod
    def of(cls, position: ChildPosition | None) -> YearTotals:
        """A child's contribution (zero when the child has no position in the year)."""
        if position is None:
            return cls()
        annual = position.annual_cost_avoided
        return cls(
            children_served=1,
            children_closed=int(position.closed),
            children_diverted=int(position.diverted),
            full_year=position.full_year,
            in_year=position.in_year,
            costed_children=int(annual is not None),
            costed_annual=annual if annual is not None else ZERO,
            high_cost_children=int(position.high_cost),
            breakdowns=int(position.breakdown_on is not None),
        )

    @classmethod
    def family(cls, count: int = 1) -> YearTotals:
        return cls(families_served=count)

    def _combine(self, other: YearTotals, sign: int) -> YearTotals:
        return YearTotals(**{f.name: getattr(self, f.name) + sign * getattr(other, f.name) for f in fields(self)})

    def __add__(self, other: YearTotals) -> YearTotals:
        return self._combine(other, 1)

    def __sub__(self, other: YearTotals) -> YearTotals:
        return self._combine(other, -1)

    def is_zero(self) -> bool:
        return self == YearTotals()

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ProgrammeTotals:
    """The diverted children credited to one programme in a year, and their savings."""

    children_diverted: int = 0
    full_year: Decimal = ZERO
    in_year: Decimal = ZERO

    @classmethod
    def of(cls, position: ChildPosition | None) -> dict[str, ProgrammeTotals]:
        if position is None or not position.diverted or position.credited_programme is None:
            return {}
        return {position.credited_programme: cls(1, position.full_year, position.in_year)}

    def __add__(self, other: ProgrammeTotals) -> ProgrammeTotals:
        return ProgrammeTotals(self.children_diverted + other.children_diverted, self.full_year + other.full_year,
                               self.in_year + other.in_year)

    def __sub__(self, other: ProgrammeTotals) -> ProgrammeTotals:
        return ProgrammeTotals(self.children_diverted - other.children_diverted, self.full_year - other.full_year,
                               self.in_year - other.in_year)

    def is_zero(self) -> bool:
        return self == ProgrammeTotals()


def programme_delta(old: ChildPosition | None, new: ChildPosition | None) -> dict[str, ProgrammeTotals]:
    """How one child's recomputation moves each programme's totals."""
    delta: dict[str, ProgrammeTotals] = {}
    for programme, part in ProgrammeTotals.of(new).items():
        delta[programme] = delta.get(programme, ProgrammeTotals()) + part
    for programme, part in ProgrammeTotals.of(old).items():
        delta[programme] = delta.get(programme, ProgrammeTotals()) - part
    return {p: d for p, d in delta.items() if not d.is_zero()}


def families_served(fy: int, interventions: Iterable[Intervention]) -> set[str]:
    return {i.family_id for i in started_in(fy, interventions)}


def summary_from_totals(
    fy: int,
    totals: YearTotals,
    targets: Targets | None,
    breakdowns: Iterable[Breakdown] = (),
) -> YearSummary:
    """The year's summary from the ledger's totals: the same as `savings.financial_summary` computes."""
    average = (
        to_pounds(Fraction(to_decimal(totals.costed_annual)) / totals.costed_children)
        if totals.costed_children
        else None
    )
    counts = (totals.families_served, totals.children_served, totals.children_closed, totals.children_diverted)
    return year_summary(fy, counts, totals.full_year, totals.in_year, average, totals.high_cost_children, targets,
                        breakdowns)


@dataclass(frozen=True)
class ProgrammeActivity:
    """Distinct families and children served by a programme's interventions started in the year."""

    families_served: int = 0
    children_served: int = 0


def value_rows(
    activity: Mapping[str, ProgrammeActivity],
    credited: Mapping[str, ProgrammeTotals],
    programme_costs: Mapping[str, Decimal | int | str],
) -> list[ProgrammeValue]:
    """Value for money per programme from the ledger: the same as `savings.programme_value` computes.

    A programme appears when it served someone in the year or has a cost entered. Net savings are
    the full-year effect less the cost; an unknown cost is not a zero cost (None throughout).
    """
    unknown = set(programme_costs) - set(PROGRAMMES)
    if unknown:
        raise ValueError(f"unknown programmes {sorted(unknown)}")
    costs = {p: to_decimal(c) for p, c in programme_costs.items()}
    rows = []
    for programme in PROGRAMMES:
        served = activity.get(programme, ProgrammeActivity())
        if not served.children_served and programme not in costs:
            continue
        mine = credited.get(programme, ProgrammeTotals())
        rows.append(programme_row(programme, served.families_served, served.children_served, mine.children_diverted,
                                  mine.full_year, mine.in_year, costs.get(programme)))
    return rows


def programme_activity(fy: int, interventions: Iterable[Intervention]) -> dict[str, ProgrammeActivity]:
    """Reference for the SQL the service runs: served families and children per programme."""
    year = started_in(fy, interventions)
    return {
        p: ProgrammeActivity(
            families_served=len({i.family_id for i in year if i.programme == p}),
            children_served=len({c for i in year if i.programme == p for c in i.child_ids}),
        )
        for p in PROGRAMMES
        if any(i.programme == p for i in year)
    }
