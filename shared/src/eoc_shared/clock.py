"""The service's idea of today, in one place (UK local date) so rules about the future agree everywhere.

Statuses that the calendar changes (follow-ups due and overdue, consent and assessment overdue, an
intervention past its expected end) are computed from this day when read; tests set it with `fixed_today`
to read them as of a chosen day without waiting for one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")

_fixed: date | None = None


def today() -> date:
    return _fixed if _fixed is not None else datetime.now(UK).date()


@contextmanager
def fixed_today(day: date) -> Iterator[None]:
    """For tests: `today()` answers `day` inside the block (process-wide), the real date again after it."""
    global _fixed
    before, _fixed = _fixed, day
    try:
        yield
    finally:
        _fixed = before
