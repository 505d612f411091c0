"""The statutory timers: consent within 14 days, the eligibility assessment within 10 working days; and an
intervention running past its expected end.

A timer is overdue on the day after its due date: the due date itself is still on time. Every read decides
these from the dates as of the day it reads (a referral entered late shows overdue at once); escalations are
sent once per referral by the timer run, and these rules only say whether one is owed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from referral_svc.domain.vocab import ReferralStatus as S

OPEN: frozenset[S] = frozenset(S) - {S.CLOSED, S.WITHDRAWN}
AWAITING_DECISION: frozenset[S] = frozenset({S.RECEIVED, S.ASSESSING})
ACTIVE_INTERVENTION = "active"


def days_overdue(due_on: date, as_of: date) -> int:
    """Whole days past the due date; 0 on or before it."""
    return max(0, (as_of - due_on).days)


def consent_overdue(*, status: str, consent_due_on: date, consent_signed_on: date | None, as_of: date) -> bool:
    """Consent is overdue for an open referral with no signed consent after its due date."""
    return S(status) in OPEN and consent_signed_on is None and as_of > consent_due_on


def past_expected_end(*, status: str, expected_end_on: date, as_of: date) -> bool:
    """An active intervention is past its expected end from the day after `expected_end_on` (a closed one never
    is: it ended when it ended)."""
    return status == ACTIVE_INTERVENTION and as_of > expected_end_on


def assessment_overdue(*, status: str, assessment_due_on: date, decided: bool, as_of: date) -> bool:
    """The assessment is overdue while no eligibility decision has been made after its due date."""
    return S(status) in AWAITING_DECISION and not decided and as_of > assessment_due_on


@dataclass(frozen=True)
class Overdue:
    timer: str  # "consent" | "assessment"
    due_on: date
    days_overdue: int


def overdue_timers(
    *, status: str, consent_due_on: date, consent_signed_on: date | None, assessment_due_on: date,
    decided: bool, as_of: date,
) -> list[Overdue]:
    """The timers of one referral that are overdue on `as_of`, consent first."""
    found = []
    if consent_overdue(status=status, consent_due_on=consent_due_on, consent_signed_on=consent_signed_on, as_of=as_of):
        found.append(Overdue("consent", consent_due_on, days_overdue(consent_due_on, as_of)))
    if assessment_overdue(status=status, assessment_due_on=assessment_due_on, decided=decided, as_of=as_of):
        found.append(Overdue("assessment", assessment_due_on, days_overdue(assessment_due_on, as_of)))
    return found
