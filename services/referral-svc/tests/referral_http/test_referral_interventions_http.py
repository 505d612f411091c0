"""Interventions over HTTP: eligibility gates, durations, supersession, capacity and the waiting list,
closure with one outcome per child, and practitioners' access. Decisions arrive as real events."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

from eoc_shared.clock import today

ONLY_FGC = {"FGC": True, "OTHER_PREVENTION": True}


async def test_a_start_needs_a_decision_that_makes_the_programme_eligible(svc, sw) -> None:
    family_id, children = await svc.family()
    undecided = await svc.referral(family_id, children)
    r = await svc.start(undecided["id"], "MST")
    assert r.status_code == 409 and "no eligibility decision" in r.json()["detail"]

    decided = await svc.referral(family_id, children)
    await svc.decide(decided["id"], ONLY_FGC)
    r = await svc.start(decided["id"], "MST")
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["programme"] == "MST" and problem["reasons"] == ["does not meet the rules"]
    assert "not eligible for MST" in problem["detail"] and "does not meet the rules" in problem["detail"]

    ineligible = await svc.referral(family_id, children)
    await svc.decide(ineligible["id"], {"OTHER_PREVENTION": True})
    shown = (await svc.client.get(f"/referrals/{ineligible['id']}", headers=sw)).json()
    assert shown["status"] == "ineligible"
    r = await svc.start(ineligible["id"], "OTHER_PREVENTION")
    assert r.status_code == 409 and "the referral is ineligible" in r.json()["detail"]

    before = await svc.outbox()
    for body, field in [
        ({"programme": "YOGA", "started_on": "2024-06-03"}, "programme"),
        ({"programme": "FGC", "started_on": "03/06/2024"}, "started_on"),
        ({"programme": "FGC", "started_on": (today() + timedelta(days=1)).isoformat()}, "started_on"),
        ({"programme": "FGC", "started_on": "2024-04-30"}, "started_on"),
        ({"programme": "FGC", "started_on": "2024-06-03", "priority": 1}, "priority"),
        ({"programme": "FGC", "started_on": "2024-06-03", "practitioner": 7}, "practitioner"),
    ]:
        r = await svc.client.post(f"/referrals/{decided['id']}/interventions", json=body, headers=sw)
        assert r.status_code == 422, (body, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (field, r.json())
    assert await svc.outbox() == before
    assert (await svc.start(str(uuid.uuid4()), "FGC")).status_code == 404


async def test_start_then_close_publishes_thin_events_and_closes_the_referral(svc, sw, probe) -> None:
    family_id, (older, younger), referral_id = await svc.eligible_case(
        [svc.child_body(), svc.child_body(date_of_birth="2015-02-01", legal_status="LAC", placement_type="U4")])
    r = await svc.start(referral_id, "MST", started_on="2024-06-03")
    assert r.status_code == 201, r.text
    started = r.json()
    assert (started["programme"], started["started_on"], started["expected_end_on"], started["status"]) == (
        "MST", "2024-06-03", "2024-11-03", "active")
    shown = (await svc.client.get(f"/referrals/{referral_id}", headers=sw)).json()
    assert shown["status"] == "active" and [i["id"] for i in shown["interventions"]] == [started["id"]]
    assert (await svc.start(referral_id, "MST")).status_code == 409  # already open on this referral

    iv = started["id"]
    path = f"/referrals/interventions/{iv}"
    before = await svc.outbox()
    _other_family, (stranger,) = await svc.family()
    bad = [
        ({"closed_on": "2024-10-01", "reason": "completed", "child_outcomes": [
            {"child_id": older, "living_situation": "at_home"}]}, "child_outcomes"),
        ({"closed_on": "2024-10-01", "reason": "completed", "child_outcomes": [
            {"child_id": older, "living_situation": "at_home"}, {"child_id": older, "living_situation": "at_home"},
            {"child_id": younger, "living_situation": "at_home"}]}, "child_outcomes.1.child_id"),
        ({"closed_on": "2024-10-01", "reason": "completed", "child_outcomes": [
            {"child_id": older, "living_situation": "at_home"}, {"child_id": stranger, "living_situation": "at_home"},
            {"child_id": younger, "living_situation": "at_home"}]}, "child_outcomes.1.child_id"),
        ({"closed_on": "2024-10-01", "reason": "bored", "child_outcomes": []}, "reason"),
        ({"closed_on": "2024-10-01", "reason": "completed", "child_outcomes": [
            {"child_id": older, "living_situation": "on_holiday"}]}, "child_outcomes.0.living_situation"),
        ({"closed_on": (today() + timedelta(days=1)).isoformat(), "reason": "completed", "child_outcomes": [
            {"child_id": older, "living_situation": "at_home"}, {"child_id": younger, "living_situation": "at_home"}]},
         "closed_on"),
        ({"closed_on": "2024-06-02", "reason": "completed", "child_outcomes": [
            {"child_id": older, "living_situation": "at_home"}, {"child_id": younger, "living_situation": "at_home"}]},
         "closed_on"),
    ]
    for body, field in bad:
        r = await svc.client.post(f"{path}/close", json=body, headers=sw)
        assert r.status_code == 422, (field, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (field, r.json())
    assert await svc.outbox() == before

    body = {"closed_on": "2024-10-01", "reason": "completed", "child_outcomes": [
        {"child_id": younger, "living_situation": "in_care", "placement_type": "U4"},
        {"child_id": older, "living_situation": "at_home"}]}
    r = await svc.client.post(f"{path}/close", json=body, headers=sw)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed" and r.json()["reason"] == "completed"
    r = await svc.client.post(f"{path}/close", json=body, headers=sw)
    assert r.status_code == 409 and "already closed on 2024-10-01" in r.json()["detail"]
    shown = (await svc.client.get(f"/referrals/{referral_id}", headers=sw)).json()
    assert shown["status"] == "closed" and shown["interventions"][0]["closed_on"] == "2024-10-01"

    s = (await probe.wait_for("intervention.started", lambda m: m["data"]["intervention_id"] == iv))[0]["data"]
    assert s == {"intervention_id": iv, "referral_id": referral_id, "family_id": family_id,
                 "child_ids": [older, younger], "programme": "MST", "started_on": "2024-06-03",
                 "expected_end_on": "2024-11-03", "practitioner": None}
    c = (await probe.wait_for("intervention.closed", lambda m: m["data"]["intervention_id"] == iv))[0]["data"]
    assert c["reason"] == "completed" and c["closed_on"] == "2024-10-01" and c["started_on"] == "2024-06-03"
    assert c["family_id"] == family_id and c["child_ids"] == [older, younger] and c["programme"] == "MST"
    assert c["child_outcomes"] == [
        {"child_id": older, "living_situation": "at_home", "placement_type": None},
        {"child_id": younger, "living_situation": "in_care", "placement_type": "U4"}]
    raw = json.dumps([s, c])
    assert "Test" not in raw and "2015-02-01" not in raw
    statuses = [m["data"]["status"] for m in probe.on("referral.updated", lambda m: m["data"]["referral_id"] == referral_id)]
    assert statuses == ["eligible", "active", "closed"]


async def test_intensive_starts_supersede_the_familys_other_interventions(svc, sw, probe) -> None:
    family_id, (a, b) = await svc.family([svc.child_body(), svc.child_body(legal_status="LAC", placement_type="K2")])
    first = await svc.referral(family_id, [a])
    await svc.decide(first["id"])
    second = await svc.referral(family_id, [a, b], referred_on="2024-05-20")
    await svc.decide(second["id"])

    prevention = (await svc.start(first["id"], "OTHER_PREVENTION", started_on="2024-06-03")).json()
    alongside = await svc.start(second["id"], "OTHER_PREVENTION", started_on="2024-06-05")
    assert alongside.status_code == 201 and alongside.json()["superseded"] == []

    fgc = await svc.start(second["id"], "FGC", started_on="2024-06-10")
    assert fgc.status_code == 201, fgc.text
    assert set(fgc.json()["superseded"]) == {prevention["id"], alongside.json()["id"]}
    old = (await svc.client.get(f"/referrals/{first['id']}", headers=sw)).json()
    assert old["status"] == "closed", "its only intervention was superseded"
    assert old["interventions"][0]["reason"] == "superseded"
    assert old["interventions"][0]["superseded_by"] == fgc.json()["id"]
    assert old["interventions"][0]["closed_on"] == "2024-06-10"

    mst = await svc.start(second["id"], "MST", started_on="2024-07-01")
    assert mst.status_code == 201 and mst.json()["superseded"] == [fgc.json()["id"]]
    current = (await svc.client.get(f"/referrals/{second['id']}", headers=sw)).json()
    assert current["status"] == "active"
    assert [(i["programme"], i["status"]) for i in current["interventions"]] == [
        ("OTHER_PREVENTION", "closed"), ("FGC", "closed"), ("MST", "active")]

    closed = await probe.wait_for("intervention.closed", lambda m: m["data"]["family_id"] == family_id, count=3)
    by_id = {m["data"]["intervention_id"]: m["data"] for m in closed}
    fgc_closed = by_id[fgc.json()["id"]]
    assert fgc_closed["reason"] == "superseded" and fgc_closed["closed_on"] == "2024-07-01"
    assert fgc_closed["child_outcomes"] == [
        {"child_id": a, "living_situation": "at_home", "placement_type": None},
        {"child_id": b, "living_situation": "in_care", "placement_type": "K2"}]
    assert by_id[prevention["id"]]["child_ids"] == [a]


async def test_capacity_waiting_list_and_places_given_in_referral_order(svc, sw, ops, probe) -> None:
    programme = "FFT_CW"
    listing = {p["programme"]: p for p in (await svc.client.get("/referrals/programmes", headers=ops)).json()}
    assert listing[programme]["capacity"] is None and listing["MST"]["duration_months"] == 5
    taken = listing[programme]["active_families"]
    cap = f"/referrals/programmes/{programme}/capacity"
    assert (await svc.client.put(cap, json={"capacity": taken + 1}, headers=sw)).status_code == 403
    for bad in ({"capacity": -1}, {"capacity": "2"}, {"capacity": 1.5}, {"limit": 2}):
        assert (await svc.client.put(cap, json=bad, headers=ops)).status_code == 422, bad
    assert (await svc.client.put("/referrals/programmes/YOGA/capacity", json={"capacity": 1}, headers=ops)).status_code == 422
    r = await svc.client.put(cap, json={"capacity": taken + 1}, headers=ops)
    assert r.status_code == 200 and r.json()["capacity"] == taken + 1
    try:
        cases = [await svc.eligible_case(referred_on=on) for on in ("2024-05-10", "2024-05-20", "2024-05-01", "2024-05-15")]
        (fa, ca, ra), (fb, cb, rb), (fc, cc, rc), (fd, cd, rd) = cases
        a = await svc.start(ra, programme, started_on="2024-06-03", practitioner="pr-a")
        assert a.status_code == 201, a.text
        # Three at once for the last place... there is none left: all wait, none is started twice.
        waiting = await asyncio.gather(svc.start(rb, programme, started_on="2024-06-04", practitioner="pr-b"),
                                       svc.start(rc, programme, started_on="2024-06-05"),
                                       svc.start(rd, programme, started_on="2024-06-05"))
        assert [w.status_code for w in waiting] == [202, 202, 202], [w.text for w in waiting]
        assert waiting[0].json()["status"] == "waitlisted" and waiting[0].json()["programme"] == programme
        assert (await svc.start(rb, programme)).status_code == 409, "already waiting"
        shown = (await svc.client.get(f"/referrals/{rb}", headers=sw)).json()
        assert shown["status"] == "waitlisted" and shown["waiting"][0]["programme"] == programme

        r = await svc.client.get(f"/referrals/programmes/{programme}/waiting-list", headers=sw)
        queue = [(e["referral_id"], e["position"], e["days_waiting"]) for e in r.json()]
        assert queue == [(rc, 1, 0), (rd, 2, 0), (rb, 3, 0)], "in order of referral date"

        # A place frees: the family referred first starts at once, on the day the place freed.
        assert (await svc.close(a.json()["id"], ca, closed_on="2024-09-30")).status_code == 200
        after = (await svc.client.get(f"/referrals/{rc}", headers=sw)).json()
        assert after["status"] == "active" and after["waiting"] == []
        (iv,) = after["interventions"]
        assert (iv["programme"], iv["started_on"], iv["from_waiting_list"]) == (programme, "2024-09-30", True)
        assert iv["expected_end_on"] == "2025-03-30"
        started = await probe.wait_for("intervention.started", lambda m: m["data"]["referral_id"] == rc)
        assert started[0]["data"]["started_on"] == "2024-09-30"
        queue = (await svc.client.get(f"/referrals/programmes/{programme}/waiting-list", headers=ops)).json()
        assert [(e["referral_id"], e["position"]) for e in queue] == [(rd, 1), (rb, 2)]

        # Ops raises the limit: the next family starts today, with the practitioner asked for.
        r = await svc.client.put(cap, json={"capacity": taken + 2}, headers=ops)
        assert r.status_code == 200 and r.json()["waiting"] == 1
        d = (await svc.client.get(f"/referrals/{rd}", headers=sw)).json()
        assert d["status"] == "active" and d["interventions"][0]["started_on"] == today().isoformat()
        assert (await svc.client.get(f"/referrals/{rb}", headers=sw)).json()["status"] == "waitlisted"
    finally:
        assert (await svc.client.put(cap, json={"capacity": None}, headers=ops)).status_code == 200
    b = (await svc.client.get(f"/referrals/{rb}", headers=sw)).json()
    assert b["status"] == "active" and b["interventions"][0]["practitioner"] == "pr-b"


async def test_ops_sets_programme_lengths(svc, sw, ops) -> None:
    path = "/referrals/programmes/FGC/duration"
    assert (await svc.client.put(path, json={"months": 4}, headers=sw)).status_code == 403
    assert (await svc.client.put(path, json={"months": 0}, headers=ops)).status_code == 422
    assert (await svc.client.put(path, json={"months": "4"}, headers=ops)).status_code == 422
    r = await svc.client.put(path, json={"months": 4}, headers=ops)
    assert r.status_code == 200 and r.json()["duration_months"] == 4
    try:
        _f, _c, referral_id = await svc.eligible_case()
        r = await svc.start(referral_id, "FGC", started_on="2024-08-31")
        assert r.json()["expected_end_on"] == "2024-12-31"
    finally:
        assert (await svc.client.put(path, json={"months": 3}, headers=ops)).status_code == 200


async def test_practitioners_read_only_the_cases_of_their_own_interventions(svc, auth) -> None:
    _family, (child,), referral_id = await svc.eligible_case()
    r = await svc.start(referral_id, "OTHER_PREVENTION", practitioner="pr-own")
    assert r.status_code == 201
    iv = r.json()["id"]
    own, other = auth("practitioner", subject="pr-own"), auth("practitioner", subject="pr-other")
    for path in (f"/referrals/{referral_id}", f"/referrals/children/{child}", f"/referrals/children/{child}/timeline",
                 f"/referrals/interventions/{iv}"):
        assert (await svc.client.get(path, headers=own)).status_code == 200, path
        r = await svc.client.get(path, headers=other)
        assert r.status_code == 403 and "own interventions" in r.json()["detail"], path
    mine = (await svc.client.get("/referrals/interventions", params={"practitioner": "pr-other"}, headers=own)).json()
    assert [i["id"] for i in mine] == [iv], "a practitioner's list is always their own"
    assert (await svc.client.get("/referrals/interventions", headers=other)).json() == []
    assert (await svc.start(referral_id, "FGC", headers=own)).status_code == 403
    assert (await svc.close(iv, [child], headers=own)).status_code == 403


async def test_the_last_place_is_given_once_under_concurrent_starts(svc, sw, ops) -> None:
    programme = "FFT_REUNIFICATION"
    listing = {p["programme"]: p for p in (await svc.client.get("/referrals/programmes", headers=ops)).json()}
    cap = f"/referrals/programmes/{programme}/capacity"
    assert (await svc.client.put(cap, json={"capacity": listing[programme]["active_families"] + 1},
                                 headers=ops)).status_code == 200
    try:
        cases = await asyncio.gather(*(svc.eligible_case() for _ in range(4)))
        answers = await asyncio.gather(*(svc.start(referral_id, programme) for _f, _c, referral_id in cases))
        assert sorted(a.status_code for a in answers) == [201, 202, 202, 202], [a.text for a in answers]
        queue = (await svc.client.get(f"/referrals/programmes/{programme}/waiting-list", headers=sw)).json()
        assert len(queue) == 3 and [e["position"] for e in queue] == [1, 2, 3]
    finally:
        r = await svc.client.put(cap, json={"capacity": None}, headers=ops)
    assert r.status_code == 200 and r.json()["waiting"] == 0, "removing the limit gives every waiting family a place"
    statuses = [(await svc.client.get(f"/referrals/{rid}", headers=sw)).json()["status"] for _f, _c, rid in cases]
    assert statuses == ["active"] * 4


async def test_a_waiting_family_can_take_other_support_and_leave_the_list(svc, sw, ops) -> None:
    programme = "MST_BSF"
    listing = {p["programme"]: p for p in (await svc.client.get("/referrals/programmes", headers=ops)).json()}
    cap = f"/referrals/programmes/{programme}/capacity"
    await svc.client.put(cap, json={"capacity": listing[programme]["active_families"]}, headers=ops)
    try:
        _f, _c, referral_id = await svc.eligible_case()
        assert (await svc.start(referral_id, programme)).status_code == 202
        leave = f"/referrals/{referral_id}/waiting-list/{programme}"
        r = await svc.client.delete(leave, headers=sw)
        assert r.status_code == 409 and "waitlisted only for MST_BSF" in r.json()["detail"]
        other = await svc.start(referral_id, "OTHER_PREVENTION")
        assert other.status_code == 201, "other prevention support while waiting"
        assert (await svc.client.get(f"/referrals/{referral_id}", headers=sw)).json()["status"] == "active"
        r = await svc.client.delete(leave, headers=sw)
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert (await svc.client.delete(leave, headers=sw)).status_code == 404
        shown = (await svc.client.get(f"/referrals/{referral_id}", headers=sw)).json()
        assert shown["waiting"] == [] and shown["status"] == "active"
    finally:
        assert (await svc.client.put(cap, json={"capacity": None}, headers=ops)).status_code == 200
    shown = (await svc.client.get(f"/referrals/{referral_id}", headers=sw)).json()
    assert [i["programme"] for i in shown["interventions"]] == ["OTHER_PREVENTION"], "no place given after leaving"
