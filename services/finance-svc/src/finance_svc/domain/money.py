"""Money and ratios for finance-svc.

Amounts stay exact (Decimal, or Fraction in the middle of a division) until a figure is
presented; only then is it rounded, half up, because that is how the authority's finance
team rounds and because banker's rounding surprises people reading a board paper.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import floor

Number = Decimal | int | str | Fraction

PENNY_PLACES = 2
SHARE_PLACES = 4


def to_decimal(value: Decimal | int | str | float) -> Decimal:
    """Accept what callers naturally hold, but never a bool and never a non-finite amount."""
    if isinstance(value, bool):
        raise TypeError("a money amount cannot be a bool")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        result = Decimal(value.strip())
    else:
        raise TypeError(f"cannot use {type(value).__name__} as a money amount")
    if not result.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return result


def _exact(value: Number | float) -> Fraction:
    if isinstance(value, Fraction):
        return value
    return Fraction(to_decimal(value))


def round_half_up(value: Number | float, places: int) -> Decimal:
    """Round exactly (no binary floats, no context precision) to `places` decimals, ties away from zero."""
    exact = _exact(value)
    scaled = abs(exact) * 10**places
    digits = floor(scaled + Fraction(1, 2))
    sign = "-" if exact < 0 and digits else ""
    return Decimal(f"{sign}{digits}E-{places}")


def to_pounds(value: Number | float) -> Decimal:
    """Pounds and pence for presentation: the last step, never an intermediate one."""
    return round_half_up(value, PENNY_PLACES)


def pct_of_target(actual: Number | float | None, target: Number | float | None) -> int | None:
    """Whole-number percent of target, half up; None when there is no target to measure against."""
    if actual is None or target is None:
        return None
    target_exact = _exact(target)
    if target_exact == 0:
        return None
    return int(round_half_up(_exact(actual) * 100 / target_exact, 0))


def share(numerator: Number | float, denominator: Number | float) -> Decimal | None:
    """A fraction from 0 to 1 at four places, half up; None rather than a misleading 0 when nothing was counted."""
    denominator_exact = _exact(denominator)
    if denominator_exact == 0:
        return None
    return round_half_up(_exact(numerator) / denominator_exact, SHARE_PLACES)


def format_pounds(value: Number | float | None, *, missing: str = "not available") -> str:
    """£1,234.56 as board members read it."""
    if value is None:
        return missing
    pounds = to_pounds(value)
    sign = "-" if pounds < 0 else ""
    return f"{sign}£{abs(pounds):,.2f}"


def format_thousands(value: Number | float | None, *, missing: str = "not available") -> str:
    """Headline money as the strategy writes it: thousands of pounds, half up (£7,515k); under £1,000 in
    whole pounds, so a small sum never reads as £0k."""
    if value is None:
        return missing
    exact = _exact(value)
    pounds = round_half_up(exact, 0)
    sign = "-" if pounds < 0 else ""
    if abs(pounds) < 1000:
        return f"{sign}£{abs(pounds):,}"
    return f"{sign}£{abs(round_half_up(exact / 1000, 0)):,}k"


def format_share(value: Number | float | None, *, places: int = 1, missing: str = "not available") -> str:
    """A 0–1 fraction as a percentage with one decimal, half up (0.6667 -> 66.7%)."""
    if value is None:
        return missing
    return f"{round_half_up(_exact(value) * 100, places)}%"


def format_percent(value: int | None, *, missing: str = "no target") -> str:
    """A whole-number percent already computed, e.g. a percent of target."""
    if value is None:
        return missing
    return f"{value}%"
