"""Outcome figures on a known cohort; rates rounded half up to 4 places; Wilson intervals as published."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from outcomes_svc.domain.outcome_rates import ChildClosure, Result, rate, summarise, wilson_interval

D = date.fromisoformat


def closure(child: str, living: str, results: dict[int, tuple[str, bool]] | None = None,
            closed_on: str = "2023-06-30", intervention: str = "i1", programme: str = "MST") -> ChildClosure:
    due = {6: D("2023-12-30"), 12: D("2024-06-30"), 18: D("2024-12-30"), 24: D("2025-06-30")}
    return ChildClosure(child, intervention, programme, D(closed_on), living,
                        {k: Result(*v) for k, v in (results or {}).items()}, due)


COHORT = [
    # an earlier closure of c1 in the same year: the latest one is c1's
    closure("c1", "in_care", closed_on="2023-05-01", intervention="i0"),
    closure("c1", "at_home", {6: ("at_home", False), 12: ("at_home", False), 18: ("in_care", False)}),
    closure("c2", "at_home", {6: ("at_home", True)}),        # at home but re-referred: not sustained
    closure("c3", "in_care", {6: ("at_home", False)}),       # came home after closure: sustained
    closure("c4", "at_home"),                                # nothing recorded yet
    closure("c5", "other", {6: ("other", False)}),
]


def test_summary_of_a_known_cohort() -> None:
    figures = summarise(COHORT, as_of=D("2024-07-31"))
    assert figures.children_closed == 5
    assert figures.at_home_at_closure == 3
    assert figures.success_rate == Decimal("0.6")
    # 6 months: c1, c2, c3, c5 recorded; c1 and c3 at home and not re-referred
    assert figures.sustained == {"6": Decimal("0.5"), "12": Decimal("1"), "18": Decimal("0")}
    six = figures.evidence["6"]
    assert (six.fallen_due, six.recorded, six.sustained, six.not_recorded) == (5, 4, 2, 1)
    assert six.ci95 == (Decimal("0.1500"), Decimal("0.8500"))
    twelve = figures.evidence["12"]
    assert (twelve.fallen_due, twelve.recorded, twelve.not_recorded) == (5, 1, 4)
    # 18 months: recorded before it fell due (a care entry counts whenever it is known)
    assert figures.evidence["18"].recorded == 1 and figures.evidence["18"].fallen_due == 0
    assert summarise(COHORT, as_of=D("2025-01-01")).evidence["18"].not_recorded == 4


def test_nothing_closed_gives_nulls_not_zeroes() -> None:
    figures = summarise([], as_of=D("2024-01-01"))
    assert (figures.children_closed, figures.success_rate) == (0, None)
    assert figures.sustained == {"6": None, "12": None, "18": None}


@pytest.mark.parametrize(("k", "n", "expected"), [
    (2, 3, "0.6667"), (1, 3, "0.3333"), (1, 32, "0.0313"),   # 0.03125 rounds half up, not to even
    (9, 10, "0.9"), (0, 7, "0"), (7, 7, "1"), (1, 16, "0.0625"),
])
def test_rates_round_half_up_to_four_places(k: int, n: int, expected: str) -> None:
    assert rate(k, n) == Decimal(expected)


def test_rate_bounds() -> None:
    assert rate(0, 0) is None
    with pytest.raises(ValueError):
        rate(3, 2)


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    # Newcombe (1998), Statistics in Medicine 17:857, table I, method 3 (Wilson score)
    (81, 263, "0.2553", "0.3662"), (15, 148, "0.0624", "0.1605"), (0, 20, "0.0000", "0.1611"),
    (1, 29, "0.0061", "0.1718"),
])
def test_wilson_interval_matches_newcombe(k: int, n: int, low: str, high: str) -> None:
    assert wilson_interval(k, n) == (Decimal(low), Decimal(high))
    assert wilson_interval(0, 0) is None
