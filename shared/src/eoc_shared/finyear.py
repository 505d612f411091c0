"""Financial years run 1 April to 31 March; a year is named by the calendar year it starts in."""

from __future__ import annotations

from datetime import date

MIN_YEAR = 2000
MAX_YEAR = 2100


def financial_year_of(day: date) -> int:
    return day.year if day >= date(day.year, 4, 1) else day.year - 1


def year_start(fy: int) -> date:
    return date(fy, 4, 1)


def year_end(fy: int) -> date:
    return date(fy + 1, 3, 31)


def label(fy: int) -> str:
    """2023 -> "2023/24", as the board papers write it."""
    return f"{fy}/{(fy + 1) % 100:02d}"


def contains(fy: int, day: date) -> bool:
    return year_start(fy) <= day <= year_end(fy)
