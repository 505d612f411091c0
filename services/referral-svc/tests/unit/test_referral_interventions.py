"""Programme lengths, superseding, closure outcomes, capacity and the waiting list."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eoc_shared.vocab import Programme as P
from referral_svc.domain.interventions import (
    DEFAULT_DURATION_MONTHS,
    SUPERSEDING,
    ChildOutcome,
    OpenIntervention,
    Problem,
    WaitingEntry,
    add_months,
    days_waiting,
    default_expected_end_on,
    expected_end_on,
    has_capacity,
    order_waiting_list,
    to_supersede,
    validate_child_outcomes,
)

D = date


def test_default_durations():
    assert DEFAULT_DURATION_MONTHS == {
        P.MST: 5, P.MST_BSF: 9, P.FFT_CW: 6, P.FFT_REUNIFICATION: 6, P.FGC: 3, P.OTHER_PREVENTION: 3,
    }


@pytest.mark.parametrize(
    "started, months, end",
    [
        (D(2023, 8, 31), 6, D(2024, 2, 29)),  # leap February
        (D(2024, 8, 31), 6, D(2025, 2, 28)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2024, 3, 31), 6, D(2024, 9, 30)),
        (D(2024, 5, 31), 9, D(2025, 2, 28)),
        (D(2024, 10, 15), 5, D(2025, 3, 15)),  # across the year end
        (D(2024, 11, 30), 3, D(2025, 2, 28)),
        (D(2024, 12, 1), 3, D(2025, 3, 1)),
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2024, 6, 10), 0, D(2024, 6, 10)),
    ],
)
def test_expected_end_on(started, months, end):
    assert expected_end_on(started, months) == end


def test_default_expected_end_on_uses_the_programme_length():
    assert default_expected_end_on(P.MST, D(2024, 9, 30)) == D(2025, 2, 28)
    assert default_expected_end_on("MST_BSF", D(2024, 1, 15)) == D(2024, 10, 15)
    assert default_expected_end_on(P.FGC, D(2024, 11, 30)) == D(2025, 2, 28)


def test_negative_months_refused():
    with pytest.raises(ValueError):
        expected_end_on(D(2024, 1, 1), -1)


@given(st.dates(D(2000, 1, 1), D(2090, 12, 31)), st.integers(0, 60))
def test_add_months_lands_in_the_right_month_and_never_overshoots(start, months):
    end = add_months(start, months)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
    assert end.day <= start.day
    if end.day < start.day:
        assert (end + timedelta(days=1)).day == 1


def test_superseding_programmes():
    assert SUPERSEDING == {P.MST, P.MST_BSF, P.FFT_CW, P.FFT_REUNIFICATION, P.FGC}
    assert P.OTHER_PREVENTION not in SUPERSEDING


FAMILY_OPEN = [
    OpenIntervention("a", P.OTHER_PREVENTION),
    OpenIntervention("b", P.FGC),
    OpenIntervention("c", P.OTHER_PREVENTION),
]


@pytest.mark.parametrize("programme", sorted(SUPERSEDING))
def test_an_intensive_start_closes_every_other_open_intervention(programme):
    assert to_supersede(programme, FAMILY_OPEN) == FAMILY_OPEN


def test_other_prevention_supersedes_nothing():
    assert to_supersede(P.OTHER_PREVENTION, FAMILY_OPEN) == []
    assert to_supersede("OTHER_PREVENTION", [OpenIntervention("x", P.MST)]) == []


def test_the_new_intervention_itself_is_never_superseded():
    new_id = uuid.uuid4()
    listed = [OpenIntervention(new_id, P.MST), *FAMILY_OPEN]
    assert to_supersede(P.MST, listed, new_intervention_id=new_id) == FAMILY_OPEN
    assert to_supersede(P.MST, listed, new_intervention_id=str(new_id).upper()) == FAMILY_OPEN


def test_same_programme_on_another_referral_is_superseded_too():
    older = OpenIntervention("old", P.MST)
    assert to_supersede("MST", [older]) == [older]


def test_unknown_programme_refused():
    with pytest.raises(ValueError):
        to_supersede("MST-BSF", FAMILY_OPEN)


C1, C2, C3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def test_one_valid_outcome_per_child_passes():
    outcomes = [
        {"child_id": C1, "living_situation": "at_home"},
        ChildOutcome(C2, "in_care", "U6"),
    ]
    assert validate_child_outcomes([C1, C2], outcomes) == []


def test_ids_as_text_match_uuids():
    assert validate_child_outcomes([C1], [{"child_id": str(C1).upper(), "living_situation": "custody"}]) == []


def test_missing_child_is_reported():
    problems = validate_child_outcomes([C1, C2], [{"child_id": C1, "living_situation": "at_home"}])
    assert problems == [Problem("child_outcomes", f"has no outcome for child {C2}")]


def test_no_outcomes_reports_every_child_in_referral_order():
    problems = validate_child_outcomes([C2, C1], [])
    assert [p.message for p in problems] == [f"has no outcome for child {C2}", f"has no outcome for child {C1}"]


def test_unknown_child_is_reported():
    problems = validate_child_outcomes(
        [C1], [{"child_id": C1, "living_situation": "at_home"}, {"child_id": C3, "living_situation": "at_home"}]
    )
    assert problems == [Problem("child_outcomes.1.child_id", f"{C3} is not a child of this referral")]


def test_duplicate_child_is_reported():
    problems = validate_child_outcomes(
        [C1, C2],
        [
            {"child_id": C1, "living_situation": "at_home"},
            {"child_id": C2, "living_situation": "at_home"},
            {"child_id": C1, "living_situation": "in_care", "placement_type": "K2"},
        ],
    )
    assert problems == [Problem("child_outcomes.2.child_id", f"gives a second outcome for child {C1}")]


@pytest.mark.parametrize("living", ["home", "AT_HOME", "", "in care", 1])
def test_living_situation_outside_the_vocabulary(living):
    problems = validate_child_outcomes([C1], [{"child_id": C1, "living_situation": living}])
    assert [p.field for p in problems] == ["child_outcomes.0.living_situation"]
    assert "at_home, in_care, custody, other" in problems[0].message


def test_missing_fields():
    problems = validate_child_outcomes([C1], [{}])
    assert {p.field for p in problems} == {
        "child_outcomes.0.child_id", "child_outcomes.0.living_situation", "child_outcomes",
    }


@pytest.mark.parametrize("placement", ["U7", "R4", "k2", "foster", ""])
def test_placement_type_must_be_an_ssda903_code(placement):
    problems = validate_child_outcomes(
        [C1], [{"child_id": C1, "living_situation": "in_care", "placement_type": placement}]
    )
    assert [p.field for p in problems] == ["child_outcomes.0.placement_type"]


@pytest.mark.parametrize("placement", [None, "U1", "K1", "R5", "Z1"])
def test_placement_type_is_optional_and_any_real_code_passes(placement):
    assert validate_child_outcomes(
        [C1], [{"child_id": C1, "living_situation": "in_care", "placement_type": placement}]
    ) == []


def test_unhashable_child_id_is_a_problem_not_a_crash():
    problems = validate_child_outcomes([C1], [{"child_id": [C1], "living_situation": "at_home"}])
    assert [p.field for p in problems] == ["child_outcomes.0.child_id", "child_outcomes"]


T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def test_waiting_list_orders_by_referral_date_then_time_joined():
    late_referral_joined_first = WaitingEntry("r1", P.MST, D(2024, 4, 20), T0)
    early_referral_joined_last = WaitingEntry("r2", P.MST, D(2024, 4, 2), T0 + timedelta(days=3))
    same_day_joined_second = WaitingEntry("r3", P.MST, D(2024, 4, 20), T0 + timedelta(hours=1))
    same_day_joined_earlier = WaitingEntry("r4", P.MST, D(2024, 4, 20), T0 - timedelta(minutes=5))
    ordered = order_waiting_list(
        [late_referral_joined_first, early_referral_joined_last, same_day_joined_second, same_day_joined_earlier]
    )
    assert [e.referral_id for e in ordered] == ["r2", "r4", "r1", "r3"]


def test_exact_ties_are_ordered_the_same_whatever_the_input_order():
    a = WaitingEntry("a", P.FGC, D(2024, 4, 2), T0)
    b = WaitingEntry("b", P.FGC, D(2024, 4, 2), T0)
    assert order_waiting_list([b, a]) == order_waiting_list([a, b]) == [a, b]


@pytest.mark.parametrize(
    "joined, today, days",
    [
        (D(2024, 5, 1), D(2024, 5, 1), 0),
        (D(2024, 5, 1), D(2024, 5, 2), 1),
        (D(2024, 2, 1), D(2024, 3, 1), 29),
        (D(2023, 12, 25), D(2024, 1, 8), 14),
        (T0, D(2024, 5, 31), 30),
        (D(2024, 5, 10), D(2024, 5, 9), 0),
    ],
)
def test_days_waiting(joined, today, days):
    assert days_waiting(joined, today) == days


@pytest.mark.parametrize(
    "active, limit, room",
    [(0, None, True), (500, None, True), (0, 0, False), (0, 1, True), (4, 5, True), (5, 5, False), (6, 5, False)],
)
def test_has_capacity(active, limit, room):
    assert has_capacity(active, limit) is room


@pytest.mark.parametrize("active, limit", [(-1, 5), (0, -1)])
def test_capacity_refuses_negative_numbers(active, limit):
    with pytest.raises(ValueError):
        has_capacity(active, limit)
