"""Consent and assessment timers against hand-worked dates, plus properties of working-day arithmetic.

The table's expected dates were worked out by hand from the GOV.UK bank holiday list, not by
running the code: count forward from the day AFTER the referral, skipping Saturdays, Sundays
and bank holidays, and stop at the tenth working day.
"""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral_svc.domain.working_days import (
    add_working_days,
    assessment_due_on,
    bank_holidays,
    consent_due_on,
    is_working_day,
)

D = date

# fmt: off
# England and Wales bank holidays as published on GOV.UK, substitute days included.
GOV_UK_BANK_HOLIDAYS = {
    2022: [D(2022, 1, 3), D(2022, 4, 15), D(2022, 4, 18), D(2022, 5, 2), D(2022, 6, 2), D(2022, 6, 3),
           D(2022, 8, 29), D(2022, 9, 19), D(2022, 12, 26), D(2022, 12, 27)],
    2023: [D(2023, 1, 2), D(2023, 4, 7), D(2023, 4, 10), D(2023, 5, 1), D(2023, 5, 8), D(2023, 5, 29),
           D(2023, 8, 28), D(2023, 12, 25), D(2023, 12, 26)],
    2024: [D(2024, 1, 1), D(2024, 3, 29), D(2024, 4, 1), D(2024, 5, 6), D(2024, 5, 27), D(2024, 8, 26),
           D(2024, 12, 25), D(2024, 12, 26)],
    2025: [D(2025, 1, 1), D(2025, 4, 18), D(2025, 4, 21), D(2025, 5, 5), D(2025, 5, 26), D(2025, 8, 25),
           D(2025, 12, 25), D(2025, 12, 26)],
    2026: [D(2026, 1, 1), D(2026, 4, 3), D(2026, 4, 6), D(2026, 5, 4), D(2026, 5, 25), D(2026, 8, 31),
           D(2026, 12, 25), D(2026, 12, 28)],
}

# referred_on, consent_due_on (+14 days), assessment_due_on (+10 working days), why the row is here
TIMERS = [
    (D(2024, 6, 3), D(2024, 6, 17), D(2024, 6, 17),
     "Mon, no holiday: 10 working days = two calendar weeks"),
    (D(2025, 10, 10), D(2025, 10, 24), D(2025, 10, 24),
     "Fri, no holiday: Mon 13 is day 1, Fri 24 day 10"),
    (D(2024, 2, 29), D(2024, 3, 14), D(2024, 3, 14),
     "leap day referral: Fri 1 Mar is day 1"),
    (D(2025, 3, 8), D(2025, 3, 22), D(2025, 3, 21),
     "Saturday referral: Mon 10 is day 1, so due Fri 21, a day before the consent date"),
    (D(2023, 4, 7), D(2023, 4, 21), D(2023, 4, 24),
     "referred ON Good Friday 2023: Easter Mon 10 skipped, Tue 11 is day 1, Mon 24 day 10"),
    (D(2024, 3, 28), D(2024, 4, 11), D(2024, 4, 15),
     "Thu before Easter 2024: Good Fri 29 Mar and Easter Mon 1 Apr skipped; Tue 2 Apr day 1"),
    (D(2025, 4, 14), D(2025, 4, 28), D(2025, 4, 30),
     "Easter 2025 inside the window: Fri 18 and Mon 21 Apr skipped, Wed 30 Apr day 10"),
    (D(2026, 4, 1), D(2026, 4, 15), D(2026, 4, 17),
     "Easter 2026: Thu 2 Apr day 1, Fri 3 and Mon 6 skipped, Fri 17 day 10"),
    (D(2023, 4, 28), D(2023, 5, 12), D(2023, 5, 16),
     "early May (1 May) and coronation (8 May 2023) both skipped: Tue 2 May day 1"),
    (D(2023, 5, 2), D(2023, 5, 16), D(2023, 5, 17),
     "coronation bank holiday Mon 8 May 2023 alone: one day later than a plain fortnight"),
    (D(2024, 5, 5), D(2024, 5, 19), D(2024, 5, 20),
     "Sunday before early May bank holiday (Mon 6 May 2024): Tue 7 is day 1"),
    (D(2026, 5, 2), D(2026, 5, 16), D(2026, 5, 18),
     "Saturday before early May bank holiday (Mon 4 May 2026): Tue 5 is day 1, Mon 18 day 10"),
    (D(2023, 5, 26), D(2023, 6, 9), D(2023, 6, 12),
     "Fri before spring bank holiday (Mon 29 May 2023): Tue 30 May day 1"),
    (D(2025, 5, 24), D(2025, 6, 7), D(2025, 6, 9),
     "Saturday before spring bank holiday (Mon 26 May 2025): Tue 27 day 1, Mon 9 Jun day 10"),
    (D(2024, 8, 21), D(2024, 9, 4), D(2024, 9, 5),
     "summer bank holiday Mon 26 Aug 2024 inside the window"),
    (D(2026, 8, 31), D(2026, 9, 14), D(2026, 9, 14),
     "referred ON the summer bank holiday 2026: Tue 1 Sep is day 1, Mon 14 Sep day 10"),
    (D(2022, 12, 23), D(2023, 1, 6), D(2023, 1, 11),
     "Christmas 2022 on a Sunday: Boxing Day Mon 26, substitute Tue 27, New Year substitute "
     "Mon 2 Jan all skipped; Wed 28 Dec day 1, Wed 11 Jan day 10"),
    (D(2023, 12, 25), D(2024, 1, 8), D(2024, 1, 10),
     "referred ON Christmas Day 2023: Boxing Day and New Year's Day skipped, Wed 27 Dec day 1"),
    (D(2025, 12, 22), D(2026, 1, 5), D(2026, 1, 8),
     "Christmas 2025 (Thu/Fri) and New Year (Thu) skipped, across the year end"),
    (D(2026, 12, 24), D(2027, 1, 7), D(2027, 1, 12),
     "Boxing Day 2026 on a Saturday: Fri 25, substitute Mon 28 and Fri 1 Jan 2027 skipped; "
     "Tue 29 day 1, Tue 12 Jan 2027 day 10"),
]
# fmt: on


@pytest.mark.parametrize("referred_on, consent, assessment, why", TIMERS, ids=[r[3][:40] for r in TIMERS])
def test_timers(referred_on, consent, assessment, why):
    assert consent_due_on(referred_on) == consent
    assert assessment_due_on(referred_on) == assessment


def test_table_covers_what_it_claims():
    referral_days = {r[0] for r in TIMERS}
    assert len(TIMERS) >= 15
    assert any(d.weekday() == 5 for d in referral_days)
    assert any(d in bank_holidays(d.year) for d in referral_days)
    assert {2022, 2023, 2024, 2025, 2026} <= {d.year for d in referral_days}


@pytest.mark.parametrize("year", sorted(GOV_UK_BANK_HOLIDAYS))
def test_library_agrees_with_gov_uk_on_weekday_bank_holidays(year):
    weekday_holidays = {d for d in bank_holidays(year) if d.weekday() < 5}
    assert weekday_holidays == set(GOV_UK_BANK_HOLIDAYS[year])


def test_substitute_days_and_one_off_holidays_are_not_working_days():
    for day in [D(2022, 12, 27), D(2023, 1, 2), D(2026, 12, 28), D(2023, 5, 8), D(2022, 9, 19)]:
        assert not is_working_day(day)
    assert is_working_day(D(2026, 12, 29))
    assert is_working_day(D(2023, 5, 9))


def test_scottish_and_northern_irish_holidays_do_not_count():
    assert is_working_day(D(2024, 1, 2))  # 2 January, Scotland only
    assert is_working_day(D(2025, 3, 17))  # St Patrick's Day, Northern Ireland only
    assert is_working_day(D(2025, 8, 4))  # Scottish summer holiday
    assert is_working_day(D(2025, 7, 14))  # Battle of the Boyne (substitute), Northern Ireland only


@pytest.mark.parametrize(
    "start, n, expected",
    [
        (D(2024, 6, 7), 0, D(2024, 6, 7)),
        (D(2024, 6, 8), 0, D(2024, 6, 8)),
        (D(2024, 6, 7), 1, D(2024, 6, 10)),
        (D(2024, 3, 28), 1, D(2024, 4, 2)),
        (D(2024, 4, 2), -1, D(2024, 3, 28)),
        (D(2024, 6, 10), -1, D(2024, 6, 7)),
        (D(2023, 12, 22), 3, D(2023, 12, 29)),
        (D(2024, 1, 1), 1, D(2024, 1, 2)),
    ],
)
def test_add_working_days(start, n, expected):
    assert add_working_days(start, n) == expected


days = st.dates(D(2000, 1, 1), D(2040, 12, 31))


@given(days, st.integers(1, 60))
def test_result_is_never_a_weekend_or_bank_holiday(start, n):
    result = add_working_days(start, n)
    assert result.weekday() < 5
    assert result not in bank_holidays(result.year)


@given(days, st.integers(0, 60), st.integers(0, 60))
def test_more_days_never_give_an_earlier_date(start, a, b):
    low, high = sorted((a, b))
    assert add_working_days(start, low) <= add_working_days(start, high)
    if low < high:
        assert add_working_days(start, low) < add_working_days(start, high)


@given(days, days, st.integers(0, 30))
def test_a_later_start_never_gives_an_earlier_date(a, b, n):
    early, late = sorted((a, b))
    assert add_working_days(early, n) <= add_working_days(late, n)


@given(days, st.integers(0, 60))
def test_exactly_n_working_days_lie_after_start_up_to_the_result(start, n):
    result = add_working_days(start, n)
    between = [start + timedelta(days=k) for k in range(1, (result - start).days + 1)]
    assert sum(1 for d in between if d.weekday() < 5 and d not in bank_holidays(d.year)) == n


@given(days, st.integers(0, 60))
def test_going_back_undoes_going_forward_from_a_working_day(start, n):
    if not is_working_day(start):
        return
    assert add_working_days(add_working_days(start, n), -n) == start


@given(days)
def test_assessment_is_due_at_least_12_days_after_referral(referred_on):
    due = assessment_due_on(referred_on)
    assert due - referred_on >= timedelta(days=12)
    assert is_working_day(due)
