"""Ages in whole years, the only form of age that leaves this service in events."""

from __future__ import annotations

from datetime import date, datetime


def _as_date(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def birthday_in(date_of_birth: date, year: int) -> date:
    """The day the birthday counts in `year`; 29 February falls on 1 March in common years."""
    date_of_birth = _as_date(date_of_birth)
    try:
        return date_of_birth.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


def age_in_whole_years(date_of_birth: date, on: date) -> int:
    """Completed years of age on `on`; refuses a date before birth rather than answering -1."""
    date_of_birth, on = _as_date(date_of_birth), _as_date(on)
    if on < date_of_birth:
        raise ValueError(f"{on.isoformat()} is before the date of birth")
    years = on.year - date_of_birth.year
    if on < birthday_in(date_of_birth, on.year):
        years -= 1
    return years
