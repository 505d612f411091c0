"""Follow-up dates and states: calendar edge cases worked out on a calendar, not by the code under test."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomes_svc.domain.schedule import (
    CHECKPOINTS,
    OVERDUE_AFTER_DAYS,
    add_months,
    followup_dates,
    followup_status,
)

D = date.fromisoformat


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2023-08-31", 6, "2024-02-29"),  # into a leap February
        ("2022-08-31", 6, "2023-02-28"),  # into a common February
        ("2023-03-31", 6, "2023-09-30"),  # 31st into a 30-day month
        ("2023-04-30", 6, "2023-10-30"),  # a 30th stays the 30th in a 31-day month
        ("2024-02-29", 6, "2024-08-29"),  # a 29 February closure keeps its day where it can
        ("2024-02-29", 12, "2025-02-28"),  # ... and clamps in a common year
        ("2024-02-29", 48, "2028-02-29"),  # ... and is 29 February again four years on
        ("2024-01-31", 1, "2024-02-29"),
        ("2023-01-31", 1, "2023-02-28"),
        ("2023-10-31", 6, "2024-04-30"),  # across the year end into April
        ("2023-07-01", 6, "2024-01-01"),
        ("2023-12-31", 12, "2024-12-31"),
        ("2023-08-31", 18, "2025-02-28"),
        ("2019-08-31", 6, "2020-02-29"),
        ("2099-08-31", 6, "2100-02-28"),  # 2100 is not a leap year
        ("1999-08-31", 6, "2000-02-29"),  # 2000 is
        ("2023-12-15", 60, "2028-12-15"),
        ("2023-05-31", -3, "2023-02-28"),  # backwards clamps too
        ("2023-03-31", 0, "2023-03-31"),
    ],
)
def test_add_months_table(start: str, months: int, expected: str) -> None:
    assert add_months(D(start), months) == D(expected)


def test_add_months_rejects_non_integers() -> None:
    with pytest.raises(TypeError):
        add_months(D("2023-01-31"), 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        add_months(D("2023-01-31"), True)


def test_add_months_refuses_to_leave_the_calendar() -> None:
    with pytest.raises(ValueError):
        add_months(date(9999, 12, 1), 1)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)), st.integers(-240, 240))
def test_add_months_moves_whole_months_and_clamps(day: date, months: int) -> None:
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    assert result.day == min(day.day, calendar.monthrange(result.year, result.month)[1])
    if day.day <= 28:
        assert add_months(result, -months) == day


def test_checkpoints_are_the_contract_ones() -> None:
    assert CHECKPOINTS == (6, 12, 18, 24, 36, 48, 60)
    assert OVERDUE_AFTER_DAYS == 28


def test_followup_dates_count_from_the_closure_not_the_previous_checkpoint() -> None:
    assert followup_dates(D("2023-08-31")) == [
        (6, D("2024-02-29")),
        (12, D("2024-08-31")),
        (18, D("2025-02-28")),
        (24, D("2025-08-31")),
        (36, D("2026-08-31")),
        (48, D("2027-08-31")),
        (60, D("2028-08-31")),
    ]


def test_followup_dates_for_a_29_february_closure() -> None:
    assert followup_dates(D("2024-02-29")) == [
        (6, D("2024-08-29")),
        (12, D("2025-02-28")),
        (18, D("2025-08-29")),
        (24, D("2026-02-28")),
        (36, D("2027-02-28")),
        (48, D("2028-02-29")),
        (60, D("2029-02-28")),
    ]


DUE_ON = D("2024-02-29")


@pytest.mark.parametrize(
    ("days_after_due", "recorded", "expected"),
    [
        (-100, False, "scheduled"),
        (-1, False, "scheduled"),
        (0, False, "due"),
        (1, False, "due"),
        (27, False, "due"),
        (28, False, "overdue"),
        (29, False, "overdue"),
        (400, False, "overdue"),
        (-1, True, "recorded"),
        (0, True, "recorded"),
        (27, True, "recorded"),
        (28, True, "recorded"),
        (400, True, "recorded"),
    ],
)
def test_followup_status_boundaries(days_after_due: int, recorded: bool, expected: str) -> None:
    assert followup_status(DUE_ON, DUE_ON + timedelta(days=days_after_due), recorded) == expected


def test_overdue_boundary_across_a_leap_day() -> None:
    # due 1 Feb 2024: day 27 after is 28 Feb, day 28 after is 29 Feb
    assert followup_status(D("2024-02-01"), D("2024-02-28"), False) == "due"
    assert followup_status(D("2024-02-01"), D("2024-02-29"), False) == "overdue"
