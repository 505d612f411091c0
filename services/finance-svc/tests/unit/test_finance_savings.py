"""Savings method v1 against figures worked out by hand.

The data set (no personal data: ids only) covers 2022/23 to 2024/25. 2023/24 runs from
1 April 2023 to 31 March 2024 and contains 29 February 2024.

| intervention | family | children | programme | started | closed | reason | outcomes |
|---|---|---|---|---|---|---|---|
| I1 | F1 | C1, C2 | FGC | 2023-05-10 | 2023-06-01 | superseded | both at_home |
| I2 | F1 | C1, C2 | MST | 2023-06-01 | 2023-11-30 | completed | C1 at_home, C2 in_care |
| I3 | F2 | C3 | MST_BSF | 2023-10-01 | 2024-05-15 (next year) | completed | at_home |
| I4 | F3 | C4 | FFT_CW | 2023-07-03 | 2023-08-31 | disengaged | at_home |
| I5 | F3 | C4, C5 | FGC | 2023-12-01 | 2024-02-29 | completed | both at_home |
| I6 | F4 | C6 | OTHER_PREVENTION | 2024-02-01 | open | | |
| I7 | F5 | C7 | FFT_REUNIFICATION | 2023-03-20 (2022/23) | 2023-06-30 | completed | at_home |
| I8 | F1 | C2 | MST | 2024-04-10 (2024/25) | 2024-10-10 | completed | at_home |

Daily rates: C1 1200.00, C2 150.00, C3 1000.00, C4 80.01, C5 999.99, C6 120.11, C7 70.00.
"""

from __future__ import annotations

import random
from dataclasses import asdict
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eoc_shared.finyear import year_end, year_start
from finance_svc.domain.savings import (
    FollowUp,
    Intervention,
    Projection,
    Targets,
    diversions,
    financial_summary,
    in_year_days,
    multi_year_summary,
    programme_value,
)

D = Decimal

INTERVENTIONS = [
    Intervention("I1", "F1", ("C1", "C2"), "FGC", date(2023, 5, 10), date(2023, 6, 1), "superseded",
                 {"C1": "at_home", "C2": "at_home"}),
    Intervention("I2", "F1", ("C1", "C2"), "MST", date(2023, 6, 1), date(2023, 11, 30), "completed",
                 {"C1": "at_home", "C2": "in_care"}),
    Intervention("I3", "F2", ("C3",), "MST_BSF", date(2023, 10, 1), date(2024, 5, 15), "completed",
                 {"C3": "at_home"}),
    Intervention("I4", "F3", ("C4",), "FFT_CW", date(2023, 7, 3), date(2023, 8, 31), "disengaged",
                 {"C4": "at_home"}),
    Intervention("I5", "F3", ("C4", "C5"), "FGC", date(2023, 12, 1), date(2024, 2, 29), "completed",
                 {"C4": "at_home", "C5": "at_home"}),
    Intervention("I6", "F4", ("C6",), "OTHER_PREVENTION", date(2024, 2, 1)),
    Intervention("I7", "F5", ("C7",), "FFT_REUNIFICATION", date(2023, 3, 20), date(2023, 6, 30), "completed",
                 {"C7": "at_home"}),
    Intervention("I8", "F1", ("C2",), "MST", date(2024, 4, 10), date(2024, 10, 10), "completed",
                 {"C2": "at_home"}),
]

PROJECTIONS = [
    Projection("C1", "K2", D("1200.00")),
    Projection("C2", "U6", D("150.00")),
    Projection("C3", "K2", D("1000.00")),
    Projection("C4", "U6", D("80.01")),
    Projection("C5", "R1", D("999.99")),
    Projection("C6", "U6", D("120.11")),
    Projection("C7", "U4", D("70.00")),
]

FOLLOWUPS = [
    FollowUp("C1", date(2024, 5, 30), "at_home"),
    FollowUp("C2", date(2024, 5, 30), "custody"),
    FollowUp("C3", date(2024, 11, 15), "in_care"),
    FollowUp("C5", date(2025, 2, 28), "in_care"),
    FollowUp("C5", date(2024, 8, 29), "custody"),
]

TARGETS_2023 = Targets(children_diverted=32, gross_savings=D("1500000"))


def test_summary_2023_every_field_by_hand() -> None:
    summary = financial_summary(2023, INTERVENTIONS, PROJECTIONS, TARGETS_2023, FOLLOWUPS)
    assert summary.financial_year == "2023/24"
    assert asdict(summary) == {
        "fy": 2023,
        # I1..I6 started in 2023/24; superseded I1 still serves F1, C1 and C2.
        "families_served": 4,
        # C1 is in I1 and I2, C4 in I4 and I5: each counted once.
        "children_served": 6,
        # I2 (C1, C2), I3 (C3, closed in 2024/25 but started in 2023/24), I4 and I5 (C4, C5); I6 is open.
        "children_closed": 5,
        # C1 via I2, C3 via I3, C4 via I4 and I5 (once), C5 via I5. C2 was at home only when
        # the superseded I1 closed, so is not diverted.
        "children_diverted": 4,
        "success_rate": D("0.8000"),
        # 365 x (1200.00 + 1000.00 + 80.01 + 999.99) = 438000 + 365000 + 29203.65 + 364996.35
        "gross_savings_full_year_effect": D("1197200.00"),
        # C1 1200.00 x 305 (2023-06-01..2024-03-31, 29 Feb included)    = 366000.00
        # C3 1000.00 x 183 (2023-10-01..2024-03-31)                       = 183000.00
        # C4   80.01 x 273 (earliest start, I4 2023-07-03..2024-03-31)   =  21842.73
        # C5  999.99 x 122 (2023-12-01..2024-03-31)                       = 121998.78
        "gross_savings_in_year": D("692841.51"),
        # (438000 + 54750 + 365000 + 29203.65 + 364996.35 + 43840.15) / 6 = 1295790.15 / 6
        # = 215965.025 exactly: half up gives .03 (half-even would give .02).
        "average_annual_cost_avoided": D("215965.03"),
        # C1 (1200.00) and C3 (exactly 1000.00) of 6 served; C5 at 999.99 is not high cost.
        "high_cost_share": D("0.3333"),
        "targets": {"children_diverted": 32, "gross_savings": D("1500000.00")},
        # 4 / 32 = 12.5 % -> 13 (half up; half-even would give 12).
        "children_diverted_pct_of_target": 13,
        # 1197200 / 1500000 = 79.81 % -> 80.
        "gross_savings_pct_of_target": 80,
        # C5's first in_care/custody follow-up after I5 closed, then C3's after I3 closed.
        # C2's custody follow-up is not listed: C2 was not diverted in 2023/24.
        "breakdowns": (
            {"child_id": "C5", "date": date(2024, 8, 29), "living_situation": "custody"},
            {"child_id": "C3", "date": date(2024, 11, 15), "living_situation": "in_care"},
        ),
    }


def test_money_is_two_places_and_shares_four() -> None:
    summary = financial_summary(2023, INTERVENTIONS, PROJECTIONS, TARGETS_2023, FOLLOWUPS)
    for key in ("gross_savings_full_year_effect", "gross_savings_in_year", "average_annual_cost_avoided"):
        assert getattr(summary, key).as_tuple().exponent == -2, key
    assert summary.targets.gross_savings.as_tuple().exponent == -2
    for key in ("success_rate", "high_cost_share"):
        assert getattr(summary, key).as_tuple().exponent == -4, key


def test_an_intervention_counts_in_the_year_it_started_not_the_year_it_closed() -> None:
    rows = multi_year_summary(2022, 2024, INTERVENTIONS, PROJECTIONS, {2023: TARGETS_2023}, FOLLOWUPS)
    assert [r.financial_year for r in rows] == ["2022/23", "2023/24", "2024/25"]
    assert rows[1] == financial_summary(2023, INTERVENTIONS, PROJECTIONS, TARGETS_2023, FOLLOWUPS)
    assert asdict(rows[0]) == {
        "fy": 2022,
        "families_served": 1,
        "children_served": 1,
        "children_closed": 1,
        "children_diverted": 1,
        "success_rate": D("1.0000"),
        "gross_savings_full_year_effect": D("25550.00"),
        # 2023-03-20..2023-03-31 = 12 days x 70.00
        "gross_savings_in_year": D("840.00"),
        "average_annual_cost_avoided": D("25550.00"),
        "high_cost_share": D("0.0000"),
        "targets": {"children_diverted": None, "gross_savings": None},
        "children_diverted_pct_of_target": None,
        "gross_savings_pct_of_target": None,
        "breakdowns": (),
    }
    assert asdict(rows[2]) == {
        "fy": 2024,
        "families_served": 1,
        "children_served": 1,
        "children_closed": 1,
        "children_diverted": 1,
        "success_rate": D("1.0000"),
        "gross_savings_full_year_effect": D("54750.00"),
        # 2024-04-10..2025-03-31 = 356 days (no 29 February) x 150.00
        "gross_savings_in_year": D("53400.00"),
        "average_annual_cost_avoided": D("54750.00"),
        "high_cost_share": D("0.0000"),
        "targets": {"children_diverted": None, "gross_savings": None},
        "children_diverted_pct_of_target": None,
        "gross_savings_pct_of_target": None,
        # C2's custody follow-up (2024-05-30) came before I8 diverted them on 2024-10-10.
        "breakdowns": (),
    }


def test_the_position_as_known_on_a_day() -> None:
    summary = financial_summary(2023, INTERVENTIONS, PROJECTIONS, None, FOLLOWUPS, as_of=date(2024, 3, 31))
    assert summary.children_served == 6
    assert summary.children_closed == 4
    assert summary.children_diverted == 3
    assert summary.success_rate == D("0.7500")
    assert summary.gross_savings_full_year_effect == D("832200.00")
    assert summary.gross_savings_in_year == D("509841.51")
    assert summary.breakdowns == ()
    early = financial_summary(2023, INTERVENTIONS, PROJECTIONS, None, FOLLOWUPS, as_of=date(2023, 5, 31))
    assert (early.families_served, early.children_served, early.children_closed) == (1, 2, 0)
    assert early.success_rate is None


@pytest.mark.parametrize(
    ("started", "fy", "days"),
    [
        (date(2023, 10, 1), 2023, 183),
        (date(2022, 10, 1), 2022, 182),
        (date(2024, 2, 29), 2023, 32),
        (date(2024, 3, 1), 2023, 31),
        (date(2024, 3, 31), 2023, 1),
        (date(2023, 4, 1), 2023, 366),
        (date(2024, 4, 1), 2024, 365),
    ],
)
def test_in_year_days_count_both_ends_and_29_february(started: date, fy: int, days: int) -> None:
    assert in_year_days(started, fy) == days


def test_in_year_days_refuses_a_start_outside_the_year() -> None:
    with pytest.raises(ValueError):
        in_year_days(date(2023, 3, 31), 2023)


def test_a_start_on_1_april_before_a_29_february_counts_366_days_as_the_contract_says() -> None:
    """The contract's inclusive count makes in-year exceed the 365-day full-year effect by one day's rate here."""
    start = Intervention("X", "F", ("A",), "MST", date(2023, 4, 1), date(2023, 9, 1), "completed", {"A": "at_home"})
    summary = financial_summary(2023, [start], [Projection("A", "K2", D("100.00"))], None)
    assert summary.gross_savings_full_year_effect == D("36500.00")
    assert summary.gross_savings_in_year == D("36600.00")


def test_in_year_savings_round_half_up_only_at_the_end() -> None:
    """Three children at 0.005 a day each for one day: exact sum 0.015, rounded once to 0.02 (never 3 x 0.01)."""
    interventions = [
        Intervention(f"X{n}", f"F{n}", (f"A{n}",), "FGC", date(2024, 3, 31), date(2024, 3, 31), "completed",
                     {f"A{n}": "at_home"})
        for n in range(3)
    ]
    projections = [Projection(f"A{n}", "U6", D("0.005")) for n in range(3)]
    summary = financial_summary(2023, interventions, projections, None)
    assert summary.gross_savings_in_year == D("0.02")
    # 3 x 0.005 x 365 = 5.475 -> 5.48
    assert summary.gross_savings_full_year_effect == D("5.48")
    # mean 1.825 -> 1.83
    assert summary.average_annual_cost_avoided == D("1.83")


def test_a_child_without_a_projection_counts_but_adds_no_money() -> None:
    interventions = [
        Intervention("X", "F", ("A", "B"), "MST", date(2023, 5, 1), date(2023, 9, 1), "completed",
                     {"A": "at_home", "B": "at_home"}),
    ]
    summary = financial_summary(2023, interventions, [Projection("A", "K2", D("1000"))], None)
    assert summary.children_served == 2
    assert summary.children_diverted == 2
    assert summary.gross_savings_full_year_effect == D("365000.00")
    assert summary.average_annual_cost_avoided == D("365000.00")
    assert summary.high_cost_share == D("0.5000")


def test_an_empty_year() -> None:
    summary = financial_summary(2030, INTERVENTIONS, PROJECTIONS, Targets(children_diverted=10, gross_savings=D(0)))
    assert summary.families_served == summary.children_served == summary.children_diverted == 0
    assert summary.success_rate is None
    assert summary.high_cost_share is None
    assert summary.average_annual_cost_avoided is None
    assert summary.gross_savings_full_year_effect == D("0.00")
    assert summary.children_diverted_pct_of_target == 0
    assert summary.gross_savings_pct_of_target is None


def test_a_diverted_child_is_credited_to_the_earliest_intervention() -> None:
    credited = diversions(2023, INTERVENTIONS)
    assert {child: d.intervention.id for child, d in credited.items()} == {
        "C1": "I2",
        "C3": "I3",
        "C4": "I4",
        "C5": "I5",
    }


def test_a_breakdown_is_listed_once_with_its_first_date() -> None:
    followups = FOLLOWUPS + [FollowUp("C5", date(2024, 3, 1), "other"), FollowUp("C1", date(2023, 11, 30), "in_care")]
    summary = financial_summary(2023, INTERVENTIONS, PROJECTIONS, None, followups)
    assert [(b.child_id, b.date) for b in summary.breakdowns] == [
        ("C5", date(2024, 8, 29)),
        ("C3", date(2024, 11, 15)),
    ]
    assert summary.gross_savings_full_year_effect == D("1197200.00")


def test_value_for_money_by_programme() -> None:
    costs = {"MST": D("250000"), "MST_BSF": D("100000"), "FFT_CW": D("80000"), "FGC": D("30000"),
             "OTHER_PREVENTION": D("10000")}
    rows = {r.programme: r for r in programme_value(2023, INTERVENTIONS, PROJECTIONS, costs)}
    assert list(rows) == ["MST", "MST_BSF", "FFT_CW", "FGC", "OTHER_PREVENTION"]
    assert asdict(rows["MST"]) == {
        "programme": "MST", "families_served": 1, "children_served": 2, "children_diverted": 1,
        "gross_savings_full_year_effect": D("438000.00"), "gross_savings_in_year": D("366000.00"),
        "cost": D("250000.00"), "net_savings": D("188000.00"), "cost_per_successful_outcome": D("250000.00"),
    }
    assert rows["FFT_CW"].net_savings == D("-50796.35")
    # FGC served C1 and C2 (superseded I1) and C4 and C5 (I5); C4 is credited to FFT_CW's earlier I4.
    assert (rows["FGC"].children_served, rows["FGC"].children_diverted) == (4, 1)
    assert rows["FGC"].gross_savings_full_year_effect == D("364996.35")
    assert rows["OTHER_PREVENTION"].cost_per_successful_outcome is None
    assert rows["OTHER_PREVENTION"].net_savings == D("-10000.00")
    total = sum(r.gross_savings_full_year_effect for r in rows.values())
    assert total == D("1197200.00")
    assert sum(r.gross_savings_in_year for r in rows.values()) == D("692841.51")


def test_value_for_money_without_a_cost_is_unknown_not_free() -> None:
    rows = programme_value(2023, INTERVENTIONS, PROJECTIONS, {"FFT_REUNIFICATION": D("5000"), "MST": D("3")})
    by_programme = {r.programme: r for r in rows}
    assert by_programme["FGC"].cost is None
    assert by_programme["FGC"].net_savings is None
    assert by_programme["FGC"].cost_per_successful_outcome is None
    assert by_programme["FFT_REUNIFICATION"].children_served == 0
    assert by_programme["FFT_REUNIFICATION"].net_savings == D("-5000.00")
    with pytest.raises(ValueError):
        programme_value(2023, INTERVENTIONS, PROJECTIONS, {"YOGA": D(1)})


def test_cost_per_outcome_rounds_half_up() -> None:
    interventions = [
        Intervention(f"X{n}", f"F{n}", (f"A{n}",), "MST", date(2023, 5, 1), date(2023, 9, 1), "completed",
                     {f"A{n}": "at_home"})
        for n in range(8)
    ]
    rows = programme_value(2023, interventions, [], {"MST": D("0.60")})
    assert rows[0].cost_per_successful_outcome == D("0.08")  # 0.075 -> 0.08


def test_inputs_that_cannot_be_right_are_refused() -> None:
    with pytest.raises(ValueError, match="closed before"):
        Intervention("X", "F", ("A",), "MST", date(2023, 5, 1), date(2023, 4, 1), "completed", {"A": "at_home"})
    with pytest.raises(ValueError, match="together"):
        Intervention("X", "F", ("A",), "MST", date(2023, 5, 1), date(2023, 6, 1))
    with pytest.raises(ValueError, match="did not serve"):
        Intervention("X", "F", ("A",), "MST", date(2023, 5, 1), date(2023, 6, 1), "completed", {"B": "at_home"})
    with pytest.raises(ValueError, match="programme"):
        Intervention("X", "F", ("A",), "PARENTING", date(2023, 5, 1))
    with pytest.raises(ValueError, match="reason"):
        Intervention("X", "F", ("A",), "MST", date(2023, 5, 1), date(2023, 6, 1), "finished", {"A": "at_home"})
    with pytest.raises(ValueError):
        FollowUp("A", date(2024, 1, 1), "hospital")
    with pytest.raises(ValueError, match="two projections"):
        financial_summary(2023, [], [Projection("A", "U6", D(1)), Projection("A", "K2", D(2))], None)
    with pytest.raises(ValueError):
        multi_year_summary(2024, 2023, [], [], {})


# --- properties ---------------------------------------------------------------------------

RATES = st.decimals(min_value=D("0"), max_value=D("3000"), places=2, allow_nan=False, allow_infinity=False)
SITUATIONS = st.sampled_from(["at_home", "in_care", "custody", "other"])
REASONS = st.sampled_from(["completed", "disengaged", "escalated_to_care", "moved_away", "superseded"])
PROGRAMMES = st.sampled_from(["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION"])


def child_family(child_id: str) -> str:
    return f"F{int(child_id[1:]) % 3}"


@st.composite
def year_of_work(draw: st.DrawFn) -> tuple[int, list[Intervention], list[Projection]]:
    fy = draw(st.integers(min_value=2019, max_value=2028))
    children = [f"C{n}" for n in range(draw(st.integers(min_value=1, max_value=8)))]
    interventions = []
    for n in range(draw(st.integers(min_value=0, max_value=10))):
        family = draw(st.sampled_from(sorted({child_family(c) for c in children})))
        own = [c for c in children if child_family(c) == family]
        served = draw(st.lists(st.sampled_from(own), min_size=1, max_size=3, unique=True))
        started = year_start(fy) + timedelta(days=draw(st.integers(min_value=0, max_value=365)))
        started = min(started, year_end(fy))
        if draw(st.booleans()):
            closed = started + timedelta(days=draw(st.integers(min_value=0, max_value=400)))
            outcomes = {c: draw(SITUATIONS) for c in served}
            interventions.append(Intervention(f"I{n}", family, tuple(served), draw(PROGRAMMES), started, closed,
                                              draw(REASONS), outcomes))
        else:
            interventions.append(Intervention(f"I{n}", family, tuple(served), draw(PROGRAMMES), started))
    projections = [Projection(c, "K2", draw(RATES)) for c in children if draw(st.booleans())]
    return fy, interventions, projections


@settings(max_examples=300, deadline=None)
@given(year_of_work())
def test_full_year_effect_is_at_least_the_in_year_saving(
    case: tuple[int, list[Intervention], list[Projection]],
) -> None:
    fy, interventions, projections = case
    summary = financial_summary(fy, interventions, projections, None)
    full_year = summary.gross_savings_full_year_effect
    in_year = summary.gross_savings_in_year
    leap_year = (year_end(fy) - year_start(fy)).days == 365
    starts_on_1_april = any(i.started_on == year_start(fy) for i in interventions)
    if not (leap_year and starts_on_1_april):
        assert full_year >= in_year
    assert Fraction(in_year) * 365 <= Fraction(full_year) * 366


@settings(max_examples=200, deadline=None)
@given(year_of_work(), st.randoms(use_true_random=False))
def test_counts_are_consistent_and_do_not_depend_on_order(
    case: tuple[int, list[Intervention], list[Projection]], rng: random.Random
) -> None:
    fy, interventions, projections = case
    summary = financial_summary(fy, interventions, projections, None)
    assert summary.children_diverted <= summary.children_closed <= summary.children_served
    assert summary.families_served <= summary.children_served
    if summary.success_rate is not None:
        assert D(0) <= summary.success_rate <= D(1)
    shuffled = interventions[:]
    rng.shuffle(shuffled)
    assert financial_summary(fy, shuffled, list(reversed(projections)), None) == summary
    rows = programme_value(fy, interventions, projections, {})
    assert sum((r.gross_savings_full_year_effect for r in rows), D(0)) == summary.gross_savings_full_year_effect
    assert sum(r.children_diverted for r in rows) == summary.children_diverted
