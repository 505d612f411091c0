from datetime import date
from decimal import Decimal

import pytest

from referral_svc.domain.groupings import age_band, ethnic_group, group_of, shown_count, shown_rate


@pytest.mark.parametrize("n,shown", [(0, 0), (1, "<5"), (4, "<5"), (5, 5), (9, 9), (10, 10)])
def test_counts_from_one_to_four_are_suppressed(n: int, shown: object) -> None:
    assert shown_count(n) == shown


def test_rates_need_a_denominator_of_ten() -> None:
    assert shown_rate(3, 9) is None
    assert shown_rate(3, 10) == Decimal("0.3000")
    assert shown_rate(2, 3 * 10) == Decimal("0.0667")


@pytest.mark.parametrize("code,group", [("WBRI", "White"), ("MWAS", "Mixed"), ("APKN", "Asian"), ("BAFR", "Black"),
                                        ("CHNE", "Chinese"), ("OOTH", "Other"), ("REFU", "Not known"), ("NOBT", "Not known")])
def test_ethnic_groups(code: str, group: str) -> None:
    assert ethnic_group(code) == group


@pytest.mark.parametrize("dob,band", [(date(2025, 6, 1), "under 1"), (date(2025, 5, 31), "1-4"), (date(2021, 6, 2), "1-4"),
                                      (date(2021, 5, 31), "5-9"), (date(2016, 6, 1), "5-9"), (date(2016, 5, 31), "10-15"), (date(2010, 6, 1), "10-15"), (date(2010, 5, 31), "16-17")])
def test_age_band_at_referral(dob: date, band: str) -> None:
    assert age_band(dob, date(2026, 5, 31)) == band


def test_group_of_each_grouping() -> None:
    child = dict(ethnicity="BCRB", sex="F", date_of_birth=date(2012, 1, 1), referred_on=date(2026, 4, 1),
                 primary_language="pl", interpreter_needed=True)
    assert [group_of(by, **child) for by in ("ethnic_group", "ethnicity", "primary_language", "interpreter_needed", "sex", "age_band")] \
        == ["Black", "BCRB", "pl", "true", "F", "10-15"]
