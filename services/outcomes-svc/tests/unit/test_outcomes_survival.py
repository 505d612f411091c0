"""Kaplan–Meier against a published table and a small example worked by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomes_svc.domain.metrics import round_half_up
from outcomes_svc.domain.survival import kaplan_meier, months_between, observation, survival_curve_monthly

D = date.fromisoformat

# Freireich et al. (Blood 1963) 6-MP group, remission lengths in weeks, * = censored, as used by
# Gehan (1965), Kalbfleisch & Prentice and Kleinbaum & Klein (Survival Analysis, ch. 2):
# 6,6,6,6*,7,9*,10,10*,11*,13,16,17*,19*,20*,22,23,25*,32*,32*,34*,35*
FREIREICH_6MP = [
    (6, True), (6, True), (6, True), (6, False), (7, True), (9, False), (10, True), (10, False),
    (11, False), (13, True), (16, True), (17, False), (19, False), (20, False), (22, True),
    (23, True), (25, False), (32, False), (32, False), (34, False), (35, False),
]


def rows(steps):  # type: ignore[no-untyped-def]
    return [(s.month, s.at_risk, s.events, s.censored, s.survival) for s in steps]


def test_freireich_6mp_table_exactly() -> None:
    assert rows(kaplan_meier(FREIREICH_6MP)) == [
        (0, 21, 0, 0, Fraction(1)),
        (6, 21, 3, 1, Fraction(6, 7)),
        (7, 17, 1, 1, Fraction(96, 119)),
        (10, 15, 1, 2, Fraction(64, 85)),
        (13, 12, 1, 0, Fraction(176, 255)),
        (16, 11, 1, 3, Fraction(32, 51)),
        (22, 7, 1, 0, Fraction(64, 119)),
        (23, 6, 1, 5, Fraction(160, 357)),
    ]


def test_freireich_6mp_published_values() -> None:
    published = ["0.857", "0.807", "0.753", "0.690", "0.627", "0.538", "0.448"]
    steps = kaplan_meier(FREIREICH_6MP)[1:]
    assert [str(round_half_up(s.survival, 3)) for s in steps] == published
    assert [s.as_dict()["survival"] for s in steps] == [
        Decimal(v) for v in ["0.8571", "0.8067", "0.7529", "0.6902", "0.6275", "0.5378", "0.4482"]
    ]


# Hand example, months: 2 event, 3 censored, 5 event, 5 event, 5 censored, 8 event,
# 10 censored, 70 event (beyond the 60-month horizon).
#   month 0: 8 at risk, S = 1
#   month 2: 8 at risk, 1 event, S = 7/8; censored in [2, 5): the 3
#   month 5: 6 at risk (5, 5, 5, 8, 10, 70), 2 events, S = 7/8 x 4/6 = 7/12; censored in [5, 8): one 5
#   month 8: 3 at risk (8, 10, 70), 1 event, S = 7/12 x 2/3 = 7/18; censored in [8, 60]: the 10
HAND = [(2, True), (3, False), (5, True), (5, True), (5, False), (8, True), (10, False), (70, True)]


def test_hand_example_table() -> None:
    assert rows(kaplan_meier(HAND)) == [
        (0, 8, 0, 0, Fraction(1)),
        (2, 8, 1, 1, Fraction(7, 8)),
        (5, 6, 2, 1, Fraction(7, 12)),
        (8, 3, 1, 1, Fraction(7, 18)),
    ]


def test_hand_example_monthly() -> None:
    points = survival_curve_monthly(HAND)
    assert [p.month for p in points] == list(range(61))
    expected = {
        0: (8, Fraction(1)),
        1: (8, Fraction(1)),
        2: (8, Fraction(7, 8)),
        3: (7, Fraction(7, 8)),
        4: (6, Fraction(7, 8)),
        5: (6, Fraction(7, 12)),
        6: (3, Fraction(7, 12)),
        8: (3, Fraction(7, 18)),
        9: (2, Fraction(7, 18)),
        10: (2, Fraction(7, 18)),
        11: (1, Fraction(7, 18)),
        60: (1, Fraction(7, 18)),
    }
    assert {m: (points[m].at_risk, points[m].survival) for m in expected} == expected
    assert points[5].as_dict() == {"month": 5, "at_risk": 6, "survival": Decimal("0.5833")}


def test_fractional_durations_between_whole_months() -> None:
    data = [(Fraction(5, 2), True), (2.5, False), (Fraction(7, 2), True)]
    assert rows(kaplan_meier(data)) == [
        (0, 3, 0, 0, Fraction(1)),
        (Fraction(5, 2), 3, 1, 1, Fraction(2, 3)),
        (Fraction(7, 2), 1, 1, 0, Fraction(0)),
    ]
    points = survival_curve_monthly(data, horizon=4)
    assert [(p.month, p.at_risk, p.survival) for p in points] == [
        (0, 3, 1), (1, 3, 1), (2, 3, 1), (3, 1, Fraction(2, 3)), (4, 0, 0),
    ]


def test_an_event_on_the_day_of_closure() -> None:
    assert rows(kaplan_meier([(0, True), (1, False)])) == [(0, 2, 1, 1, Fraction(1, 2))]


def test_no_events_leaves_survival_at_one() -> None:
    assert rows(kaplan_meier([(3, False), (61, False)])) == [(0, 2, 0, 1, Fraction(1))]
    assert rows(kaplan_meier([])) == [(0, 0, 0, 0, Fraction(1))]


@pytest.mark.parametrize("bad", [[(-1, True)], [(float("nan"), True)], [(float("inf"), False)]])
def test_impossible_durations_are_refused(bad: list) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError):
        kaplan_meier(bad)


@pytest.mark.parametrize("bad", [[(1, 1)], [(True, True)], [("3", True)]])
def test_wrong_types_are_refused(bad: list) -> None:  # type: ignore[type-arg]
    with pytest.raises(TypeError):
        kaplan_meier(bad)


observations = st.lists(st.tuples(st.integers(0, 80), st.booleans()), max_size=40)


@given(observations)
def test_each_row_leaves_the_next_rows_at_risk(data: list[tuple[int, bool]]) -> None:
    steps = kaplan_meier(data)
    for before, after in zip(steps, steps[1:]):
        assert after.at_risk == before.at_risk - before.events - before.censored
        assert after.survival <= before.survival
    last = steps[-1]
    assert last.at_risk - last.events - last.censored == sum(1 for d, _ in data if d > 60)


@given(st.lists(st.integers(0, 60), min_size=1, max_size=40))
def test_without_censoring_it_is_the_share_not_yet_broken(durations: list[int]) -> None:
    points = survival_curve_monthly([(d, True) for d in durations])
    for p in points:
        assert p.survival == Fraction(sum(1 for d in durations if d > p.month), len(durations))


def test_months_between() -> None:
    assert months_between(D("2020-01-01"), D("2024-01-01")) == 48  # 1461 days, four average years
    assert months_between(D("2024-01-01"), D("2020-01-01")) == -48
    assert months_between(D("2023-06-30"), D("2023-06-30")) == 0
    assert months_between(D("2023-01-01"), D("2024-01-01")) == Fraction(365 * 12 * 4, 1461)
    assert float(months_between(D("2023-08-31"), D("2024-02-29"))) == pytest.approx(182 / 30.4375)


def test_observation() -> None:
    assert observation(D("2020-01-01"), D("2024-01-01"), D("2025-01-01")) == (Fraction(48), True)
    assert observation(D("2020-01-01"), D("2026-01-01"), D("2024-01-01")) == (Fraction(48), False)
    assert observation(D("2020-01-01"), None, D("2024-01-01")) == (Fraction(48), False)
    with pytest.raises(ValueError):
        observation(D("2020-01-01"), None, D("2019-12-31"))
    with pytest.raises(ValueError):
        observation(D("2020-01-01"), D("2019-12-31"), D("2021-01-01"))
