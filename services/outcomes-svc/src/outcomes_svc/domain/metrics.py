"""Outcome figures for a financial year, exactly as the public contract defines them.

Decisions the contract leaves open, and why:

- The unit is the child-closure: a distinct (intervention, child) pair. A child closed in two
  interventions in the same year counts twice, once per intervention, because each closure is
  a separate piece of work with its own outcome and its own follow-ups. (finance-svc counts
  distinct children instead; it answers a different question, money per child.) The same
  pair given twice (a redelivered event) counts once; the same pair given with different
  facts is a data error and raises.
- A year's closures are those with `closed_on` from 1 April to 31 March inclusive, whatever
  year the intervention started in. `superseded` closures are left out entirely: the
  intervention that replaced the superseded one carries the outcome.
- `sustained[k]` is over the follow-ups of exactly those counted closures: the k-month
  follow-up of a child closed in that year, whenever it was recorded. So the 2023 figure
  for 18 months fills in during 2025 and 2026; it never mixes in closures from other years.
  Only follow-ups with status `recorded` count; a due or overdue one is not yet an answer.
  The caller passes `re_referred` as the effective flag (the recorded answer, or a
  re-referral detected before the result was recorded).
- Counts stay integers and ratios stay exact Fractions until presented; a rate is then
  rounded half up to four places as a Decimal, and is None (not 0) when nothing was counted.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any, TypeVar

from eoc_shared import finyear

from .vocab import AT_HOME, CLOSURE_REASONS, FOLLOWUP_STATUSES, LIVING_SITUATIONS, PROGRAMMES, RECORDED, SUPERSEDED

RATE_PLACES = 4
SUSTAINED_CHECKPOINTS: tuple[int, ...] = (6, 12, 18)


@dataclass(frozen=True)
class Closure:
    """One child's outcome at the close of one intervention (from `intervention.closed`)."""

    intervention_id: Hashable
    child_id: Hashable
    programme: str
    closed_on: date
    reason: str
    living_situation: str

    def __post_init__(self) -> None:
        where = f"closure of intervention {self.intervention_id}"
        if self.programme not in PROGRAMMES:
            raise ValueError(f"{where}: unknown programme {self.programme!r}")
        if not isinstance(self.closed_on, date):
            raise TypeError(f"{where}: closed_on must be a date")
        if self.reason not in CLOSURE_REASONS:
            raise ValueError(f"{where}: unknown closure reason {self.reason!r}")
        if self.living_situation not in LIVING_SITUATIONS:
            raise ValueError(f"{where}: unknown living_situation {self.living_situation!r}")

    @property
    def key(self) -> tuple[Hashable, Hashable]:
        return (self.intervention_id, self.child_id)


@dataclass(frozen=True)
class Followup:
    """A follow-up as the metrics need it; `living_situation` and `re_referred` matter only once recorded."""

    child_id: Hashable
    intervention_id: Hashable
    checkpoint_months: int
    status: str
    living_situation: str | None = None
    re_referred: bool | None = None

    def __post_init__(self) -> None:
        where = f"follow-up at {self.checkpoint_months} months of intervention {self.intervention_id}"
        if self.status not in FOLLOWUP_STATUSES:
            raise ValueError(f"{where}: unknown status {self.status!r}")
        if self.status == RECORDED:
            if self.living_situation not in LIVING_SITUATIONS:
                raise ValueError(f"{where}: a recorded result needs a known living_situation")
            if not isinstance(self.re_referred, bool):
                raise ValueError(f"{where}: a recorded result needs re_referred true or false")

    @property
    def key(self) -> tuple[Hashable, Hashable]:
        return (self.intervention_id, self.child_id)

    @property
    def sustained(self) -> bool:
        return self.living_situation == AT_HOME and self.re_referred is False


R = TypeVar("R", Closure, Followup)


def _coerce(kind: type[R], record: Any) -> R:
    """Take the dataclass itself, a mapping, or any object with the fields as attributes (an ORM row)."""
    if isinstance(record, kind):
        return record
    names = [f.name for f in fields(kind)]
    if isinstance(record, Mapping):
        return kind(**{name: record[name] for name in names if name in record})
    return kind(**{name: getattr(record, name) for name in names if hasattr(record, name)})


def round_half_up(value: Fraction, places: int = RATE_PLACES) -> Decimal:
    """Exact decimal rounding, ties away from zero (how the board papers round)."""
    scaled = abs(value) * 10**places
    digits = floor(scaled + Fraction(1, 2))
    sign = "-" if value < 0 and digits else ""
    return Decimal(f"{sign}{digits}E-{places}")


def rate(numerator: int, denominator: int) -> Decimal | None:
    """A share from 0 to 1 at four places; None rather than a misleading 0 when nothing was counted."""
    if denominator == 0:
        return None
    return round_half_up(Fraction(numerator, denominator))


def _check_year(financial_year: int) -> None:
    if isinstance(financial_year, bool) or not isinstance(financial_year, int):
        raise TypeError("financial_year must be an int such as 2023")
    if not finyear.MIN_YEAR <= financial_year <= finyear.MAX_YEAR:
        raise ValueError(f"financial_year must be from {finyear.MIN_YEAR} to {finyear.MAX_YEAR}")


def _distinct(records: Iterable[R], key: Any) -> dict[Any, R]:
    seen: dict[Any, R] = {}
    for record in records:
        k = key(record)
        if k in seen and seen[k] != record:
            raise ValueError(f"conflicting records for {k!r}")
        seen[k] = record
    return seen


def counted_closures(financial_year: int, closures: Iterable[Any]) -> dict[tuple[Hashable, Hashable], Closure]:
    """The child-closures a year's figures are made of, by (intervention_id, child_id)."""
    _check_year(financial_year)
    everything = _distinct((_coerce(Closure, c) for c in closures), lambda c: c.key)
    return {
        key: c
        for key, c in everything.items()
        if c.reason != SUPERSEDED and finyear.contains(financial_year, c.closed_on)
    }


def _recorded_followups(followups: Iterable[Any]) -> dict[tuple[Hashable, Hashable, int], Followup]:
    coerced = (_coerce(Followup, f) for f in followups)
    recorded = (f for f in coerced if f.status == RECORDED)
    return _distinct(recorded, lambda f: (f.intervention_id, f.child_id, f.checkpoint_months))


def _summary(
    financial_year: int,
    closures: Mapping[tuple[Hashable, Hashable], Closure],
    recorded: Mapping[tuple[Hashable, Hashable, int], Followup],
) -> dict[str, Any]:
    closed = len(closures)
    at_home = sum(1 for c in closures.values() if c.living_situation == AT_HOME)
    sustained: dict[str, Decimal | None] = {}
    for months in SUSTAINED_CHECKPOINTS:
        results = [f for (iid, cid, m), f in recorded.items() if m == months and (iid, cid) in closures]
        sustained[str(months)] = rate(sum(1 for f in results if f.sustained), len(results))
    return {
        "financial_year": financial_year,
        "children_closed": closed,
        "at_home_at_closure": at_home,
        "success_rate": rate(at_home, closed),
        "sustained": sustained,
    }


def outcome_summary(financial_year: int, closures: Iterable[Any], followups: Iterable[Any]) -> dict[str, Any]:
    """`{financial_year, children_closed, at_home_at_closure, success_rate, sustained: {"6", "12", "18"}}`."""
    counted = counted_closures(financial_year, closures)
    return _summary(financial_year, counted, _recorded_followups(followups))


def outcome_summary_by_programme(
    financial_year: int, closures: Iterable[Any], followups: Iterable[Any]
) -> dict[str, dict[str, Any]]:
    """The same summary for each programme of the contract's vocabulary, in its order, each also
    naming its `programme`; a programme with no closures that year is present with zeros and
    None rates, so a table of programmes keeps the same rows from year to year."""
    counted = counted_closures(financial_year, closures)
    recorded = _recorded_followups(followups)
    result: dict[str, dict[str, Any]] = {}
    for programme in PROGRAMMES:
        mine = {key: c for key, c in counted.items() if c.programme == programme}
        result[programme] = {"programme": programme, **_summary(financial_year, mine, recorded)}
    return result
