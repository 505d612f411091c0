"""The first slice, end to end over HTTP on PostgreSQL with the real broker:
family → children → referral → referral.created → eligibility decided → shown on the referral."""

from __future__ import annotations

import json
import time
import uuid

from journeys import child_body, family_body, make_family, referral_body
from sqlalchemy import func, select

from eoc_shared.db import make_engine
from eoc_shared.testing.fixtures import event_probe, eventually


async def _outbox_count(url: str) -> int:
    engine = make_engine(url)  # the platform's engine: bound parameters hidden from any error
    try:
        async with engine.connect() as conn:
            from referral_svc.db.models import Outbox

            return int((await conn.execute(select(func.count()).select_from(Outbox))).scalar_one())
    finally:
        await engine.dispose()


async def test_referral_is_decided_and_the_decision_is_shown(platform, auth) -> None:
    sw = auth("social_worker", subject="sw-1")
    client = platform.clients["referral"]
    family_id, (older, younger) = await make_family(
        client, sw, [child_body(date_of_birth="2009-04-30"), child_body(date_of_birth="2016-01-10", legal_status="CIN")]
    )
    async with event_probe(platform.broker.bootstrap, ["referral.created", "eligibility.decided"]) as probe:
        r = await client.post("/referrals", json=referral_body(family_id, [older, younger], referred_on="2024-05-01"), headers=sw)
        assert r.status_code == 201, r.text
        referral = r.json()
        assert referral["status"] == "received"
        assert referral["consent_due_on"] == "2024-05-15"
        # 10 working days after Wed 1 May 2024, skipping weekends and the early May bank holiday (Mon 6 May).
        assert referral["assessment_due_on"] == "2024-05-16"
        assert referral["eligibility"] is None
        posted = time.perf_counter()

        async def decided():
            got = await client.get(f"/referrals/{referral['id']}", headers=sw)
            return got.json() if got.json()["eligibility"] else None

        shown = await eventually(decided, timeout=15, interval=0.02)
        latency = time.perf_counter() - posted
        print(f"POST /referrals → decision visible on GET: {latency * 1000:.0f} ms")
        assert shown["status"] == "eligible"
        assert shown["eligibility"]["recommended"] == "MST"
        by_programme = {p["programme"]: p for p in shown["eligibility"]["programmes"]}
        assert list(by_programme) == ["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION"]
        assert by_programme["MST"]["eligible"] and by_programme["FGC"]["eligible"]
        assert not by_programme["FFT_CW"]["eligible"]

        created = await probe.wait_for("referral.created", lambda m: m["data"]["referral_id"] == referral["id"])
        event = created[0]
        assert event["type"] == "referral.created.v1" and event["specversion"] == "1.0"
        ages = sorted(c["age_years"] for c in event["data"]["children"])
        assert ages == [8, 15]  # whole years on 1 May 2024 (born 30 Apr 2009 → 15; 10 Jan 2016 → 8)
        raw = json.dumps(event)
        for identifier in ("Test", "Child", "2009-04-30", "2016-01-10", "given_name", "date_of_birth"):
            assert identifier not in raw
        decided_events = await probe.wait_for("eligibility.decided", lambda m: m["data"]["referral_id"] == referral["id"])
        assert decided_events[0]["data"]["recommended"] == "MST"
        key = [k for t, k, v, _h in probe.messages
               if t == "referral.created" and isinstance(v, dict) and v["data"]["referral_id"] == referral["id"]]
        assert key == [referral["id"].encode()]

    stored = await platform.clients["eligibility"].get(f"/eligibility/decisions/{referral['id']}", headers=sw)
    assert stored.status_code == 200
    assert stored.json()["referral_id"] == referral["id"] and stored.json()["recommended"] == "MST"


async def test_bad_referrals_are_refused_and_change_nothing(platform, auth) -> None:
    sw = auth("social_worker")
    client = platform.clients["referral"]
    family_id, (child,) = await make_family(client, sw)
    _other_family, (strangers_child,) = await make_family(client, sw)
    before = await _outbox_count(platform.database_urls["referral"])
    cases = [
        (referral_body(family_id, [child], colour="red"), "colour"),
        (referral_body(family_id, [child], threshold_for_removal_met="true"), "threshold_for_removal_met"),
        (referral_body(family_id, [child], risk_factors=["gambling"]), "risk_factors.0"),
        (referral_body(family_id, [child], referred_on="01/05/2024"), "referred_on"),
        (referral_body(family_id, [child], referred_on="2999-01-01"), "referred_on"),
        (referral_body(family_id, []), "child_ids"),
        (referral_body(family_id, [child, strangers_child]), "child_ids.1"),
        (referral_body(str(uuid.uuid4()), [child]), "family_id"),
        (referral_body(family_id, [str(uuid.uuid4())]), "child_ids.0"),
        (referral_body(family_id, [child], requested_programme="YOGA"), "requested_programme"),
    ]
    for body, field in cases:
        r = await client.post("/referrals", json=body, headers=sw)
        assert r.status_code == 422, (field, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["status"] == 422 and field in [e["field"] for e in problem["errors"]], (field, problem)
        assert field in problem["detail"]
    r = await client.post("/referrals", content=b"{not json", headers={**sw, "content-type": "application/json"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert await _outbox_count(platform.database_urls["referral"]) == before


async def test_bad_children_and_families_are_refused(platform, auth) -> None:
    sw = auth("social_worker")
    client = platform.clients["referral"]
    family_id, _ = await make_family(client, sw)
    cases = [
        (child_body(nhs_number="9434765918"), "nhs_number"),
        (child_body(nhs_number="94347659"), "nhs_number"),
        (child_body(sex="X"), "sex"),
        (child_body(ethnicity="ZZZZ"), "ethnicity"),
        (child_body(legal_status="LAC"), "placement_type"),
        (child_body(date_of_birth="2999-01-01"), "date_of_birth"),
        (child_body(date_of_birth=20100615), "date_of_birth"),
    ]
    for body, field in cases:
        r = await client.post(f"/referrals/families/{family_id}/children", json=body, headers=sw)
        assert r.status_code == 422, (field, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (field, r.json())
    r = await client.post(f"/referrals/families/{uuid.uuid4()}/children", json=child_body(), headers=sw)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = await client.post("/referrals/families", json=family_body(interpreter_needed="no"), headers=sw)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "interpreter_needed"
    dup = family_body()
    assert (await client.post("/referrals/families", json=dup, headers=sw)).status_code == 201
    r = await client.post("/referrals/families", json=dup, headers=sw)
    assert r.status_code == 409 and "la_reference" in r.json()["detail"]
    ok = child_body(nhs_number="9434765919", legal_status="LAC", placement_type="U4")
    r = await client.post(f"/referrals/families/{family_id}/children", json=ok, headers=sw)
    assert r.status_code == 201 and r.json()["nhs_number"] == "9434765919"


async def test_tokens_and_roles_are_enforced(platform, auth, token) -> None:
    client = platform.clients["referral"]
    sw = auth("social_worker")
    family_id, (child,) = await make_family(client, sw)
    r = await client.post("/referrals", json=referral_body(family_id, [child]), headers=sw)
    referral_id = r.json()["id"]
    assert (await client.get(f"/referrals/{referral_id}")).status_code == 401
    r = await client.get(f"/referrals/{referral_id}", headers={"Authorization": "Bearer not-a-jwt"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    for role, source in (("board_member", None), ("partner_feed", "police"), ("finance_officer", None)):
        r = await client.get(f"/referrals/{referral_id}", headers=auth(role, source=source))
        assert r.status_code == 403, role
        assert r.headers["content-type"] == "application/problem+json"
    r = await client.post("/referrals/families", json=family_body(), headers=auth("board_member"))
    assert r.status_code == 403
    assert (await client.get(f"/referrals/{uuid.uuid4()}", headers=sw)).status_code == 404
    assert (await client.get("/referrals/healthz")).status_code == 200
