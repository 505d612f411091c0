"""Consent and assessment timers: overdue the day after the due date, only while it still matters."""

from datetime import date

import pytest

from referral_svc.domain.timers import (
    Overdue,
    assessment_overdue,
    consent_overdue,
    days_overdue,
    overdue_timers,
    past_expected_end,
)
from referral_svc.domain.vocab import ReferralStatus as S

DUE = date(2024, 5, 15)


@pytest.mark.parametrize(
    "as_of, overdue",
    [(date(2024, 5, 14), False), (DUE, False), (date(2024, 5, 16), True), (date(2025, 1, 1), True)],
)
def test_consent_is_overdue_the_day_after_it_was_due(as_of, overdue):
    assert consent_overdue(status="received", consent_due_on=DUE, consent_signed_on=None, as_of=as_of) is overdue


def test_signed_consent_is_never_overdue_even_if_signed_late():
    assert not consent_overdue(status="assessing", consent_due_on=DUE, consent_signed_on=date(2024, 6, 1),
                               as_of=date(2024, 7, 1))


@pytest.mark.parametrize("status", [S.CLOSED, S.WITHDRAWN])
def test_finished_referrals_are_not_chased(status):
    assert not consent_overdue(status=status, consent_due_on=DUE, consent_signed_on=None, as_of=date(2024, 6, 1))
    assert not assessment_overdue(status=status, assessment_due_on=DUE, decided=False, as_of=date(2024, 6, 1))


@pytest.mark.parametrize("status", [S.ELIGIBLE, S.INELIGIBLE, S.ACTIVE, S.WAITLISTED])
def test_consent_still_chased_while_the_case_goes_on(status):
    assert consent_overdue(status=status, consent_due_on=DUE, consent_signed_on=None, as_of=date(2024, 6, 1))


def test_assessment_overdue_only_while_undecided():
    late = date(2024, 5, 17)
    assert assessment_overdue(status="received", assessment_due_on=DUE, decided=False, as_of=late)
    assert assessment_overdue(status="assessing", assessment_due_on=DUE, decided=False, as_of=late)
    assert not assessment_overdue(status="assessing", assessment_due_on=DUE, decided=True, as_of=late)
    assert not assessment_overdue(status="eligible", assessment_due_on=DUE, decided=True, as_of=late)
    assert not assessment_overdue(status="received", assessment_due_on=DUE, decided=False, as_of=DUE)


def test_days_overdue_never_negative():
    assert days_overdue(DUE, date(2024, 5, 10)) == 0
    assert days_overdue(DUE, DUE) == 0
    assert days_overdue(DUE, date(2024, 5, 20)) == 5


def test_overdue_timers_lists_consent_first():
    found = overdue_timers(status="received", consent_due_on=date(2024, 5, 15), consent_signed_on=None,
                           assessment_due_on=date(2024, 5, 16), decided=False, as_of=date(2024, 5, 20))
    assert found == [Overdue("consent", date(2024, 5, 15), 5), Overdue("assessment", date(2024, 5, 16), 4)]
    assert overdue_timers(status="received", consent_due_on=DUE, consent_signed_on=None,
                          assessment_due_on=DUE, decided=False, as_of=DUE) == []


@pytest.mark.parametrize(("status", "as_of", "past"), [
    ("active", "2024-09-30", False),   # its expected last day
    ("active", "2024-10-01", True),    # the day after
    ("closed", "2030-01-01", False),   # a closed intervention ended when it ended
])
def test_an_intervention_is_past_its_expected_end_the_day_after_it(status, as_of, past):
    assert past_expected_end(status=status, expected_end_on=date(2024, 9, 30), as_of=date.fromisoformat(as_of)) is past
