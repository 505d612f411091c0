"""Working-day arithmetic for the statutory timers (England and Wales bank holidays).

Bank holidays come from the maintained `holidays` package, which carries substitute days and
one-off holidays (e.g. the 2023 coronation), rather than from a hand-kept list that goes stale.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import holidays

CONSENT_DAYS = 14
ASSESSMENT_WORKING_DAYS = 10


@cache
def bank_holidays(year: int) -> frozenset[date]:
    """England and Wales bank holidays of one year, computed once per year and reused."""
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a bank holiday in England and Wales."""
    return day.weekday() < 5 and day not in bank_holidays(day.year)


def add_working_days(start: date, n: int) -> date:
    """The date `n` working days after `start` (before it when `n` is negative).

    `start` itself is never counted, so day 1 is the first working day after `start`, whether
    or not `start` is a working day; `n == 0` returns `start` unchanged.
    """
    step = timedelta(days=1 if n >= 0 else -1)
    remaining = abs(n)
    day = start
    while remaining:
        day += step
        if is_working_day(day):
            remaining -= 1
    return day


def consent_due_on(referred_on: date) -> date:
    """Consent must be signed within 14 calendar days of the referral."""
    return referred_on + timedelta(days=CONSENT_DAYS)


def assessment_due_on(referred_on: date) -> date:
    """The eligibility assessment is due 10 working days after the referral date."""
    return add_working_days(referred_on, ASSESSMENT_WORKING_DAYS)
