"""Consent, the status machine, the consent and assessment timers (once per referral), and work lists.

Runs on the `quiet` service (no consumers): no eligibility decision ever reaches these referrals.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from eoc_shared.clock import today
from eoc_shared.testing.fixtures import eventually, running, service_settings
from referral_svc.app import create_app
from referral_svc.settings import ReferralSettings


async def test_consent_moves_received_to_assessing_once(quiet, sw, probe) -> None:
    family_id, children = await quiet.family()
    referral = await quiet.referral(family_id, children, referred_on="2024-05-01")
    path = f"/referrals/{referral['id']}/consent"
    before = await quiet.outbox()
    for body, field in [
        ({"signed_on": "2024-04-30"}, "signed_on"),
        ({"signed_on": (today() + timedelta(days=1)).isoformat()}, "signed_on"),
        ({"signed_on": "01/05/2024"}, "signed_on"),
        ({"signed_on": 20240501}, "signed_on"),
        ({"signed_on": "2024-05-02", "by": "me"}, "by"),
        ({}, "signed_on"),
    ]:
        r = await quiet.client.post(path, json=body, headers=sw)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in r.json()["errors"]] and field in r.json()["detail"]
    assert await quiet.outbox() == before, "a refused consent publishes nothing"

    r = await quiet.client.post(path, json={"signed_on": "2024-05-10"}, headers=sw)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "assessing" and r.json()["consent_signed_on"] == "2024-05-10"
    updated = await probe.wait_for("referral.updated", lambda m: m["data"]["referral_id"] == referral["id"])
    assert updated[0]["data"]["status"] == "assessing" and updated[0]["data"]["changed"] == ["status"]
    r = await quiet.client.post(path, json={"signed_on": "2024-05-11"}, headers=sw)
    assert r.status_code == 409 and "already recorded" in r.json()["detail"]


async def test_bad_referrals_are_refused_and_publish_nothing(quiet, sw) -> None:
    family_id, (child,) = await quiet.family()
    _other, (strangers_child,) = await quiet.family()
    before = await quiet.outbox()
    for body, field in [
        (quiet.referral_body(family_id, [child, strangers_child]), "child_ids.1"),
        (quiet.referral_body(str(uuid.uuid4()), [child]), "family_id"),
        (quiet.referral_body(family_id, [child], threshold_for_removal_met=1), "threshold_for_removal_met"),
        (quiet.referral_body(family_id, [child], source="neighbour"), "source"),
        (quiet.referral_body(family_id, [child], team=""), "team"),
        (quiet.referral_body(family_id, [child], referred_on="2024-02-30"), "referred_on"),
    ]:
        r = await quiet.client.post("/referrals", json=body, headers=sw)
        assert r.status_code == 422, (field, r.text)
        assert field in [e["field"] for e in r.json()["errors"]] and field in r.json()["detail"], (field, r.json())
    assert await quiet.outbox() == before


async def test_illegal_transitions_name_the_current_status(quiet, sw) -> None:
    family_id, children = await quiet.family()
    referral = await quiet.referral(family_id, children)
    r = await quiet.client.post(f"/referrals/{referral['id']}/withdraw", json={"reason": "family moved away"}, headers=sw)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    r = await quiet.client.post(f"/referrals/{referral['id']}/consent", json={"signed_on": "2024-05-02"}, headers=sw)
    assert r.status_code == 409 and "withdrawn" in r.json()["detail"]
    assert r.json()["current_status"] == "withdrawn"
    r = await quiet.client.post(f"/referrals/{referral['id']}/withdraw", json={"reason": "again"}, headers=sw)
    assert r.status_code == 409 and "the referral is withdrawn" in r.json()["detail"]
    # No decision yet: nothing can start; the answer says so.
    other = await quiet.referral(*(await quiet.family()))
    r = await quiet.start(other["id"], "MST")
    assert r.status_code == 409 and "no eligibility decision" in r.json()["detail"]


async def test_timers_escalate_each_referral_once(quiet, sw, ops, auth, probe) -> None:
    family_id, children = await quiet.family()
    late = await quiet.referral(family_id, children, referred_on="2024-03-01")  # consent due 15 Mar, assessment 15 Mar
    signed = await quiet.referral(family_id, children, referred_on="2024-03-01")
    assert (await quiet.client.post(f"/referrals/{signed['id']}/consent", json={"signed_on": "2024-03-05"},
                                    headers=sw)).status_code == 200
    fresh = await quiet.referral(family_id, children, referred_on="2024-03-14")
    run = "/referrals/timers/run"
    assert (await quiet.client.post(run, json={"as_of": "2024-03-15"}, headers=sw)).status_code == 403
    r = await quiet.client.post(run, json={"as_of": (today() + timedelta(days=1)).isoformat()}, headers=ops)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "as_of"
    r = await quiet.client.post(run, json={"as_of": "2024-03-15"}, headers=ops)
    assert r.status_code == 200
    assert late["id"] not in r.json()["consent_overdue"], "due on the 15th is not overdue on the 15th"
    r = await quiet.client.post(run, json={"as_of": "2024-03-16"}, headers=ops)
    assert late["id"] in r.json()["consent_overdue"] and late["id"] in r.json()["assessment_overdue"]
    assert signed["id"] not in r.json()["consent_overdue"] and signed["id"] in r.json()["assessment_overdue"]
    assert fresh["id"] not in r.json()["consent_overdue"]
    # Again, and concurrently: nothing more is sent for the same referrals.
    again = await asyncio.gather(*(quiet.client.post(run, json={"as_of": "2024-04-30"}, headers=ops)
                                   for _ in range(4)))
    sent_again = [rid for a in again for rid in a.json()["consent_overdue"] + a.json()["assessment_overdue"]]
    assert late["id"] not in sent_again and signed["id"] not in sent_again
    assert sent_again.count(fresh["id"]) == 2, "fresh is escalated once for consent and once for assessment"
    consent = await probe.wait_for("consent.overdue", lambda m: m["data"]["referral_id"] == late["id"])
    assert consent[0]["data"] == {"referral_id": late["id"], "family_id": family_id,
                                  "consent_due_on": "2024-03-15", "as_of": "2024-03-16"}
    await probe.wait_for("assessment.overdue", lambda m: m["data"]["referral_id"] == fresh["id"])
    await asyncio.sleep(0.5)
    for rid, topics in ((late["id"], ("consent.overdue", "assessment.overdue")),
                        (signed["id"], ("assessment.overdue",)), (fresh["id"], ("consent.overdue", "assessment.overdue"))):
        for topic in topics:
            assert len(probe.on(topic, lambda m, rid=rid: m["data"]["referral_id"] == rid)) == 1, (rid, topic)
    assert probe.on("consent.overdue", lambda m: m["data"]["referral_id"] == signed["id"]) == []
    shown = (await quiet.client.get(f"/referrals/{late['id']}", headers=sw)).json()
    assert shown["consent_overdue_escalated_on"] == "2024-03-16"


async def test_overdue_worklist_and_status_view(quiet, sw, tm, auth) -> None:
    team = "north-" + today().isoformat()
    family_id, children = await quiet.family()
    overdue = await quiet.referral(family_id, children, referred_on="2024-05-01", team=team)
    on_time = await quiet.referral(family_id, children, referred_on="2024-05-01", team=team)
    await quiet.client.post(f"/referrals/{on_time['id']}/consent", json={"signed_on": "2024-05-02"}, headers=sw)
    withdrawn = await quiet.referral(family_id, children, referred_on="2024-05-01", team=team)
    await quiet.client.post(f"/referrals/{withdrawn['id']}/withdraw", json={"reason": "duplicate"}, headers=sw)

    r = await quiet.client.get("/referrals/worklists/overdue", params={"as_of": "2024-05-20", "team": team}, headers=tm)
    assert r.status_code == 200, r.text
    rows = {row["referral_id"]: row for row in r.json()}
    assert set(rows) == {overdue["id"], on_time["id"]}
    assert [t["timer"] for t in rows[overdue["id"]]["overdue"]] == ["consent", "assessment"]
    assert rows[overdue["id"]]["overdue"][0] == {"timer": "consent", "due_on": "2024-05-15", "days_overdue": 5,
                                                  "escalated_on": None}
    assert [t["timer"] for t in rows[on_time["id"]]["overdue"]] == ["assessment"]
    r = await quiet.client.get("/referrals/worklists/overdue", params={"as_of": "2024-05-14", "team": team}, headers=sw)
    assert r.json() == []

    r = await quiet.client.get("/referrals/worklists/by-status", params={"team": team}, headers=tm)
    assert r.status_code == 200
    view = r.json()
    assert view["counts"]["received"] == 1 and view["counts"]["assessing"] == 1 and view["counts"]["withdrawn"] == 1
    assert [x["id"] for x in view["referrals"]["assessing"]] == [on_time["id"]]
    r = await quiet.client.get("/referrals", params={"status": ["received", "withdrawn"], "team": team}, headers=tm)
    assert {x["id"] for x in r.json()} == {overdue["id"], withdrawn["id"]}
    r = await quiet.client.get("/referrals", params={"status": "paused"}, headers=tm)
    assert r.status_code == 422
    for role in ("practitioner", "board_member", "ops"):
        assert (await quiet.client.get("/referrals/worklists/overdue", headers=auth(role))).status_code == 403


async def test_the_background_job_escalates_on_its_own(databases, broker, data_dir, sw, probe) -> None:
    url = await databases.create("referral_timers")
    settings = service_settings(ReferralSettings, database_url=url, broker=broker, data_dir=data_dir,
                                run_consumers=False, timers_interval_seconds=0.2)
    async with running(create_app(settings)) as client:
        family = (await client.post("/referrals/families", json={"la_reference": f"T-{id(client)}",
                  "postcode_district": "LS1", "primary_language": "en", "interpreter_needed": False}, headers=sw)).json()
        child = (await client.post(f"/referrals/families/{family['id']}/children", json={
            "la_child_id": f"T-{id(probe)}", "given_name": "A", "family_name": "B", "date_of_birth": "2012-01-01",
            "sex": "F", "ethnicity": "WBRI", "legal_status": "CIN"}, headers=sw)).json()
        referred_on = (today() - timedelta(days=20)).isoformat()
        referral = (await client.post("/referrals", json={
            "family_id": family["id"], "child_ids": [child["id"]], "referred_on": referred_on,
            "source": "social_worker", "risk_factors": [], "threshold_for_removal_met": False}, headers=sw)).json()
        await probe.wait_for("consent.overdue", lambda m: m["data"]["referral_id"] == referral["id"], timeout=10)
        await asyncio.sleep(0.8)  # several more runs
        assert len(probe.on("consent.overdue", lambda m: m["data"]["referral_id"] == referral["id"])) == 1

        async def escalated() -> bool:
            got = (await client.get(f"/referrals/{referral['id']}", headers=sw)).json()
            return got["consent_overdue_escalated_on"] == today().isoformat()

        await eventually(escalated, timeout=5)
