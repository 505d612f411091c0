"""After the intervention, across services on PostgreSQL with the real broker: a closure in referral-svc
becomes follow-ups in outcomes-svc, the scheduler's `followup.due` reaches the child's timeline in
referral-svc, a recorded result moves the year's figures, and a later referral of the same child breaks
the follow-ups still open. Dates are in financial year 2017, which no other suite on the shared broker uses (every instance of
outcomes-svc reads every closure published in the test session)."""

from __future__ import annotations

from journeys import child_body, make_family, referral_body

from eoc_shared.testing.fixtures import event_probe, eventually


async def _eligible_referral(platform, sw, family_id: str, child_ids: list[str], referred_on: str) -> str:
    r = await platform.request("POST", "/referrals", json=referral_body(
        family_id, child_ids, referred_on=referred_on), headers=sw)
    assert r.status_code == 201, r.text
    referral_id = r.json()["id"]

    async def decided():
        got = (await platform.request("GET", f"/referrals/{referral_id}", headers=sw)).json()
        return got if got["eligibility"] else None

    assert (await eventually(decided, timeout=20, interval=0.05))["status"] == "eligible"
    return referral_id


async def test_a_closed_intervention_is_followed_up_and_counted(platform, auth) -> None:
    sw, ops = auth("social_worker", subject="sw-outcomes"), auth("ops")
    family_id, (stays, leaves) = await make_family(platform.clients["referral"], sw, [
        child_body(date_of_birth="2005-03-01"), child_body(date_of_birth="2006-01-01")])
    referral_id = await _eligible_referral(platform, sw, family_id, [stays, leaves], "2017-05-02")
    r = await platform.request("POST", f"/referrals/{referral_id}/consent", json={"signed_on": "2017-05-09"}, headers=sw)
    assert r.status_code == 200, r.text
    r = await platform.request("POST", f"/referrals/{referral_id}/interventions",
                               json={"programme": "MST", "started_on": "2017-06-05", "practitioner": "pr-outcomes"}, headers=sw)
    assert r.status_code == 201, r.text
    intervention_id = r.json()["id"]
    r = await platform.request("POST", f"/referrals/interventions/{intervention_id}/close", headers=sw, json={
        "closed_on": "2017-10-31", "reason": "completed", "child_outcomes": [
            {"child_id": stays, "living_situation": "at_home"},
            {"child_id": leaves, "living_situation": "in_care", "placement_type": "U4"}]})
    assert r.status_code == 200, r.text

    async def scheduled(child_id: str):
        rows = (await platform.request("GET", f"/outcomes/children/{child_id}/followups", headers=sw)).json()
        return rows if len(rows) == 7 else None

    rows = await eventually(lambda: scheduled(stays), timeout=20, interval=0.05)
    await eventually(lambda: scheduled(leaves), timeout=20, interval=0.05)
    # Statuses from the dates as of today: the five years are long past, none recorded, no scheduler run.
    assert [(f["checkpoint_months"], f["due_on"], f["status"]) for f in rows] == [
        (6, "2018-04-30", "overdue"), (12, "2018-10-31", "overdue"), (18, "2019-04-30", "overdue"),
        (24, "2019-10-31", "overdue"), (36, "2020-10-31", "overdue"), (48, "2021-10-31", "overdue"),
        (60, "2022-10-31", "overdue")]
    six_months = rows[0]

    async with event_probe(platform.broker.bootstrap, ["followup.due", "followup.recorded"]) as probe:
        r = await platform.request("POST", "/outcomes/scheduler/run", json={"as_of": "2018-05-10"}, headers=ops)
        assert r.status_code == 200 and r.json()["due"] >= 2, r.text
        due = await probe.wait_for("followup.due", lambda m: m["data"]["followup_id"] == six_months["id"])
        assert due[0]["data"] == {"followup_id": six_months["id"], "child_id": stays,
                                  "intervention_id": intervention_id, "checkpoint_months": 6, "due_on": "2018-04-30"}
        # A second run as of the same day finds nothing new for this child.
        r = await platform.request("POST", "/outcomes/scheduler/run", json={"as_of": "2018-05-10"}, headers=ops)
        assert r.status_code == 200

        async def on_timeline():
            items = (await platform.request("GET", f"/referrals/children/{stays}/timeline", headers=sw)).json()
            return [i for i in items if i["kind"] == "followup.due"] or None

        shown = await eventually(on_timeline, timeout=20, interval=0.05)
        assert [(i["source"], i["ref"]) for i in shown] == [("outcomes-svc", six_months["id"])]

        # The MST practitioner who worked with the family records what they saw.
        practitioner = auth("practitioner", subject="pr-outcomes")
        r = await platform.request("POST", f"/outcomes/followups/{six_months['id']}/result", headers=practitioner, json={
            "observed_on": "2018-05-05", "living_situation": "at_home", "re_referred": False})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "recorded"
        recorded = await probe.wait_for("followup.recorded", lambda m: m["data"]["followup_id"] == six_months["id"])
        assert recorded[0]["data"]["living_situation"] == "at_home" and recorded[0]["data"]["re_referred"] is False

        summary = (await platform.request("GET", "/outcomes/summary?financial_year=2017",
                                          headers=auth("board_member"))).json()
        assert {k: summary[k] for k in ("financial_year", "children_closed", "at_home_at_closure", "success_rate")} == {
            "financial_year": 2017, "children_closed": 2, "at_home_at_closure": 1, "success_rate": 0.5}
        assert summary["sustained"]["6"] == 1.0

        # The family comes back: the child still at home is referred again in January 2019.
        again = await _eligible_referral(platform, sw, family_id, [stays], "2019-01-10")
        detected = await probe.wait_for("followup.recorded", lambda m: m["data"]["child_id"] == stays
                                        and m["data"]["re_referred"] is True)
        assert detected[0]["data"]["observed_on"] == "2019-01-10"

    rows = (await platform.request("GET", f"/outcomes/children/{stays}/followups", headers=sw)).json()
    by_checkpoint = {f["checkpoint_months"]: f for f in rows}
    assert by_checkpoint[6]["re_referred"] is False                      # recorded before, kept as recorded
    for months in (12, 18, 24, 36, 48, 60):                              # every follow-up still open is broken
        assert by_checkpoint[months]["status"] == "recorded", by_checkpoint[months]
        assert by_checkpoint[months]["re_referred"] is True
        assert by_checkpoint[months]["re_referred_on"] == "2019-01-10"
    assert again
