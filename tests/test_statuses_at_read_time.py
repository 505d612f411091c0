"""Statuses the calendar changes are what the dates say when read: a closure entered late (two years
back) shows its past follow-ups overdue at once, with no scheduler run, in the child's list and in the
worklist filter; the scheduler still publishes `followup.due` once each afterwards."""

from __future__ import annotations

from datetime import timedelta

from journeys import child_body, make_family, referral_body

from eoc_shared.clock import today
from eoc_shared.testing.fixtures import eventually


async def test_a_back_dated_closure_shows_overdue_follow_ups_at_once(platform, auth) -> None:
    sw, pr = auth("social_worker", subject="sw-backdated"), auth("practitioner", subject="pr-backdated")
    day = today()
    closed_on = day - timedelta(days=730)
    family_id, (child_id,) = await make_family(platform.clients["referral"], sw, [child_body(date_of_birth="2012-02-01")])
    r = await platform.request("POST", "/referrals", headers=sw, json=referral_body(
        family_id, [child_id], referred_on=(closed_on - timedelta(days=200)).isoformat()))
    assert r.status_code == 201, r.text
    referral_id = r.json()["id"]

    async def decided() -> bool:
        return bool((await platform.request("GET", f"/referrals/{referral_id}", headers=sw)).json()["eligibility"])

    await eventually(decided, timeout=30, interval=0.1)
    r = await platform.request("POST", f"/referrals/{referral_id}/consent", headers=sw,
                               json={"signed_on": (closed_on - timedelta(days=195)).isoformat()})
    assert r.status_code == 200, r.text
    r = await platform.request("POST", f"/referrals/{referral_id}/interventions", headers=sw, json={
        "programme": "MST", "started_on": (closed_on - timedelta(days=150)).isoformat(), "practitioner": "pr-backdated"})
    assert r.status_code == 201, r.text
    r = await platform.request("POST", f"/referrals/interventions/{r.json()['id']}/close", headers=sw, json={
        "closed_on": closed_on.isoformat(), "reason": "completed",
        "child_outcomes": [{"child_id": child_id, "living_situation": "at_home"}]})
    assert r.status_code == 200, r.text

    async def scheduled() -> list[dict] | None:
        rows = (await platform.request("GET", f"/outcomes/children/{child_id}/followups", headers=sw)).json()
        return rows if len(rows) == 7 else None

    rows = await eventually(scheduled, timeout=30, interval=0.1)
    for f in rows:
        due_on = f["due_on"]
        expected = ("overdue" if due_on <= (day - timedelta(days=28)).isoformat()
                    else "due" if due_on <= day.isoformat() else "scheduled")
        assert f["status"] == expected, f
    assert [f["status"] for f in rows[:3]] == ["overdue"] * 3  # 6, 12 and 18 months: all long past

    listed = (await platform.request("GET", "/outcomes/followups?status=overdue&limit=200", headers=pr)).json()
    mine = {f["id"] for f in listed if f["child_id"] == child_id}
    assert mine == {f["id"] for f in rows if f["status"] == "overdue"}
