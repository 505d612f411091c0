"""How long children stay at home after an intervention closes: an exact Kaplan–Meier estimate.

An observation is `(duration_months, event)`: months from closure to a care entry or a
re-referral (`event` true), or to the last day the child was followed without either
(`event` false, censored). The estimate is kept as an exact Fraction, so the same data give
the same figures everywhere; presentation rounds it.

Conventions (the textbook ones, so published tables are reproduced exactly):
- at a time shared by events and censorings, the censored children count as at risk;
- a table row exists at month 0 and at every distinct event time up to the horizon, and its
  `censored` is the number censored from that row's time up to (not including) the next
  row's time, or up to the horizon for the last row; so each row's `at_risk` is the
  previous row's less its `events` and `censored` (Kleinbaum & Klein's layout).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from numbers import Real
from typing import Any

from .metrics import round_half_up

HORIZON_MONTHS = 60
DAYS_PER_MONTH = Fraction(36525, 1200)


def months_between(start: date, end: date) -> Fraction:
    """Signed months from `start` to `end`: days / (365.25 / 12), exactly.

    An average month of 30.4375 days, not calendar months: durations must be comparable and
    additive, which calendar months (28 to 31 days) are not. Checkpoints use calendar months,
    so a 6-month follow-up falls 5.95 to 6.05 months after closure on this scale.
    """
    return Fraction((end - start).days) / DAYS_PER_MONTH


def observation(closed_on: date, broken_on: date | None, as_of: date) -> tuple[Fraction, bool]:
    """One child's `(duration_months, event)` as known on `as_of`: the time to the first care entry
    or re-referral if one happened by then, else censored at `as_of`."""
    if as_of < closed_on:
        raise ValueError("as_of is before the closure")
    if broken_on is not None and broken_on < closed_on:
        raise ValueError("the outcome cannot break before the closure")
    if broken_on is not None and broken_on <= as_of:
        return months_between(closed_on, broken_on), True
    return months_between(closed_on, as_of), False


@dataclass(frozen=True)
class Step:
    """One row of the Kaplan–Meier table."""

    month: Real
    at_risk: int
    events: int
    censored: int
    survival: Fraction

    def as_dict(self, places: int = 4) -> dict[str, Any]:
        return {
            "month": self.month,
            "at_risk": self.at_risk,
            "events": self.events,
            "censored": self.censored,
            "survival": round_half_up(self.survival, places),
        }


@dataclass(frozen=True)
class MonthPoint:
    """The estimate at a whole month, with the number still followed then (the 'number at risk' under a plot)."""

    month: int
    at_risk: int
    survival: Fraction

    def as_dict(self, places: int = 4) -> dict[str, Any]:
        return {"month": self.month, "at_risk": self.at_risk, "survival": round_half_up(self.survival, places)}


def _checked(observations: Iterable[tuple[Real, bool]]) -> list[tuple[Real, bool]]:
    checked: list[tuple[Real, bool]] = []
    for duration, event in observations:
        if isinstance(duration, bool) or not isinstance(duration, Real):
            raise TypeError(f"duration must be a number of months, not {duration!r}")
        if not math.isfinite(duration) or duration < 0:
            raise ValueError(f"duration must be finite and not negative, not {duration!r}")
        if not isinstance(event, bool):
            raise TypeError(f"event must be true or false, not {event!r}")
        checked.append((duration, event))
    return checked


def _check_horizon(horizon: int) -> None:
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 0:
        raise ValueError("horizon must be a whole number of months, 0 or more")


def kaplan_meier(observations: Iterable[tuple[Real, bool]], horizon: int = HORIZON_MONTHS) -> list[Step]:
    """The table for months 0..horizon: a row at 0 and at each distinct event time."""
    _check_horizon(horizon)
    data = _checked(observations)
    times: list[Real] = [0, *sorted({d for d, event in data if event and 0 < d <= horizon})]
    steps: list[Step] = []
    survival = Fraction(1)
    for i, t in enumerate(times):
        at_risk = sum(1 for d, _ in data if d >= t)
        events = sum(1 for d, event in data if event and d == t)
        if i + 1 < len(times):
            nxt = times[i + 1]
            censored = sum(1 for d, event in data if not event and t <= d < nxt)
        else:
            censored = sum(1 for d, event in data if not event and t <= d <= horizon)
        if events:
            survival *= Fraction(at_risk - events, at_risk)
        steps.append(Step(t, at_risk, events, censored, survival))
    return steps


def survival_curve_monthly(
    observations: Iterable[tuple[Real, bool]], horizon: int = HORIZON_MONTHS
) -> list[MonthPoint]:
    """The estimate at each whole month 0..horizon (a step function read at that month, so an
    event at exactly month m already counts) and how many were still followed at m."""
    _check_horizon(horizon)
    data = _checked(observations)
    steps = kaplan_meier(data, horizon)
    points: list[MonthPoint] = []
    for month in range(horizon + 1):
        survival = Fraction(1)
        for step in steps:
            if step.month <= month:
                survival = step.survival
        points.append(MonthPoint(month, sum(1 for d, _ in data if d >= month), survival))
    return points
