"""Timeline ordering and the intervention helpers added for the case journey."""

from datetime import UTC, date, datetime

from referral_svc.domain.interventions import (
    living_situation_on_record,
    needs_waiting_list,
    start_from_waiting_list_on,
    superseded_closed_on,
)
from referral_svc.domain.timeline import TimelineItem, ordered, start_of


def test_dated_facts_sit_at_the_start_of_their_day():
    assert start_of(date(2024, 5, 1)) == datetime(2024, 5, 1, tzinfo=UTC)


def test_timeline_oldest_first_then_journey_order():
    day = start_of(date(2024, 6, 1))
    items = [
        TimelineItem(day, "referral.status_changed", "referral-svc", "r"),
        TimelineItem(datetime(2024, 5, 20, 9, tzinfo=UTC), "arrest", "police", "p"),
        TimelineItem(day, "intervention.started", "referral-svc", "i"),
        TimelineItem(start_of(date(2024, 5, 1)), "referral.received", "referral-svc", "r"),
    ]
    assert [i.kind for i in ordered(items)] == [
        "referral.received", "arrest", "intervention.started", "referral.status_changed",
    ]


def test_capacity_counts_families_not_interventions():
    assert needs_waiting_list(family_already_active=False, active_families=2, limit=2)
    assert not needs_waiting_list(family_already_active=True, active_families=2, limit=2)
    assert not needs_waiting_list(family_already_active=False, active_families=1, limit=2)
    assert not needs_waiting_list(family_already_active=False, active_families=99, limit=None)
    assert needs_waiting_list(family_already_active=False, active_families=0, limit=0)


def test_superseded_never_closes_before_it_started():
    assert superseded_closed_on(date(2024, 6, 1), date(2024, 5, 1)) == date(2024, 6, 1)
    assert superseded_closed_on(date(2024, 6, 1), date(2024, 6, 10)) == date(2024, 6, 10)


def test_a_freed_place_starts_on_the_day_it_freed_or_the_later_requested_day():
    assert start_from_waiting_list_on(date(2024, 7, 1), date(2024, 6, 1), date(2024, 5, 1)) == date(2024, 7, 1)
    assert start_from_waiting_list_on(date(2024, 7, 1), date(2024, 7, 5), date(2024, 5, 1)) == date(2024, 7, 5)


def test_living_situation_from_the_record():
    assert living_situation_on_record("LAC", "U6") == ("in_care", "U6")
    assert living_situation_on_record("CPP", None) == ("at_home", None)
    assert living_situation_on_record("CIN", "P1") == ("at_home", None)
