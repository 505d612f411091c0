"""When follow-ups fall due after an intervention closes, and what state each one is in.

Every checkpoint is counted from `closed_on` itself, never from the previous checkpoint, so a
closure on 31 August gives 28/29 February at 6 months but 31 August again at 12 months. A day
that does not exist in the target month becomes that month's last day: the follow-up then
falls due no later than the calendar month the checkpoint names.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from .vocab import DUE, OVERDUE, RECORDED, SCHEDULED

CHECKPOINTS: tuple[int, ...] = (6, 12, 18, 24, 36, 48, 60)
OVERDUE_AFTER_DAYS = 28


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months (either direction), clamped to the month's last day."""
    if isinstance(months, bool) or not isinstance(months, int):
        raise TypeError("months must be an int")
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise ValueError(f"{day.isoformat()} + {months} months is outside the calendar")
    month = month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def followup_dates(closed_on: date) -> list[tuple[int, date]]:
    """`(checkpoint_months, due_on)` for every checkpoint, earliest first."""
    return [(months, add_months(closed_on, months)) for months in CHECKPOINTS]


def overdue_from(due_on: date) -> date:
    """The first day on which an unrecorded follow-up counts as overdue."""
    return due_on + timedelta(days=OVERDUE_AFTER_DAYS)


def followup_status(due_on: date, as_of: date, recorded: bool) -> str:
    """`recorded` whatever the date once a result exists, so a late result clears `overdue`;
    otherwise `overdue` from 28 days after `due_on`, `due` from `due_on`, else `scheduled`."""
    if recorded:
        return RECORDED
    if as_of >= overdue_from(due_on):
        return OVERDUE
    if as_of >= due_on:
        return DUE
    return SCHEDULED
