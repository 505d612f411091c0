"""Whole-year ages, including the 29 February birthday rule."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral_svc.domain.ages import age_in_whole_years, birthday_in


@pytest.mark.parametrize(
    "born, on, age",
    [
        (date(2010, 6, 15), date(2010, 6, 15), 0),
        (date(2010, 6, 15), date(2021, 6, 14), 10),
        (date(2010, 6, 15), date(2021, 6, 15), 11),
        (date(2010, 6, 15), date(2021, 6, 16), 11),
        (date(2006, 12, 31), date(2023, 12, 30), 16),
        (date(2006, 12, 31), date(2023, 12, 31), 17),
        (date(2007, 1, 1), date(2024, 12, 31), 17),
        # 29 February: in a common year the birthday counts on 1 March
        (date(2008, 2, 29), date(2019, 2, 28), 10),
        (date(2008, 2, 29), date(2019, 3, 1), 11),
        (date(2008, 2, 29), date(2020, 2, 28), 11),
        (date(2008, 2, 29), date(2020, 2, 29), 12),
        (date(2008, 2, 29), date(2025, 2, 28), 16),
        (date(2008, 2, 29), date(2025, 3, 1), 17),
        (date(2012, 2, 29), date(2023, 2, 28), 10),
        (date(2012, 2, 29), date(2023, 3, 1), 11),
        # born 28 February or 1 March: unaffected by leap years
        (date(2008, 2, 28), date(2019, 2, 28), 11),
        (date(2008, 3, 1), date(2020, 2, 29), 11),
        (date(2008, 3, 1), date(2020, 3, 1), 12),
    ],
)
def test_age(born, on, age):
    assert age_in_whole_years(born, on) == age


def test_birthday_in_common_and_leap_years():
    assert birthday_in(date(2008, 2, 29), 2023) == date(2023, 3, 1)
    assert birthday_in(date(2008, 2, 29), 2024) == date(2024, 2, 29)
    assert birthday_in(date(2008, 7, 4), 2023) == date(2023, 7, 4)


def test_a_date_before_birth_is_refused():
    with pytest.raises(ValueError, match="before the date of birth"):
        age_in_whole_years(date(2015, 5, 2), date(2015, 5, 1))


def test_datetimes_count_by_their_date():
    on = datetime(2021, 6, 15, 0, 30, tzinfo=UTC)
    assert age_in_whole_years(date(2010, 6, 15), on) == 11


@given(st.dates(date(1990, 1, 1), date(2030, 12, 31)), st.integers(0, 40 * 366))
def test_age_agrees_with_counting_birthdays(born, days_later):
    on = born + timedelta(days=days_later)
    if on.year > 9999:
        return
    birthdays = sum(1 for y in range(born.year + 1, on.year + 1) if birthday_in(born, y) <= on)
    assert age_in_whole_years(born, on) == birthdays


@given(st.dates(date(1990, 1, 1), date(2030, 12, 31)), st.integers(0, 30 * 366), st.integers(0, 400))
def test_age_never_decreases(born, a, b):
    first = born + timedelta(days=a)
    assert age_in_whole_years(born, first) <= age_in_whole_years(born, first + timedelta(days=b))
