"""The ledger (per-child positions and per-year totals kept by deltas) equals savings method v1 computed at once.

`financial_summary` and `programme_value` are the reference; the service stores `child_position`s and
sums their contributions. These tests prove the two ways give the same answer, on the hand-worked data
set of test_finance_savings.py and on random data, including when totals are kept by deltas in any order.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from eoc_shared.finyear import year_end, year_start
from finance_svc.domain.ledger import (
    ProgrammeTotals,
    YearTotals,
    child_position,
    families_served,
    programme_activity,
    programme_delta,
    summary_from_totals,
    value_rows,
)
from finance_svc.domain.savings import (
    Breakdown,
    FollowUp,
    Intervention,
    Projection,
    Targets,
    financial_summary,
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
PROJECTIONS = {
    "C1": Projection("C1", "K2", D("1200.00")),
    "C2": Projection("C2", "U6", D("150.00")),
    "C3": Projection("C3", "K2", D("1000.00")),
    "C4": Projection("C4", "U6", D("80.01")),
    "C5": Projection("C5", "R1", D("999.99")),
    "C6": Projection("C6", "U6", D("120.11")),
    "C7": Projection("C7", "U4", D("70.00")),
}
FOLLOWUPS = [
    FollowUp("C1", date(2024, 5, 30), "at_home"),
    FollowUp("C2", date(2024, 5, 30), "custody"),
    FollowUp("C3", date(2024, 11, 15), "in_care"),
    FollowUp("C5", date(2025, 2, 28), "in_care"),
    FollowUp("C5", date(2024, 8, 29), "custody"),
]


def ledger_summary(fy, interventions, projections, targets, followups):
    """What the service does: one position per child, totals as the sum of contributions."""
    children = sorted({c for i in interventions for c in i.child_ids})
    totals = YearTotals.family(len(families_served(fy, interventions)))
    breakdowns = []
    for child in children:
        position = child_position(fy, child, interventions, projections.get(child), followups)
        totals += YearTotals.of(position)
        if position is not None and position.breakdown_on is not None:
            breakdowns.append(Breakdown(child, position.breakdown_on, position.breakdown_situation))
    return summary_from_totals(fy, totals, targets, breakdowns)


def test_the_hand_worked_years_are_the_same_by_ledger() -> None:
    targets = Targets(children_diverted=32, gross_savings=D("1500000"))
    for fy in (2022, 2023, 2024, 2025):
        expected = financial_summary(fy, INTERVENTIONS, PROJECTIONS, targets, FOLLOWUPS)
        assert ledger_summary(fy, INTERVENTIONS, PROJECTIONS, targets, FOLLOWUPS) == expected
    # the figures themselves (worked by hand in test_finance_savings.py)
    got = ledger_summary(2023, INTERVENTIONS, PROJECTIONS, targets, FOLLOWUPS)
    assert got.gross_savings_full_year_effect == D("1197200.00")
    assert got.gross_savings_in_year == D("692841.51")
    assert got.average_annual_cost_avoided == D("215965.03")


def test_a_childs_position_names_the_credited_intervention_and_first_breakdown() -> None:
    c4 = child_position(2023, "C4", INTERVENTIONS, PROJECTIONS["C4"], FOLLOWUPS)
    assert c4 is not None
    assert (c4.closed, c4.diverted, c4.credited_intervention, c4.credited_programme) == (True, True, "I4", "FFT_CW")
    assert c4.in_year == D("80.01") * 273
    c5 = child_position(2023, "C5", INTERVENTIONS, PROJECTIONS["C5"], FOLLOWUPS)
    assert c5 is not None and (c5.breakdown_on, c5.breakdown_situation) == (date(2024, 8, 29), "custody")
    assert not c5.high_cost
    c2 = child_position(2023, "C2", INTERVENTIONS, PROJECTIONS["C2"], FOLLOWUPS)
    assert c2 is not None and c2.closed and not c2.diverted and c2.full_year == 0
    assert child_position(2023, "C7", INTERVENTIONS, PROJECTIONS["C7"], FOLLOWUPS) is None
    unrated = child_position(2023, "C1", INTERVENTIONS, None, FOLLOWUPS)
    assert unrated is not None and unrated.diverted and unrated.annual_cost_avoided is None and unrated.full_year == 0


def test_value_for_money_is_the_same_by_ledger() -> None:
    costs = {"MST": D("250000"), "MST_BSF": D("100000"), "FFT_CW": D("80000"), "FGC": D("30000"),
             "OTHER_PREVENTION": D("10000"), "FFT_REUNIFICATION": D("1")}
    credited: dict[str, ProgrammeTotals] = {}
    for child in PROJECTIONS:
        position = child_position(2023, child, INTERVENTIONS, PROJECTIONS[child], FOLLOWUPS)
        for programme, part in programme_delta(None, position).items():
            credited[programme] = credited.get(programme, ProgrammeTotals()) + part
    rows = value_rows(programme_activity(2023, INTERVENTIONS), credited, costs)
    assert rows == programme_value(2023, INTERVENTIONS, PROJECTIONS, costs)


# --- random data, totals kept by deltas in a random order -------------------------------------

RATES = st.decimals(min_value=D("0"), max_value=D("3000"), places=2, allow_nan=False, allow_infinity=False)
SITUATIONS = st.sampled_from(["at_home", "in_care", "custody", "other"])
REASONS = st.sampled_from(["completed", "disengaged", "escalated_to_care", "moved_away", "superseded"])
PROGRAMMES = st.sampled_from(["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION"])


@st.composite
def years_of_work(draw: st.DrawFn):
    fy = draw(st.integers(min_value=2019, max_value=2028))
    children = [f"C{n}" for n in range(draw(st.integers(min_value=1, max_value=7)))]
    interventions = []
    for n in range(draw(st.integers(min_value=0, max_value=9))):
        family = f"F{n % 3}"
        served = draw(st.lists(st.sampled_from(children), min_size=1, max_size=3, unique=True))
        started = year_start(fy - 1) + timedelta(days=draw(st.integers(min_value=0, max_value=730)))
        if draw(st.booleans()):
            closed = started + timedelta(days=draw(st.integers(min_value=0, max_value=400)))
            outcomes = {c: draw(SITUATIONS) for c in served if draw(st.integers(0, 5))}
            interventions.append(Intervention(f"I{n}", family, tuple(served), draw(PROGRAMMES), started, closed,
                                              draw(REASONS), outcomes))
        else:
            interventions.append(Intervention(f"I{n}", family, tuple(served), draw(PROGRAMMES), started))
    projections = {c: Projection(c, "K2", draw(RATES)) for c in children if draw(st.booleans())}
    followups = [
        FollowUp(draw(st.sampled_from(children)), year_start(fy) + timedelta(days=draw(st.integers(0, 900))),
                 draw(SITUATIONS))
        for _ in range(draw(st.integers(0, 5)))
    ]
    return fy, interventions, projections, followups


@settings(max_examples=250, deadline=None)
@given(years_of_work(), st.randoms(use_true_random=False))
def test_totals_kept_by_deltas_equal_the_reference(case, rng: random.Random) -> None:
    fy, interventions, projections, followups = case
    # Facts arrive one by one in a random order; after each, the touched children are recomputed and the
    # totals move by new − old, as the service does.
    arrived: list[Intervention] = []
    positions: dict[str, object] = {}
    totals = YearTotals()
    families: set[str] = set()
    order = list(interventions)
    rng.shuffle(order)
    for intervention in order:
        arrived.append(intervention)
        if year_start(fy) <= intervention.started_on <= year_end(fy) and intervention.family_id not in families:
            families.add(intervention.family_id)
            totals += YearTotals.family()
        for child in intervention.child_ids:
            new = child_position(fy, child, arrived, projections.get(child), followups)
            totals += YearTotals.of(new) - YearTotals.of(positions.get(child))  # type: ignore[arg-type]
            positions[child] = new
    breakdowns = [
        Breakdown(p.child_id, p.breakdown_on, p.breakdown_situation)  # type: ignore[attr-defined]
        for p in positions.values() if p is not None and p.breakdown_on is not None  # type: ignore[attr-defined]
    ]
    targets = Targets(children_diverted=3, gross_savings=D("100000"))
    assert summary_from_totals(fy, totals, targets, breakdowns) == financial_summary(
        fy, interventions, projections, targets, followups
    )
