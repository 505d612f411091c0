"""The s31ZA rules: offers due in 5 working days, unmet duties, date order, the report's counting."""

from __future__ import annotations

import uuid
from datetime import date

from referral_svc.domain import fgdm_report as report
from referral_svc.domain import pre_proceedings as pp

P1, P2 = uuid.uuid4(), uuid.uuid4()
C1, C2 = uuid.uuid4(), uuid.uuid4()


def record(**kw) -> pp.Record:
    base = dict(started_on=date(2026, 5, 1), letter_before_proceedings_on=date(2026, 5, 5),
                parties=[pp.Party(P1, "mother", (C1,)), pp.Party(P2, "father", (C1,))])
    return pp.Record(**{**base, **kw})


def test_offers_are_due_five_working_days_after_start_skipping_bank_holidays() -> None:
    assert pp.offer_due_on(date(2026, 5, 1)) == date(2026, 5, 11)  # Fri; Mon 4 May is a bank holiday
    assert pp.offer_due_on(date(2026, 11, 23)) == date(2026, 11, 30)
    assert pp.offer_due_on(date(2026, 12, 21)) == date(2026, 12, 30)  # Christmas Fri, Boxing Day substitute Mon 28


def test_every_unmet_duty_is_named() -> None:
    r = record()
    unmet = pp.application_unmet(r, date(2026, 6, 1), urgent=False)
    assert len(unmet) == 2 and all("offer duty" in u for u in unmet)
    assert str(P1) in unmet[0] and str(P2) in unmet[1]
    no_letter = record(letter_before_proceedings_on=None, parties=[])
    assert [u.split(":")[0] for u in pp.application_unmet(no_letter, date(2026, 6, 1), urgent=False)] == [
        "letter before proceedings", "offer duty"]


def test_acceptance_needs_a_meeting_before_the_application_unless_not_held() -> None:
    offers = [pp.Offer(uuid.uuid4(), P1, date(2026, 5, 2), "accepted", date(2026, 5, 3))]
    excepted = [pp.Exception_("not_offered", "party_cannot_be_found", P2)]
    r = record(offers=offers, exceptions=excepted)
    assert [u.split(":")[0] for u in pp.fgdm_unmet(r, date(2026, 6, 1))] == ["meeting duty"]
    held = record(offers=offers, exceptions=excepted, meetings=[pp.Meeting(date(2026, 6, 1))])
    assert pp.fgdm_unmet(held, date(2026, 6, 1)) == []
    assert pp.fgdm_unmet(held, date(2026, 5, 31)) != [], "a meeting after the application does not count"
    waived = record(offers=offers, exceptions=[*excepted, pp.Exception_("not_held", "urgency")])
    assert pp.fgdm_unmet(waived, date(2026, 6, 1)) == []
    # Urgency sets aside the offers, never an accepted party's meeting.
    assert [u.split(":")[0] for u in pp.fgdm_unmet(record(offers=offers), date(2026, 6, 1), urgent=True)] == [
        "meeting duty"]
    c = pp.compliance(held, date(2026, 6, 2))
    assert (c.all_parties_offered, c.any_accepted, c.meeting_held, c.ready_to_apply, c.unmet) == (
        True, True, True, True, [])
    assert pp.compliance(held, date(2026, 6, 2), applied=True).ready_to_apply is False


def test_dates_out_of_order_name_the_field() -> None:
    today = date(2026, 6, 10)
    assert pp.check_offer(date(2026, 4, 30), started_on=date(2026, 5, 1), today=today).field == "offered_on"
    assert pp.check_offer(date(2026, 6, 11), started_on=date(2026, 5, 1), today=today).field == "offered_on"
    assert pp.check_offer(date(2026, 6, 10), started_on=date(2026, 5, 1), today=today) is None
    assert pp.check_response(date(2026, 5, 1), offered_on=date(2026, 5, 2), today=today).field == "responded_on"
    offers = [pp.Offer(uuid.uuid4(), P1, date(2026, 5, 2), "accepted", date(2026, 5, 6))]
    assert pp.check_meeting(date(2026, 5, 5), offers=offers, today=today).field == "held_on"
    assert pp.check_meeting(date(2026, 5, 6), offers=offers, today=today) is None
    r = record()
    assert pp.check_application(date(2026, 5, 4), record=r, urgent=False, today=today).field == "applied_on"
    assert pp.check_application(date(2026, 5, 4), record=r, urgent=True, today=today) is None


def test_offer_overdue_only_after_the_due_day_while_a_party_is_not_offered() -> None:
    r = record()
    due = date(2026, 5, 11)
    assert not pp.offer_overdue(r, offer_due_on=due, as_of=due, open_=True)
    assert pp.offer_overdue(r, offer_due_on=due, as_of=date(2026, 5, 12), open_=True)
    assert not pp.offer_overdue(r, offer_due_on=due, as_of=date(2026, 5, 12), open_=False)
    offered = record(offers=[pp.Offer(uuid.uuid4(), P1, date(2026, 5, 2))],
                     exceptions=[pp.Exception_("not_offered", "risk_of_harm", P2)])
    assert not pp.offer_overdue(offered, offer_due_on=due, as_of=date(2026, 5, 12), open_=True)
    assert pp.offer_overdue(record(parties=[]), offer_due_on=due, as_of=date(2026, 5, 12), open_=True)


def test_quarters_of_a_financial_year() -> None:
    assert report.quarter_bounds(2026, 1) == (date(2026, 4, 1), date(2026, 6, 30))
    assert report.quarter_bounds(2026, 3) == (date(2026, 10, 1), date(2026, 12, 31))
    assert report.quarter_bounds(2026, 4) == (date(2027, 1, 1), date(2027, 3, 31))


def test_groups_count_a_record_once_per_group_and_parties_by_their_children() -> None:
    kid = lambda cid, eth: report.ChildFacts(cid, eth, "F", date(2015, 1, 1), date(2026, 5, 1), "en", False)  # noqa: E731
    offers = [pp.Offer(uuid.uuid4(), P1, date(2026, 5, 2), "accepted", date(2026, 5, 3)),
              pp.Offer(uuid.uuid4(), P2, date(2026, 5, 2), "declined", date(2026, 5, 3))]
    facts = report.RecordFacts(
        date(2026, 5, 1), date(2026, 5, 2), [pp.Party(P1, "mother", (C1, C2)), pp.Party(P2, "father", (C2,))],
        offers, [pp.Meeting(date(2026, 5, 20))], [], report.Application(date(2026, 6, 1), False),
        [kid(C1, "WBRI"), kid(C2, "BAFR")])
    groups = report.by_group([facts], "ethnic_group")
    assert list(groups) == ["Black", "White"]
    assert (groups["White"].started, groups["White"].parties, groups["White"].offers_accepted) == (1, 1, 1)
    assert (groups["Black"].started, groups["Black"].parties, groups["Black"].parties_offered) == (1, 2, 2)
    total = report.total([facts])
    assert (total.parties, total.applications, total.applications_with_meeting_before,
            total.applications_without_compliant_fgdm) == (2, 1, 1, 0)
