"""The follow-up calendar: checkpoints from closed_on, end-of-month clamping, overdue, elapsed months."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from outcomes_svc.domain.followup_dates import (
    add_months,
    due_on_window,
    months_between,
    overdue_on,
    schedule,
    status_as_of,
)
from outcomes_svc.domain.outcome_terms import FollowupStatus

D = date.fromisoformat


@pytest.mark.parametrize(("closed_on", "months", "due_on"), [
    ("2023-08-31", 6, "2024-02-29"),   # leap year: 31 August + 6 months = 29 February
    ("2022-08-31", 6, "2023-02-28"),   # not a leap year
    ("2023-08-31", 12, "2024-08-31"),  # counted from closed_on, not from the 6-month date
    ("2023-08-31", 18, "2025-02-28"),
    ("2024-02-29", 12, "2025-02-28"),
    ("2024-02-29", 48, "2028-02-29"),
    ("2024-03-31", 6, "2024-09-30"),
    ("2024-05-31", 18, "2025-11-30"),
    ("2023-12-31", 6, "2024-06-30"),
    ("2024-07-31", 6, "2025-01-31"),   # across the year end
    ("2024-10-15", 60, "2029-10-15"),
    ("2024-01-01", 0, "2024-01-01"),
    ("2024-03-31", -1, "2024-02-29"),
])
def test_add_months_clamps_to_the_end_of_the_month(closed_on: str, months: int, due_on: str) -> None:
    assert add_months(D(closed_on), months) == D(due_on)


def test_the_schedule_of_a_closure_on_31_august_2023() -> None:
    assert schedule(D("2023-08-31")) == [
        (6, D("2024-02-29")), (12, D("2024-08-31")), (18, D("2025-02-28")), (24, D("2025-08-31")),
        (36, D("2026-08-31")), (48, D("2027-08-31")), (60, D("2028-08-31")),
    ]


def test_add_months_refuses_what_is_not_a_whole_number_of_months() -> None:
    with pytest.raises(TypeError):
        add_months(D("2024-01-01"), 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        add_months(D("2024-01-01"), True)
    with pytest.raises(ValueError):
        add_months(D("9999-12-01"), 1)


@pytest.mark.parametrize(("as_of", "recorded", "status"), [
    ("2024-02-28", False, FollowupStatus.SCHEDULED),
    ("2024-02-29", False, FollowupStatus.DUE),        # due on its day
    ("2024-03-27", False, FollowupStatus.DUE),        # 27 days past due
    ("2024-03-28", False, FollowupStatus.OVERDUE),    # 28 days past due, no result
    ("2024-12-01", False, FollowupStatus.OVERDUE),
    ("2024-03-28", True, FollowupStatus.RECORDED),
])
def test_status_on_a_day(as_of: str, recorded: bool, status: FollowupStatus) -> None:
    assert overdue_on(D("2024-02-29")) == D("2024-03-28")
    assert status_as_of(D("2024-02-29"), D(as_of), recorded=recorded) is status


def test_the_due_on_window_of_a_status_is_exactly_the_days_that_show_it() -> None:
    """What a list filters on (dates in the query) agrees with what each row then shows, day by day."""
    as_of = D("2024-03-28")
    for offset in range(-60, 60):
        due_on = date.fromordinal(as_of.toordinal() + offset)
        shown = status_as_of(due_on, as_of, recorded=False)
        for status in (FollowupStatus.SCHEDULED, FollowupStatus.DUE, FollowupStatus.OVERDUE):
            earliest, latest = due_on_window(status, as_of)
            inside = (earliest is None or due_on >= earliest) and (latest is None or due_on <= latest)
            assert inside == (shown is status), (due_on, status)
    with pytest.raises(ValueError):
        due_on_window(FollowupStatus.RECORDED, as_of)


@pytest.mark.parametrize(("start", "end", "months"), [
    ("2024-01-15", "2024-01-15", Fraction(0)),
    ("2024-01-15", "2024-07-15", Fraction(6)),
    ("2023-08-31", "2024-02-29", Fraction(6)),            # a follow-up date is exactly its checkpoint
    ("2024-01-15", "2024-01-30", Fraction(15, 31)),       # 15 of January's 31 days
    ("2024-02-15", "2024-03-01", Fraction(15, 29)),       # 15 of the 29 days to 15 March
    ("2023-01-31", "2023-03-01", 1 + Fraction(1, 31)),    # 28 Feb is month 1; 31 Mar month 2
])
def test_months_between_is_exact(start: str, end: str, months: Fraction) -> None:
    assert months_between(D(start), D(end)) == months


def test_months_between_grows_with_the_end_date() -> None:
    start = D("2023-08-31")
    previous = Fraction(-1)
    day = start
    for _ in range(800):
        value = months_between(start, day)
        assert value > previous
        previous = value
        day = date.fromordinal(day.toordinal() + 1)
    with pytest.raises(ValueError):
        months_between(D("2024-01-02"), D("2024-01-01"))
