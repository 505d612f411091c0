"""Outcome figures for a cohort of closures: success at closure, and whether it held at each checkpoint.

Pure: the caller gives the closures (one per child of each intervention closed in the period, not
counting `superseded`) with the follow-up results known for each; this module counts.

- A child counts once: when a child closed more than one intervention in the period, the latest
  closure is theirs (ties broken by intervention id, so the answer never depends on row order).
- `success_rate` = at_home_at_closure / children_closed.
- `sustained[c]` = over the children whose c-month follow-up is recorded, the share `at_home` and not
  `re_referred`. `evidence[c]` also states what the rate rests on: how many follow-ups had fallen due,
  how many were recorded, and a 95 % Wilson interval — so a claim such as "our interventions hold at
  90 %" can be checked, not asserted.
- Rates are fractions 0–1 rounded half up to 4 decimal places; `None` when there is nothing to divide by.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from eoc_shared.vocab import LivingSituation
from outcomes_svc.domain.outcome_terms import CHECKPOINTS, SUMMARY_CHECKPOINTS

FOUR_PLACES = Decimal("0.0001")
Z95 = 1.959963984540054


def rate(numerator: int, denominator: int) -> Decimal | None:
    """numerator / denominator rounded half up to 4 places; None when the denominator is 0."""
    if denominator == 0:
        return None
    if numerator < 0 or denominator < 0 or numerator > denominator:
        raise ValueError("a rate needs 0 <= numerator <= denominator")
    return (Decimal(numerator) / Decimal(denominator)).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[Decimal, Decimal] | None:
    """The Wilson score interval for a proportion (95 % by default), rounded to 4 places."""
    if n == 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low, high = max(0.0, centre - half), min(1.0, centre + half)

    def four(x: float) -> Decimal:
        return Decimal(repr(x)).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)

    return four(low), four(high)


@dataclass(frozen=True)
class Result:
    """A recorded follow-up."""

    living_situation: str
    re_referred: bool

    @property
    def sustained(self) -> bool:
        return self.living_situation == LivingSituation.AT_HOME.value and not self.re_referred


@dataclass(frozen=True)
class ChildClosure:
    """One child of one closed intervention, with its follow-ups: checkpoint -> result (recorded ones) and
    the due dates of every checkpoint."""

    child_id: str
    intervention_id: str
    programme: str
    closed_on: date
    living_situation: str
    results: Mapping[int, Result] = field(default_factory=dict)
    due: Mapping[int, date] = field(default_factory=dict)


def latest_per_child(closures: Iterable[ChildClosure]) -> list[ChildClosure]:
    latest: dict[str, ChildClosure] = {}
    for c in closures:
        known = latest.get(c.child_id)
        if known is None or (c.closed_on, c.intervention_id) > (known.closed_on, known.intervention_id):
            latest[c.child_id] = c
    return sorted(latest.values(), key=lambda c: c.child_id)


@dataclass(frozen=True)
class CheckpointEvidence:
    """What a checkpoint's rate rests on: follow-ups fallen due, recorded, sustained, still awaited."""

    fallen_due: int
    recorded: int
    sustained: int
    not_recorded: int
    rate: Decimal | None
    ci95: tuple[Decimal, Decimal] | None


@dataclass(frozen=True)
class CohortFigures:
    """The figures of one cohort (a financial year's closures, or one programme's among them)."""

    children_closed: int
    at_home_at_closure: int
    success_rate: Decimal | None
    sustained: dict[str, Decimal | None]
    evidence: dict[str, CheckpointEvidence]


def summarise(closures: Iterable[ChildClosure], as_of: date) -> CohortFigures:
    """The figures for one cohort (a financial year, or one programme within it)."""
    cohort = latest_per_child(closures)
    closed = len(cohort)
    at_home = sum(1 for c in cohort if c.living_situation == LivingSituation.AT_HOME.value)
    evidence: dict[str, CheckpointEvidence] = {}
    for checkpoint in CHECKPOINTS:
        recorded = [c.results[checkpoint] for c in cohort if checkpoint in c.results]
        held = sum(1 for r in recorded if r.sustained)
        fallen_due = sum(1 for c in cohort if checkpoint in c.due and c.due[checkpoint] <= as_of)
        awaited = sum(1 for c in cohort if checkpoint not in c.results and checkpoint in c.due
                      and c.due[checkpoint] <= as_of)
        evidence[str(checkpoint)] = CheckpointEvidence(fallen_due, len(recorded), held, awaited,
                                                       rate(held, len(recorded)), wilson_interval(held, len(recorded)))
    return CohortFigures(
        children_closed=closed,
        at_home_at_closure=at_home,
        success_rate=rate(at_home, closed),
        sustained={str(c): evidence[str(c)].rate for c in SUMMARY_CHECKPOINTS},
        evidence=evidence,
    )
