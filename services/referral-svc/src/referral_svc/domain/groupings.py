"""Equity groupings and official-statistics small-number suppression (contract v1.1), written once for every report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from referral_svc.domain.ages import age_in_whole_years

GROUPINGS = ("ethnic_group", "ethnicity", "primary_language", "interpreter_needed", "sex", "age_band")

ETHNIC_GROUPS: dict[str, str] = {
    **dict.fromkeys(("WBRI", "WIRI", "WOTH", "WIRT", "WROM"), "White"),
    **dict.fromkeys(("MWBC", "MWBA", "MWAS", "MOTH"), "Mixed"),
    **dict.fromkeys(("AIND", "APKN", "ABAN", "AOTH"), "Asian"),
    **dict.fromkeys(("BCRB", "BAFR", "BOTH"), "Black"),
    "CHNE": "Chinese",
    "OOTH": "Other",
    **dict.fromkeys(("REFU", "NOBT"), "Not known"),
}

AGE_BANDS = ("under 1", "1-4", "5-9", "10-15", "16-17")

SUPPRESSED = "<5"
MIN_SHOWN = 5
MIN_DENOMINATOR = 10


def ethnic_group(ethnicity: str) -> str:
    """The DfE code's main category; an unknown code is 'Not known' rather than a guess."""
    return ETHNIC_GROUPS.get(ethnicity, "Not known")


def age_band(date_of_birth: date, on: date) -> str:
    """The age band at `on` (the referral date); 18 and over fall in the last band the service serves."""
    years = age_in_whole_years(date_of_birth, on)
    if years < 1:
        return "under 1"
    if years <= 4:
        return "1-4"
    if years <= 9:
        return "5-9"
    if years <= 15:
        return "10-15"
    return "16-17"


def group_of(by: str, *, ethnicity: str, sex: str, date_of_birth: date, referred_on: date,
             primary_language: str, interpreter_needed: bool) -> str:
    """The group a child falls in for one grouping; `by` must be one of GROUPINGS."""
    if by == "ethnic_group":
        return ethnic_group(ethnicity)
    if by == "ethnicity":
        return ethnicity
    if by == "primary_language":
        return primary_language
    if by == "interpreter_needed":
        return "true" if interpreter_needed else "false"
    if by == "sex":
        return sex
    if by == "age_band":
        return age_band(date_of_birth, referred_on)
    raise ValueError(f"unknown grouping {by!r}")


def shown_count(n: int) -> int | str:
    """A count as published: 1 to 4 becomes '<5' (0 is shown: it discloses nobody)."""
    return SUPPRESSED if 1 <= n < MIN_SHOWN else n


def shown_rate(numerator: int, denominator: int) -> Decimal | None:
    """A rate as published: none when the denominator is under 10; else four decimals, half up."""
    if denominator < MIN_DENOMINATOR:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Suppressed:
    """A stage's count and rate after suppression, ready for any page or export."""

    count: int | str
    rate: Decimal | None


def suppress(numerator: int, denominator: int) -> Suppressed:
    return Suppressed(shown_count(numerator), shown_rate(numerator, denominator))
