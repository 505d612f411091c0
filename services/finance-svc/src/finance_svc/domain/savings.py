"""Savings method version 1, exactly as the public contract states it.

Decisions the contract leaves open, and why:

- Interventions are counted by the financial year they STARTED in, for every figure here
  (served, closed, diverted, savings). A summary for an earlier year therefore changes when an
  intervention that started in it closes later; that is the contract's rule, and it means the
  money is booked against the year whose activity produced it.
- A superseded intervention still counts towards `families_served` and `children_served`: the
  family was served by it. It never counts as closed or diverted; the intervention that
  replaced it does.
- A child diverted by two interventions started in the same year is counted once; the in-year
  saving runs from the EARLIEST of their starts, because that is when the work that kept them
  at home began. Programme value attributes that child to the same (earliest) intervention,
  so programme totals add up to the year's totals.
- A diverted child with no projection counts as diverted but adds no money (there is no rate
  to multiply). `average_annual_cost_avoided` is the mean over served children who have a
  projection. `high_cost_share` is over all children served, as the contract words it.
- A breakdown is a recorded follow-up `in_care` or `custody` observed after the diverting
  intervention closed. The child is listed once, with their first such follow-up.
- The in-year period runs from the start to 31 March inclusive, so an intervention starting
  on 1 April of a year that contains 29 February counts 366 days, one more than the 365 of the
  full-year effect. That follows the contract to the letter.
- `as_of` (optional) gives the position as known on that day: later starts are ignored,
  later closures are treated as still open and later follow-ups are unseen.

Money is summed exactly and rounded half up to pennies only when a result is returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from eoc_shared.finyear import contains, label, year_end

from .money import pct_of_target, share, to_decimal, to_pounds
from .projection import annual_cost_avoided
from .vocab import AT_HOME, BREAKDOWN_SITUATIONS, CLOSURE_REASONS, LIVING_SITUATIONS, PROGRAMMES, SUPERSEDED

METHOD_VERSION = 1
HIGH_COST_DAILY_RATE = Decimal(1000)


@dataclass(frozen=True)
class Intervention:
    """An edge-of-care intervention as finance-svc learns it from `intervention.started` and `.closed`."""

    id: str
    family_id: str
    child_ids: tuple[str, ...]
    programme: str
    started_on: date
    closed_on: date | None = None
    reason: str | None = None
    child_outcomes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "child_ids", tuple(self.child_ids))
        object.__setattr__(self, "child_outcomes", dict(self.child_outcomes))
        if not self.child_ids:
            raise ValueError(f"intervention {self.id}: at least one child is required")
        if self.programme not in PROGRAMMES:
            raise ValueError(f"intervention {self.id}: unknown programme {self.programme!r}")
        if (self.closed_on is None) != (self.reason is None):
            raise ValueError(f"intervention {self.id}: closed_on and reason come together")
        if self.reason is not None and self.reason not in CLOSURE_REASONS:
            raise ValueError(f"intervention {self.id}: unknown closure reason {self.reason!r}")
        if self.closed_on is not None and self.closed_on < self.started_on:
            raise ValueError(f"intervention {self.id}: closed before it started")
        strangers = set(self.child_outcomes) - set(self.child_ids)
        if strangers:
            raise ValueError(f"intervention {self.id}: outcomes for children it did not serve")
        bad = {s for s in self.child_outcomes.values()} - LIVING_SITUATIONS
        if bad:
            raise ValueError(f"intervention {self.id}: unknown living_situation {sorted(bad)}")

    def closed_by(self, as_of: date | None) -> bool:
        return self.closed_on is not None and (as_of is None or self.closed_on <= as_of)

    def counts_as_closed(self, as_of: date | None = None) -> bool:
        """Closed, and not merely replaced by another intervention."""
        return self.closed_by(as_of) and self.reason != SUPERSEDED

    def diverted(self, child_id: str, as_of: date | None = None) -> bool:
        return self.counts_as_closed(as_of) and self.child_outcomes.get(child_id) == AT_HOME


@dataclass(frozen=True)
class Projection:
    """A child's current projection: the placement avoided and its daily rate."""

    child_id: str
    placement_type: str
    daily_rate: Decimal

    def __post_init__(self) -> None:
        rate = to_decimal(self.daily_rate)
        if rate < 0:
            raise ValueError(f"projection for {self.child_id}: daily_rate cannot be negative")
        object.__setattr__(self, "daily_rate", rate)

    @property
    def annual_cost_avoided(self) -> Decimal:
        return annual_cost_avoided(self.daily_rate)


@dataclass(frozen=True)
class FollowUp:
    """A recorded follow-up result (from `followup.recorded`)."""

    child_id: str
    observed_on: date
    living_situation: str

    def __post_init__(self) -> None:
        if self.living_situation not in LIVING_SITUATIONS:
            raise ValueError(f"unknown living_situation {self.living_situation!r}")


@dataclass(frozen=True)
class Targets:
    """A year's targets (`PUT /finance/targets/{fy}`); either may be unset."""

    children_diverted: int | None = None
    gross_savings: Decimal | None = None

    def __post_init__(self) -> None:
        if self.children_diverted is not None and (
            isinstance(self.children_diverted, bool) or not isinstance(self.children_diverted, int)
        ):
            raise TypeError("children_diverted target is a whole number")
        if self.gross_savings is not None:
            object.__setattr__(self, "gross_savings", to_decimal(self.gross_savings))


@dataclass(frozen=True)
class Breakdown:
    """A diverted child who later entered care or custody: the first such follow-up after the closure."""

    child_id: str
    date: date
    living_situation: str


@dataclass(frozen=True)
class YearSummary:
    """A financial year's figures (`GET /finance/summary/{fy}`, the board paper): money rounded to the penny,
    rates as 4-place fractions, targets as set (savings target to the penny), breakdowns oldest first."""

    fy: int
    families_served: int
    children_served: int
    children_closed: int
    children_diverted: int
    success_rate: Decimal | None
    gross_savings_full_year_effect: Decimal
    gross_savings_in_year: Decimal
    average_annual_cost_avoided: Decimal | None
    high_cost_share: Decimal | None
    targets: Targets
    children_diverted_pct_of_target: int | None
    gross_savings_pct_of_target: int | None
    breakdowns: tuple[Breakdown, ...] = ()

    @property
    def financial_year(self) -> str:
        return label(self.fy)

    @property
    def has_data(self) -> bool:
        """False for a year in which no intervention started: its zeros are an absence, not a result."""
        return bool(self.families_served or self.children_served)


def year_summary(
    fy: int,
    counts: tuple[int, int, int, int],
    full_year: Decimal,
    in_year: Decimal,
    average: Decimal | None,
    high_cost_children: int,
    targets: Targets | None,
    breakdowns: Iterable[Breakdown],
) -> YearSummary:
    """The summary of a year from its counts (families, served, closed, diverted) and exact money, rounded
    here and only here: both the reference below and the ledger (ledger.summary_from_totals) come through it."""
    families, served, closed, diverted = counts
    targets = targets or Targets()
    return YearSummary(
        fy=fy,
        families_served=families,
        children_served=served,
        children_closed=closed,
        children_diverted=diverted,
        success_rate=share(diverted, closed),
        gross_savings_full_year_effect=to_pounds(full_year),
        gross_savings_in_year=to_pounds(in_year),
        average_annual_cost_avoided=average,
        high_cost_share=share(high_cost_children, served),
        targets=Targets(targets.children_diverted,
                        None if targets.gross_savings is None else to_pounds(targets.gross_savings)),
        children_diverted_pct_of_target=pct_of_target(diverted, targets.children_diverted),
        gross_savings_pct_of_target=pct_of_target(full_year, targets.gross_savings),
        breakdowns=tuple(sorted(breakdowns, key=lambda b: (b.date, str(b.child_id)))),
    )


@dataclass(frozen=True)
class Diversion:
    """A child diverted in a year, with the intervention credited for it."""

    child_id: str
    intervention: Intervention

    @property
    def started_on(self) -> date:
        return self.intervention.started_on


def in_year_days(started_on: date, fy: int) -> int:
    """Days from the start to 31 March of the year, counting both days."""
    if not contains(fy, started_on):
        raise ValueError(f"{started_on.isoformat()} is not in financial year {label(fy)}")
    return (year_end(fy) - started_on).days + 1


def _index_projections(projections: Mapping[str, Projection] | Iterable[Projection]) -> dict[str, Projection]:
    items = projections.values() if isinstance(projections, Mapping) else projections
    indexed: dict[str, Projection] = {}
    for projection in items:
        if projection.child_id in indexed:
            raise ValueError(f"two projections for child {projection.child_id}")
        indexed[projection.child_id] = projection
    return indexed


def started_in(fy: int, interventions: Iterable[Intervention], as_of: date | None = None) -> list[Intervention]:
    """The interventions a year's figures are made of, oldest first so ties resolve the same way every time."""
    chosen = [
        i for i in interventions if contains(fy, i.started_on) and (as_of is None or i.started_on <= as_of)
    ]
    return sorted(chosen, key=lambda i: (i.started_on, str(i.id)))


def diversions(fy: int, interventions: Iterable[Intervention], as_of: date | None = None) -> dict[str, Diversion]:
    """Each child diverted in the year once, credited to the earliest-starting intervention that diverted them."""
    found: dict[str, Diversion] = {}
    for intervention in started_in(fy, interventions, as_of):
        for child_id in intervention.child_ids:
            if child_id not in found and intervention.diverted(child_id, as_of):
                found[child_id] = Diversion(child_id=child_id, intervention=intervention)
    return found


def _breakdowns(
    diverted: Mapping[str, Diversion],
    interventions: Sequence[Intervention],
    followups: Iterable[FollowUp],
    as_of: date | None,
) -> list[Breakdown]:
    since: dict[str, date] = {}
    for intervention in interventions:
        for child_id in intervention.child_ids:
            if child_id in diverted and intervention.diverted(child_id, as_of):
                closed = intervention.closed_on
                assert closed is not None
                since[child_id] = min(since.get(child_id, closed), closed)
    first: dict[str, FollowUp] = {}
    for followup in followups:
        if followup.child_id not in since or followup.living_situation not in BREAKDOWN_SITUATIONS:
            continue
        if followup.observed_on <= since[followup.child_id]:
            continue
        if as_of is not None and followup.observed_on > as_of:
            continue
        known = first.get(followup.child_id)
        if known is None or followup.observed_on < known.observed_on:
            first[followup.child_id] = followup
    ordered = sorted(first.values(), key=lambda f: (f.observed_on, str(f.child_id)))
    return [Breakdown(f.child_id, f.observed_on, f.living_situation) for f in ordered]


def _savings(
    fy: int, diverted: Mapping[str, Diversion], projections: Mapping[str, Projection]
) -> tuple[Decimal, Decimal]:
    full_year = Decimal(0)
    in_year = Decimal(0)
    for child_id, diversion in diverted.items():
        projection = projections.get(child_id)
        if projection is None:
            continue
        full_year += projection.annual_cost_avoided
        in_year += projection.daily_rate * in_year_days(diversion.started_on, fy)
    return full_year, in_year


def financial_summary(
    fy: int,
    interventions: Iterable[Intervention],
    projections: Mapping[str, Projection] | Iterable[Projection],
    targets: Targets | None,
    followups: Iterable[FollowUp] = (),
    *,
    as_of: date | None = None,
) -> YearSummary:
    """A year's summary computed from every intervention at once: the reference the ledger is tested against."""
    by_child = _index_projections(projections)
    everything = list(interventions)
    year = started_in(fy, everything, as_of)

    families = {i.family_id for i in year}
    served = {c for i in year for c in i.child_ids}
    closed = {c for i in year if i.counts_as_closed(as_of) for c in i.child_ids}
    diverted = diversions(fy, year, as_of)

    full_year, in_year = _savings(fy, diverted, by_child)

    costed = [by_child[c].annual_cost_avoided for c in served if c in by_child]
    average = to_pounds(Fraction(sum(costed, Decimal(0))) / len(costed)) if costed else None
    high_cost = sum(1 for c in served if c in by_child and by_child[c].daily_rate >= HIGH_COST_DAILY_RATE)

    return year_summary(fy, (len(families), len(served), len(closed), len(diverted)), full_year, in_year, average,
                        high_cost, targets, _breakdowns(diverted, year, followups, as_of))


def multi_year_summary(
    from_fy: int,
    to_fy: int,
    interventions: Iterable[Intervention],
    projections: Mapping[str, Projection] | Iterable[Projection],
    targets: Mapping[int, Targets] | None = None,
    followups: Iterable[FollowUp] = (),
    *,
    as_of: date | None = None,
) -> list[YearSummary]:
    """One `financial_summary` per year from `from_fy` to `to_fy` inclusive, oldest first, for trend tables."""
    if from_fy > to_fy:
        raise ValueError("from_fy must not be after to_fy")
    everything = list(interventions)
    by_child = _index_projections(projections)
    seen = list(followups)
    targets = targets or {}
    return [
        financial_summary(fy, everything, by_child, targets.get(fy), seen, as_of=as_of)
        for fy in range(from_fy, to_fy + 1)
    ]


@dataclass(frozen=True)
class ProgrammeValue:
    """One programme's value for money in a year; cost, net savings and cost per outcome are None while no
    cost is entered (an unknown cost is not a zero cost)."""

    programme: str
    families_served: int
    children_served: int
    children_diverted: int
    gross_savings_full_year_effect: Decimal
    gross_savings_in_year: Decimal
    cost: Decimal | None
    net_savings: Decimal | None
    cost_per_successful_outcome: Decimal | None


def programme_row(programme: str, families: int, children: int, diverted: int, full_year: Decimal,
                  in_year: Decimal, cost: Decimal | None) -> ProgrammeValue:
    """A programme's row from its counts and exact money, rounded here and only here."""
    return ProgrammeValue(
        programme=programme,
        families_served=families,
        children_served=children,
        children_diverted=diverted,
        gross_savings_full_year_effect=to_pounds(full_year),
        gross_savings_in_year=to_pounds(in_year),
        cost=None if cost is None else to_pounds(cost),
        net_savings=None if cost is None else to_pounds(full_year - cost),
        cost_per_successful_outcome=None if cost is None or not diverted else to_pounds(Fraction(cost) / diverted),
    )


def programme_value(
    fy: int,
    interventions: Iterable[Intervention],
    projections: Mapping[str, Projection] | Iterable[Projection],
    programme_costs: Mapping[str, Decimal | int | str],
    *,
    as_of: date | None = None,
) -> list[ProgrammeValue]:
    """Value for money per programme for a year.

    Each diverted child is credited to one programme (the earliest-starting intervention that
    diverted them), so the rows add up to the year's summary. Net savings are the full-year
    effect less the programme's cost. A programme with activity but no cost entered shows cost,
    net savings and cost per outcome as None: an unknown cost is not a zero cost.
    """
    unknown = set(programme_costs) - set(PROGRAMMES)
    if unknown:
        raise ValueError(f"unknown programmes {sorted(unknown)}")
    costs = {p: to_decimal(c) for p, c in programme_costs.items()}
    by_child = _index_projections(projections)
    year = started_in(fy, list(interventions), as_of)
    diverted = diversions(fy, year, as_of)

    rows = []
    for programme in PROGRAMMES:
        own = [i for i in year if i.programme == programme]
        if not own and programme not in costs:
            continue
        credited = {c: d for c, d in diverted.items() if d.intervention.programme == programme}
        full_year, in_year = _savings(fy, credited, by_child)
        rows.append(programme_row(programme, len({i.family_id for i in own}),
                                  len({c for i in own for c in i.child_ids}), len(credited), full_year, in_year,
                                  costs.get(programme)))
    return rows
