"""Kaplan–Meier against published and hand-computed examples."""

from __future__ import annotations

from fractions import Fraction

import pytest

from outcomes_svc.domain.kaplan_meier import at_risk_at, kaplan_meier, survival_at

# Freireich et al. (1963), 6-MP arm: weeks of remission; "*" = censored (still in remission).
SIX_MP = "6,6,6,6*,7,9*,10,10*,11*,13,16,17*,19*,20*,22,23,25*,32*,32*,34*,35*"


def parse(data: str) -> list[tuple[int, bool]]:
    return [(int(t.rstrip("*")), not t.endswith("*")) for t in data.split(",")]


def test_freireich_6mp_matches_the_published_estimate() -> None:
    steps = [s for s in kaplan_meier(parse(SIX_MP)) if s.events]
    table = [(s.time, s.at_risk, s.events, round(s.survival, 3)) for s in steps]
    assert table == [
        (6, 21, 3, 0.857), (7, 17, 1, 0.807), (10, 15, 1, 0.753), (13, 12, 1, 0.690),
        (16, 11, 1, 0.627), (22, 7, 1, 0.538), (23, 6, 1, 0.448),
    ]
    # Greenwood standard errors as published (e.g. Klein & Moeschberger, table 4.1).
    assert [round(s.std_error, 3) for s in steps] == pytest.approx(
        [0.076, 0.087, 0.096, 0.107, 0.114, 0.128, 0.135], abs=0.0011)


def test_a_small_example_by_hand() -> None:
    # times 1, 2*, 3, 3, 4*: at 1, 1 of 5 → 4/5; at 3, 2 of 3 → 4/5 × 1/3 = 4/15
    steps = kaplan_meier([(1, True), (2, False), (3, True), (3, True), (4, False)])
    assert [(s.time, s.at_risk, s.events, s.censored) for s in steps] == [
        (1, 5, 1, 0), (2, 4, 0, 1), (3, 3, 2, 0), (4, 1, 0, 1)]
    assert steps[0].survival == pytest.approx(0.8)
    assert steps[1].survival == pytest.approx(0.8)      # a censoring does not move the curve
    assert steps[2].survival == pytest.approx(4 / 15)
    assert survival_at(steps, 0) == 1.0
    assert survival_at(steps, Fraction(5, 2)) == pytest.approx(0.8)
    assert survival_at(steps, 60) == pytest.approx(4 / 15)


def test_censoring_tied_with_an_event_counts_as_at_risk() -> None:
    steps = kaplan_meier([(2, True), (2, False), (5, True)])
    assert (steps[0].at_risk, steps[0].events, steps[0].censored) == (3, 1, 1)
    assert steps[0].survival == pytest.approx(2 / 3)
    assert steps[1].at_risk == 1 and steps[1].survival == 0.0


def test_at_risk_counts_those_still_followed() -> None:
    obs = parse(SIX_MP)
    assert at_risk_at(obs, 0) == 21
    assert at_risk_at(obs, 10) == 15
    assert at_risk_at(obs, 36) == 0


def test_nothing_observed_and_bad_times() -> None:
    assert kaplan_meier([]) == []
    assert survival_at([], 12) == 1.0
    with pytest.raises(ValueError):
        kaplan_meier([(-1, True)])
