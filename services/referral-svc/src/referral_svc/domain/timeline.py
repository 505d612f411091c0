"""A child's timeline: one ordered list of what happened, from dated and timed facts alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

# Within the same instant, a referral comes before what it caused, a start before its status change.
RANK = {
    "referral.received": 0,
    "child.care_status_changed": 1,
    "eligibility.decided": 2,
    "consent.signed": 3,
    "intervention.waitlisted": 4,
    "intervention.started": 5,
    "intervention.closed": 6,
    "referral.status_changed": 7,
    "consent.overdue": 8,
    "assessment.overdue": 9,
    "followup.due": 10,
    # pre-proceedings (s31ZA): on one day, the start, the letter, offers, answers, decisions, meeting, application
    "pre_proceedings.started": 11,
    "pre_proceedings.letter_sent": 12,
    "fgdm.offered": 13,
    "fgdm.responded": 14,
    "fgdm.exception_not_offered": 15,
    "fgdm.offer_overdue": 15,
    "fgdm.meeting_held": 16,
    "fgdm.exception_not_held": 17,
    "care_application.made": 18,
}
PARTNER_RANK = 20


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str
    source: str
    ref: str
    summary: str | None = None


def start_of(day: date) -> datetime:
    """A date-only fact (referred on, started on) placed at the start of its day (UTC)."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def ordered(items: list[TimelineItem]) -> list[TimelineItem]:
    """Oldest first; ties broken by the kind's place in the journey, then by reference."""
    return sorted(items, key=lambda i: (i.at, RANK.get(i.kind, PARTNER_RANK), i.ref))
