"""Who reads what of a child's case, across the four services on PostgreSQL with the real broker
(contract v1.1): eligibility decisions are scoped to the case's practitioners as referral-svc scopes
cases; every child-level read in every service is readable through that service's audit endpoint; a
board member sees breakdowns as counts and never a child id, while a finance role's child-level read is
audited. Dates are in financial year 2019, which no other suite on the shared broker uses.
"""

from __future__ import annotations

import uuid
from typing import Any

from journeys import child_body, make_family, referral_body

from eoc_shared.testing.fixtures import eventually


async def _audit(platform, prefix: str, child_id: str, auth) -> list[dict[str, Any]]:
    r = await platform.request("GET", f"/{prefix}/audit", params={"child_id": child_id}, headers=auth("team_manager"))
    assert r.status_code == 200, r.text
    return r.json()


async def test_decisions_are_scoped_reads_audited_and_board_members_see_counts(platform, auth) -> None:
    tag = uuid.uuid4().hex[:8]
    sw = auth("social_worker", subject=f"sw-{tag}")
    mine = auth("practitioner", subject=f"pr-{tag}")
    another = auth("practitioner", subject=f"pr-other-{tag}")
    family_id, (child_id,) = await make_family(platform.clients["referral"], sw, [child_body(date_of_birth="2006-03-01")])
    r = await platform.request("POST", "/referrals", headers=sw, json=referral_body(
        family_id, [child_id], referred_on="2019-05-01"))
    assert r.status_code == 201, r.text
    referral_id = r.json()["id"]

    async def decided():
        got = (await platform.request("GET", f"/referrals/{referral_id}", headers=sw)).json()
        return got if got["eligibility"] else None

    assert (await eventually(decided, timeout=30, interval=0.05))["status"] == "eligible"

    # Before anyone works the case, no practitioner reads its decision (referral-svc refuses them too).
    for path in (f"/eligibility/decisions/{referral_id}", f"/eligibility/decisions/{referral_id}?all=true"):
        assert (await platform.request("GET", path, headers=mine)).status_code == 403
    assert (await platform.request("GET", f"/referrals/{referral_id}", headers=mine)).status_code == 403

    r = await platform.request("POST", f"/referrals/{referral_id}/consent", json={"signed_on": "2019-05-08"}, headers=sw)
    assert r.status_code == 200, r.text
    r = await platform.request("POST", f"/referrals/{referral_id}/interventions", headers=sw,
                               json={"programme": "MST", "started_on": "2019-06-03", "practitioner": f"pr-{tag}"})
    assert r.status_code == 201, r.text
    intervention_id = r.json()["id"]

    # eligibility-svc learns from intervention.started who works the case.
    async def readable():
        r = await platform.request("GET", f"/eligibility/decisions/{referral_id}", headers=mine)
        return r if r.status_code == 200 else None

    assert (await eventually(readable, timeout=30, interval=0.1)).json()["referral_id"] == referral_id
    assert (await platform.request("GET", f"/referrals/{referral_id}", headers=mine)).status_code == 200
    for path in (f"/eligibility/decisions/{referral_id}", f"/eligibility/decisions/{referral_id}?all=true"):
        r = await platform.request("GET", path, headers=another)
        assert r.status_code == 403, r.text
        assert "sexual" not in r.text and "psychosis" not in r.text
    r = await platform.request("GET", f"/eligibility/decisions/{referral_id}?all=true", headers=sw)
    assert r.status_code == 200 and len(r.json()) >= 1

    # Each read is in eligibility-svc's audit log, oldest first; the refused ones are not reads.
    rows = await _audit(platform, "eligibility", child_id, auth)
    reads = [(e["actor"], e["role"], e["action"]) for e in rows]
    assert reads[0] == (f"pr-{tag}", "practitioner", "decision.read")
    assert (f"sw-{tag}", "social_worker", "decision.read") in reads
    assert not any(actor == f"pr-other-{tag}" for actor, _r, _a in reads)
    assert [e["at"] for e in rows] == sorted(e["at"] for e in rows)
    assert set(rows[0]) >= {"at", "actor", "role", "action", "child_id"} and rows[0]["child_id"] == child_id

    # The audit endpoint is for team managers and ops alone, in every service.
    for prefix in ("referrals", "eligibility", "outcomes", "finance"):
        for role in ("social_worker", "practitioner", "board_member", "finance_officer"):
            r = await platform.request("GET", f"/{prefix}/audit", params={"child_id": child_id}, headers=auth(role))
            assert r.status_code == 403, (prefix, role, r.status_code)

    # referral-svc and finance-svc: a child-level read each, readable through their audit endpoints.
    assert (await platform.request("GET", f"/referrals/children/{child_id}", headers=sw)).status_code == 200
    assert ("child.read", f"sw-{tag}") in {(e["action"], e["actor"]) for e in await _audit(platform, "referrals", child_id, auth)}
    placements = auth("placements_officer", subject=f"po-{tag}")

    async def projected():
        r = await platform.request("GET", f"/finance/children/{child_id}/projection", headers=placements)
        return r if r.status_code == 200 else None

    await eventually(projected, timeout=30, interval=0.1)
    assert ("projection.read", f"po-{tag}") in {(e["action"], e["actor"]) for e in await _audit(platform, "finance", child_id, auth)}

    # The intervention closes with the child at home; six months on the practitioner finds them in care.
    r = await platform.request("POST", f"/referrals/interventions/{intervention_id}/close", headers=sw, json={
        "closed_on": "2019-11-29", "reason": "completed",
        "child_outcomes": [{"child_id": child_id, "living_situation": "at_home"}]})
    assert r.status_code == 200, r.text

    async def scheduled():
        rows = (await platform.request("GET", f"/outcomes/children/{child_id}/followups", headers=mine)).json()
        return rows if isinstance(rows, list) and len(rows) == 7 else None

    six_months = (await eventually(scheduled, timeout=30, interval=0.1))[0]
    assert ("outcomes.followups_read", f"pr-{tag}") in {
        (e["action"], e["actor"]) for e in await _audit(platform, "outcomes", child_id, auth)}
    r = await platform.request("POST", f"/outcomes/followups/{six_months['id']}/result", headers=mine, json={
        "observed_on": "2020-06-05", "living_situation": "in_care", "re_referred": False})
    assert r.status_code == 200, r.text

    # Finance: a finance officer sees the child and the date; the read is audited.
    finance = auth("finance_officer", subject=f"fo-{tag}")

    async def broken_down():
        r = await platform.request("GET", "/finance/summary/2019", headers=finance)
        return r if any(b.get("child_id") == child_id for b in r.json()["breakdowns"]) else None

    listed = (await eventually(broken_down, timeout=30, interval=0.1)).json()["breakdowns"]
    assert {"child_id": child_id, "date": "2020-06-05", "living_situation": "in_care"} in listed
    finance_rows = await _audit(platform, "finance", child_id, auth)
    assert ("summary.breakdowns_read", f"fo-{tag}", "finance_officer") in {
        (e["action"], e["actor"], e["role"]) for e in finance_rows}

    # A board member sees counts per month and living situation, and no child id, in both summaries.
    board = auth("board_member", subject=f"bm-{tag}")
    for path in ("/finance/summary/2019", "/finance/summary?from=2019&to=2019"):
        r = await platform.request("GET", path, headers=board)
        assert r.status_code == 200, r.text
        assert child_id not in r.text and "child_id" not in r.text
        summary = r.json()[0] if "?" in path else r.json()
        counts = {(b["month"], b["living_situation"]): b["children"] for b in summary["breakdowns"]}
        assert counts.get(("2020-06", "in_care"), 0) >= 1, summary["breakdowns"]
        assert set(summary["breakdowns"][0]) == {"month", "living_situation", "children"}
    assert not any(e["actor"] == f"bm-{tag}" for e in await _audit(platform, "finance", child_id, auth))
