"""Date arithmetic of the follow-up schedule: checkpoints, end-of-month clamping, overdue, elapsed months.

Every checkpoint is counted from `closed_on` itself, never from the previous checkpoint: a closure on
31 August falls due on 29 February (leap year) or 28 February at 6 months and on 31 August again at 12.
A day that does not exist in the target month becomes that month's last day.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from fractions import Fraction

from outcomes_svc.domain.outcome_terms import CHECKPOINTS, OVERDUE_AFTER_DAYS, FollowupStatus


def add_months(day: date, months: int) -> date:
    """`day` plus whole calendar months, clamped to the last day of the target month."""
    if isinstance(months, bool) or not isinstance(months, int):
        raise TypeError("months must be a whole number")
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise ValueError(f"{day.isoformat()} plus {months} months is outside the calendar")
    month = month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def schedule(closed_on: date, checkpoints: tuple[int, ...] = CHECKPOINTS) -> list[tuple[int, date]]:
    """`(checkpoint_months, due_on)` for each checkpoint, earliest first."""
    return [(months, add_months(closed_on, months)) for months in checkpoints]


def overdue_on(due_on: date) -> date:
    """The first day an unrecorded follow-up is overdue: 28 days after it fell due."""
    return due_on + timedelta(days=OVERDUE_AFTER_DAYS)


def status_as_of(due_on: date, as_of: date, *, recorded: bool) -> FollowupStatus:
    """Where a follow-up stands on `as_of`: the status every read shows, from the dates alone, so a follow-up
    due years ago (a closure entered late) is `overdue` at once, whether or not the scheduler has run."""
    if recorded:
        return FollowupStatus.RECORDED
    if as_of >= overdue_on(due_on):
        return FollowupStatus.OVERDUE
    if as_of >= due_on:
        return FollowupStatus.DUE
    return FollowupStatus.SCHEDULED


def due_on_window(status: FollowupStatus, as_of: date) -> tuple[date | None, date | None]:
    """The `due_on` dates (earliest, latest; None when open) of the follow-ups without a result that are in
    `status` on `as_of` — `status_as_of` turned round, so that a list filters on dates in the query and its
    paging and counts agree with the statuses shown. Not for `recorded`, which the dates do not decide."""
    if status is FollowupStatus.SCHEDULED:
        return as_of + timedelta(days=1), None
    if status is FollowupStatus.DUE:
        return as_of - timedelta(days=OVERDUE_AFTER_DAYS - 1), as_of
    if status is FollowupStatus.OVERDUE:
        return None, as_of - timedelta(days=OVERDUE_AFTER_DAYS)
    raise ValueError(f"the dates do not decide the status {status.value!r}")


def months_between(start: date, end: date) -> Fraction:
    """Elapsed months from `start` to `end` (not before it), exact: whole calendar months (clamped as the
    schedule is) plus the fraction of the month under way. A follow-up date is exactly its checkpoint:
    `months_between(d, add_months(d, 6)) == 6`."""
    if end < start:
        raise ValueError("end is before start")
    whole = (end.year - start.year) * 12 + end.month - start.month
    while whole > 0 and add_months(start, whole) > end:
        whole -= 1
    while add_months(start, whole + 1) <= end:
        whole += 1
    anchor, following = add_months(start, whole), add_months(start, whole + 1)
    return whole + Fraction((end - anchor).days, (following - anchor).days)
