"""The Kaplan–Meier product-limit estimate, small and exact (no library).

Each observation is `(time, event)`: `event` True when the outcome broke at `time`, False when the
child was last seen without a break at `time` (censored). At each distinct event time t,
S(t) = S(t−) × (1 − d/n) with d the events at t and n the children still at risk just before t
(time ≥ t). Censorings tied with events at the same time count as at risk at that time (the usual
convention: the event is taken to happen first). Greenwood's formula gives the standard error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

Time = int | float | Fraction


@dataclass(frozen=True)
class Step:
    time: Time
    at_risk: int
    events: int
    censored: int
    survival: float
    std_error: float | None


def kaplan_meier(observations: Iterable[tuple[Time, bool]]) -> list[Step]:
    """One step per distinct time at which something happened (events or censorings), earliest first.

    `survival` changes only at event times; a censoring-only step carries the survival unchanged.
    """
    obs = sorted((t, bool(e)) for t, e in observations)
    for t, _ in obs:
        if t < 0:
            raise ValueError("times cannot be negative")
    steps: list[Step] = []
    at_risk = len(obs)
    survival = 1.0
    greenwood = 0.0
    i = 0
    while i < len(obs):
        t = obs[i][0]
        events = censored = 0
        while i < len(obs) and obs[i][0] == t:
            if obs[i][1]:
                events += 1
            else:
                censored += 1
            i += 1
        if events:
            survival *= 1 - events / at_risk
            greenwood = greenwood + events / (at_risk * (at_risk - events)) if at_risk > events else math.inf
        std_error = survival * math.sqrt(greenwood) if math.isfinite(greenwood) else None
        steps.append(Step(t, at_risk, events, censored, survival, std_error))
        at_risk -= events + censored
    return steps


def survival_at(steps: Sequence[Step], time: Time) -> float:
    """S(time): the estimate after every event at or before `time` (1.0 before the first event)."""
    value = 1.0
    for step in steps:
        if step.time > time:
            break
        value = step.survival
    return value


def at_risk_at(observations: Iterable[tuple[Time, bool]], time: Time) -> int:
    """Children still followed and unbroken just before `time` (observed time ≥ `time`)."""
    return sum(1 for t, _ in observations if t >= time)
