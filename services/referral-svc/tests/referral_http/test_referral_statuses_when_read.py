"""Statuses the calendar changes are what the dates say when read: consent and assessment overdue, an
intervention past its expected end — in the referral, its lists and filters, the work lists and the
operations report, at once for a case entered late, with no timer run."""

from __future__ import annotations

import uuid
from datetime import date

from eoc_shared.clock import fixed_today, today

D = date.fromisoformat


async def test_a_back_dated_referral_is_overdue_at_once_with_no_timer_run(quiet, sw, tm, ops) -> None:
    """Referred on Monday 4 March 2024, entered years later: consent was due on the 18th (14 days), the
    assessment on the 18th too (10 working days). No timer has run; every read says overdue."""
    team = "late-" + uuid.uuid4().hex[:8]
    family_id, children = await quiet.family()
    made = await quiet.referral(family_id, children, referred_on="2024-03-04", team=team)
    assert (made["consent_due_on"], made["assessment_due_on"]) == ("2024-03-18", "2024-03-18")
    assert (made["consent_overdue"], made["assessment_overdue"]) == (True, True)

    shown = (await quiet.client.get(f"/referrals/{made['id']}", headers=sw)).json()
    assert (shown["consent_overdue"], shown["assessment_overdue"]) == (True, True)
    assert shown["consent_overdue_escalated_on"] is None  # nothing escalated: the reads do not wait for that

    listed = (await quiet.client.get("/referrals", params={"team": team, "overdue": "consent"}, headers=tm)).json()
    assert [(r["id"], r["consent_overdue"], r["assessment_overdue"]) for r in listed] == [(made["id"], True, True)]
    grouped = (await quiet.client.get("/referrals/worklists/by-status", params={"team": team}, headers=tm)).json()
    assert grouped["referrals"]["received"][0]["consent_overdue"] is True
    worklist = (await quiet.client.get("/referrals/worklists/overdue", params={"team": team}, headers=tm)).json()
    assert [t["timer"] for t in worklist[0]["overdue"]] == ["consent", "assessment"]
    pulse = (await quiet.client.get("/referrals/reports/operations", headers=ops)).json()
    assert pulse["consent_overdue"] >= 1 and pulse["assessments_breached"] >= 1

    # On the due day itself nothing is overdue yet; the day after, both are.
    with fixed_today(D("2024-03-18")):
        on_the_day = (await quiet.client.get(f"/referrals/{made['id']}", headers=sw)).json()
        assert (on_the_day["consent_overdue"], on_the_day["assessment_overdue"]) == (False, False)
        assert (await quiet.client.get("/referrals", params={"team": team, "overdue": "consent"}, headers=tm)).json() == []
    with fixed_today(D("2024-03-19")):
        assert len((await quiet.client.get("/referrals", params={"team": team, "overdue": ["consent", "assessment"]},
                                           headers=tm)).json()) == 1

    # Consent signed (late): no longer overdue in any read; the assessment still is (no decision).
    r = await quiet.client.post(f"/referrals/{made['id']}/consent", json={"signed_on": "2024-03-25"}, headers=sw)
    assert r.status_code == 200 and (r.json()["consent_overdue"], r.json()["assessment_overdue"]) == (False, True)
    assert (await quiet.client.get("/referrals", params={"team": team, "overdue": "consent"}, headers=tm)).json() == []
    listed = (await quiet.client.get("/referrals", params={"team": team, "overdue": "assessment"}, headers=tm)).json()
    assert [r["id"] for r in listed] == [made["id"]]
    assert (await quiet.client.get("/referrals", params={"overdue": "eventually"}, headers=tm)).status_code == 422


async def test_an_intervention_past_its_expected_end_shows_so_until_closed_back_dated(svc, sw, ops) -> None:
    """Started on 4 January 2021 (MST_BSF, 9 months: expected to end 4 October 2021) and entered late: past its
    expected end in every read at once; a back-dated closure ends that at once too."""
    practitioner = "pr-late-" + uuid.uuid4().hex[:8]
    _family, children, referral_id = await svc.eligible_case(referred_on="2020-12-14")
    r = await svc.start(referral_id, "MST_BSF", started_on="2021-01-04", practitioner=practitioner)
    assert r.status_code == 201, r.text
    started = r.json()
    assert (started["expected_end_on"], started["past_expected_end"]) == ("2021-10-04", True)
    iv = started["id"]
    assert (await svc.client.get(f"/referrals/interventions/{iv}", headers=sw)).json()["past_expected_end"] is True
    shown = (await svc.client.get(f"/referrals/{referral_id}", headers=sw)).json()
    assert [i["past_expected_end"] for i in shown["interventions"]] == [True]
    overrunning = (await svc.client.get("/referrals/interventions", headers=sw, params={
        "practitioner": practitioner, "past_expected_end": "true"})).json()
    assert [i["id"] for i in overrunning] == [iv]
    assert (await svc.client.get("/referrals/interventions", headers=sw, params={
        "practitioner": practitioner, "past_expected_end": "false"})).json() == []
    pulse = (await svc.client.get("/referrals/reports/operations", headers=ops)).json()
    assert pulse["interventions_past_expected_end"] >= 1
    assert next(q for q in pulse["queues"] if q["programme"] == "MST_BSF")["past_expected_end"] >= 1

    with fixed_today(D("2021-10-04")):  # its last expected day: not past it yet
        assert (await svc.client.get(f"/referrals/interventions/{iv}", headers=sw)).json()["past_expected_end"] is False
        assert (await svc.client.get("/referrals/interventions", headers=sw, params={
            "practitioner": practitioner, "past_expected_end": "true"})).json() == []

    r = await svc.close(iv, children, closed_on="2021-11-30")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["past_expected_end"]) == ("closed", False)
    assert (await svc.client.get("/referrals/interventions", headers=sw, params={
        "practitioner": practitioner, "past_expected_end": "true"})).json() == []
    assert today() > D("2021-11-30")
