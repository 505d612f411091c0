"""The equity funnel (contract v1.1): children through referred → eligible → started → closed at home →
at home at 12 months, per group, each count and rate suppressed as official statistics are."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from referral_svc.domain.groupings import shown_count, shown_rate

STAGES = ("referred", "eligible", "started", "closed_at_home", "at_home_12m")


@dataclass(frozen=True)
class ChildJourney:
    """How far one child referred in the year got; each stage implies the one before it."""

    group: str
    eligible: bool
    started: bool
    closed_at_home: bool
    at_home_12m: bool

    def reached(self) -> tuple[bool, ...]:
        # A stage counts only when every stage before it was reached: the funnel never widens.
        stages = (True, self.eligible, self.started, self.closed_at_home, self.at_home_12m)
        out: list[bool] = []
        for s in stages:
            out.append(s and (not out or out[-1]))
        return tuple(out)


@dataclass(frozen=True)
class FunnelRow:
    """One group's counts as published ('<5' for 1–4) and rates (None when the denominator is under 10)."""

    group: str
    counts: dict[str, int | str]
    rates: dict[str, Decimal | None]


def _row(group: str, raw: list[int]) -> FunnelRow:
    counts = {stage: shown_count(n) for stage, n in zip(STAGES, raw)}
    rates = {STAGES[i]: shown_rate(raw[i], raw[i - 1]) for i in range(1, len(STAGES))}
    return FunnelRow(group, counts, rates)


def funnel(journeys: Iterable[ChildJourney], groups: Iterable[str] = ()) -> tuple[list[FunnelRow], FunnelRow]:
    """Rows per group (the given groups first, in order, then any other seen, sorted) and the total."""
    tallies: dict[str, list[int]] = {g: [0] * len(STAGES) for g in groups}
    total = [0] * len(STAGES)
    for j in journeys:
        tally = tallies.setdefault(j.group, [0] * len(STAGES))
        for i, reached in enumerate(j.reached()):
            if reached:
                tally[i] += 1
                total[i] += 1
    ordered = list(dict.fromkeys([*groups]))
    ordered += sorted(g for g in tallies if g not in ordered)
    return [_row(g, tallies[g]) for g in ordered], _row("total", total)
