"""Which events break a child's outcome, and what the service is told to change."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from outcomes_svc.domain.detection import (
    MarkReReferred,
    ReReferral,
    SituationSeen,
    TrackedFollowup,
    detect_care_entry,
    detect_custody,
    detect_re_referral,
    local_day,
)

D = date.fromisoformat

# Child C1: intervention I1 (from referral R1) closed 2023-06-30.
CLOSED = D("2023-06-30")
F6 = TrackedFollowup("F6", "C1", "I1", "R1", CLOSED, 6, D("2023-12-30"), recorded=True)
F12 = TrackedFollowup("F12", "C1", "I1", "R1", CLOSED, 12, D("2024-06-30"), recorded=False)
F18 = TrackedFollowup(
    "F18", "C1", "I1", "R1", CLOSED, 18, D("2024-12-30"), recorded=False, re_referred_on=D("2024-01-01")
)
F24 = TrackedFollowup(
    "F24", "C1", "I1", "R1", CLOSED, 24, D("2025-06-30"), recorded=False, re_referred_on=D("2024-09-01")
)
FOLLOWUPS = [F6, F12, F18, F24]


def test_a_new_referral_after_closure_marks_the_open_followups() -> None:
    result = detect_re_referral(child_id="C1", referral_id="R2", referred_on=D("2024-03-15"), followups=FOLLOWUPS)
    assert result == ReReferral(
        "C1",
        "R2",
        D("2024-03-15"),
        (
            MarkReReferred("F12", "C1", "I1", "R2", D("2024-03-15")),
            MarkReReferred("F24", "C1", "I1", "R2", D("2024-03-15")),  # moved back from 2024-09-01
        ),
    )


def test_a_referral_on_the_day_of_closure_is_a_re_referral() -> None:
    result = detect_re_referral(child_id="C1", referral_id="R2", referred_on=CLOSED, followups=[F12])
    assert result is not None
    assert [m.followup_id for m in result.marks] == ["F12"]


def test_a_re_referral_with_nothing_open_is_still_recorded() -> None:
    result = detect_re_referral(child_id="C1", referral_id="R2", referred_on=D("2024-03-15"), followups=[F6])
    assert result == ReReferral("C1", "R2", D("2024-03-15"), ())


@pytest.mark.parametrize(
    ("referral_id", "referred_on", "followups"),
    [
        ("R1", D("2024-03-15"), FOLLOWUPS),  # the referral the closed intervention served
        ("R2", D("2023-06-29"), FOLLOWUPS),  # before the closure
        ("R2", D("2024-03-15"), []),  # never had an intervention closed
    ],
)
def test_not_a_re_referral(referral_id: str, referred_on: date, followups: list[TrackedFollowup]) -> None:
    result = detect_re_referral(child_id="C1", referral_id=referral_id, referred_on=referred_on, followups=followups)
    assert result is None


def test_only_closures_before_the_referral_are_marked() -> None:
    later = TrackedFollowup("G6", "C1", "I2", "R3", D("2024-05-01"), 6, D("2024-11-01"), recorded=False)
    result = detect_re_referral(child_id="C1", referral_id="R4", referred_on=D("2024-03-15"), followups=[F12, later])
    assert result is not None
    assert [m.followup_id for m in result.marks] == ["F12"]


def test_another_childs_followups_are_a_caller_error() -> None:
    stranger = TrackedFollowup("X", "C2", "I9", "R9", CLOSED, 6, D("2023-12-30"), recorded=False)
    with pytest.raises(ValueError, match="another child"):
        detect_re_referral(child_id="C1", referral_id="R2", referred_on=D("2024-03-15"), followups=[F12, stranger])


def test_becoming_looked_after_is_a_care_entry() -> None:
    result = detect_care_entry(
        child_id="C1", legal_status_before="CPP", legal_status="LAC", effective_on=D("2024-02-01"),
        followups=FOLLOWUPS, ref="event-1",
    )
    assert result == SituationSeen("C1", "in_care", D("2024-02-01"), "child.updated", "event-1", ("F12", "F18", "F24"))


@pytest.mark.parametrize(
    ("before", "after", "on"),
    [
        ("LAC", "LAC", D("2024-02-01")),  # a new placement, not a new entry
        ("CPP", "CIN", D("2024-02-01")),
        ("LAC", "NONE", D("2024-02-01")),
        ("CPP", "LAC", D("2023-06-29")),  # before the intervention closed
    ],
)
def test_not_a_care_entry(before: str, after: str, on: date) -> None:
    assert detect_care_entry(
        child_id="C1", legal_status_before=before, legal_status=after, effective_on=on, followups=FOLLOWUPS
    ) is None


def test_a_custody_event() -> None:
    result = detect_custody(
        child_id="C1", kind=" Custody ", occurred_at=datetime(2024, 6, 30, 23, 30, tzinfo=timezone.utc),
        followups=FOLLOWUPS, ref="pe-1",
    )
    # 23:30 UTC on 30 June is 00:30 on 1 July in British Summer Time
    assert result == SituationSeen(
        "C1", "custody", D("2024-07-01"), "partner.event.received", "pe-1", ("F12", "F18", "F24")
    )


def test_other_partner_events_change_nothing() -> None:
    assert detect_custody(child_id="C1", kind="arrest", occurred_at=D("2024-02-01"), followups=FOLLOWUPS) is None
    assert detect_custody(child_id="C1", kind="custody", occurred_at=D("2023-01-01"), followups=FOLLOWUPS) is None


def test_local_day() -> None:
    assert local_day(datetime(2024, 1, 15, 23, 30, tzinfo=timezone.utc)) == D("2024-01-15")  # GMT
    assert local_day(datetime(2024, 6, 30, 23, 30)) == D("2024-06-30")  # naive: already local
    assert local_day(D("2024-06-30")) == D("2024-06-30")
