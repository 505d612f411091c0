"""Partner feeds, the child's timeline and the append-only access audit log."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from eoc_shared.db import Database
from eoc_shared.events.envelope import build_envelope
from eoc_shared.events.schemas import FollowupDue
from eoc_shared.migrations import upgrade_to_head
from eoc_shared.testing.fixtures import eventually, produce_raw
from referral_svc.app import MIGRATIONS


def feed_event(**overrides):
    return {"external_id": f"EXT-{uuid.uuid4().hex[:12]}", "occurred_at": "2024-06-20T21:15:00+01:00",
            "child": {}, "kind": "missing_episode", "summary": "Reported missing overnight; returned 07:00.",
            **overrides}


async def test_partner_feeds_are_matched_kept_and_published_once(quiet, auth, tm, sw, probe) -> None:
    police = auth("partner_feed", source="police", subject="police-feed")
    nhs = quiet.nhs_number()
    family_id, (child_id,) = await quiet.family([quiet.child_body(nhs_number=nhs)])
    la_child_id = (await quiet.client.get(f"/referrals/children/{child_id}", headers=sw)).json()["la_child_id"]
    path = "/referrals/feeds/police/events"

    body = feed_event(child={"la_child_id": la_child_id})
    r = await quiet.client.post(path, json=body, headers=police)
    assert r.status_code == 202, r.text
    first = r.json()
    assert first["status"] == "accepted" and first["duplicate"] is False
    r = await quiet.client.post(path, json={**body, "summary": "sent again"}, headers=police)
    assert r.status_code == 202 and r.json() == {**first, "duplicate": True}
    by_nhs = await quiet.client.post(path, json=feed_event(child={"nhs_number": nhs}, kind="arrest",
                                                           summary=None), headers=police)
    assert by_nhs.status_code == 202

    received = await probe.wait_for("partner.event.received", lambda m: m["data"]["child_id"] == child_id, count=2)
    assert received[0]["data"] == {"partner_event_id": first["id"], "child_id": child_id, "source": "police",
                                   "kind": "missing_episode", "occurred_at": "2024-06-20T20:15:00Z"}
    assert "missing overnight" not in json.dumps(received)
    assert len(probe.on("partner.event.received", lambda m: m["data"]["partner_event_id"] == first["id"])) == 1

    # The same external id from another partner is another event.
    health = auth("partner_feed", source="health")
    r = await quiet.client.post("/referrals/feeds/health/events", json=body, headers=health)
    assert r.status_code == 202 and r.json()["id"] != first["id"]

    timeline = (await quiet.client.get(f"/referrals/children/{child_id}/timeline", headers=sw)).json()
    partner = [t for t in timeline if t["source"] in ("police", "health")]
    assert sorted((t["kind"], t["source"]) for t in partner) == [
        ("arrest", "police"), ("missing_episode", "health"), ("missing_episode", "police")]
    original = next(t for t in partner if t["ref"] == first["id"])
    assert original["summary"] == "Reported missing overnight; returned 07:00."
    assert original["at"].startswith("2024-06-20T20:15:00")


async def test_unmatched_events_wait_for_a_team_manager(quiet, auth, tm, sw, probe) -> None:
    youth = auth("partner_feed", source="youth_justice")
    _family, (child_id,) = await quiet.family([quiet.child_body(nhs_number=quiet.nhs_number())])
    la_child_id = (await quiet.client.get(f"/referrals/children/{child_id}", headers=sw)).json()["la_child_id"]
    unknown = feed_event(child={"la_child_id": "NOT-OURS-" + uuid.uuid4().hex[:6]}, kind="court_date")
    conflicting = feed_event(child={"la_child_id": la_child_id, "nhs_number": quiet.nhs_number()}, kind="caution")
    ids = []
    for body in (unknown, conflicting):
        r = await quiet.client.post("/referrals/feeds/youth_justice/events", json=body, headers=youth)
        assert r.status_code == 202 and r.json()["status"] == "accepted", "the partner is not told about matching"
        ids.append(r.json()["id"])

    assert (await quiet.client.get("/referrals/feeds/review", headers=sw)).status_code == 403
    queue = (await quiet.client.get("/referrals/feeds/review", params={"source": "youth_justice"}, headers=tm)).json()
    mine = {q["id"]: q for q in queue if q["id"] in ids}
    assert set(mine) == set(ids)
    assert "no child has that la_child_id" in mine[ids[0]]["review_reason"]
    assert "NHS number differs" in mine[ids[1]]["review_reason"]

    resolve = f"/referrals/feeds/review/{ids[0]}/resolve"
    assert (await quiet.client.post(resolve, json={"child_id": str(uuid.uuid4())}, headers=tm)).status_code == 422
    r = await quiet.client.post(resolve, json={"child_id": child_id, "note": "known under old LA id"}, headers=tm)
    assert r.status_code == 200 and r.json()["status"] == "resolved" and r.json()["child_id"] == child_id
    assert (await quiet.client.post(resolve, json={"child_id": child_id}, headers=tm)).status_code == 409
    await probe.wait_for("partner.event.received", lambda m: m["data"]["partner_event_id"] == ids[0])
    r = await quiet.client.post(f"/referrals/feeds/review/{ids[1]}/dismiss", json={"note": "different child"}, headers=tm)
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    dismissed = (await quiet.client.get("/referrals/feeds/review", params={"status": "dismissed"}, headers=tm)).json()
    assert ids[1] in [d["id"] for d in dismissed], "never dropped"
    assert probe.on("partner.event.received", lambda m: m["data"]["partner_event_id"] == ids[1]) == []


async def test_feed_tokens_and_bad_events_are_refused(quiet, auth, sw) -> None:
    police = auth("partner_feed", source="police")
    before = await quiet.outbox()
    assert (await quiet.client.post("/referrals/feeds/health/events", json=feed_event(child={"la_child_id": "X"}),
                                    headers=police)).status_code == 403
    assert (await quiet.client.post("/referrals/feeds/police/events", json=feed_event(child={"la_child_id": "X"}),
                                    headers=sw)).status_code == 403
    assert (await quiet.client.post("/referrals/feeds/police/events", json=feed_event(child={"la_child_id": "X"})
                                    )).status_code == 401
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    for body, field in [
        (feed_event(child={}), "child"),
        (feed_event(child={"nhs_number": "1234567890"}), "child.nhs_number"),
        (feed_event(child={"la_child_id": "X"}, occurred_at="2024-06-20"), "occurred_at"),
        (feed_event(child={"la_child_id": "X"}, occurred_at="2024-06-20T21:15:00"), "occurred_at"),
        (feed_event(child={"la_child_id": "X"}, occurred_at=1718900000), "occurred_at"),
        (feed_event(child={"la_child_id": "X"}, occurred_at=future), "occurred_at"),
        (feed_event(child={"la_child_id": "X"}, kind="Arrest!"), "kind"),
        (feed_event(child={"la_child_id": "X"}, colour="red"), "colour"),
        (feed_event(child={"la_child_id": "X"}, external_id=42), "external_id"),
    ]:
        r = await quiet.client.post("/referrals/feeds/police/events", json=body, headers=police)
        assert r.status_code == 422, (field, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (field, r.json())
    assert (await quiet.client.post("/referrals/feeds/fire/events", json=feed_event(child={"la_child_id": "X"}),
                                    headers=auth("partner_feed", source="fire"))).status_code == 422
    assert await quiet.outbox() == before


async def test_timeline_tells_the_story_oldest_first(svc, sw, auth) -> None:
    family_id, (child_id,), referral_id = await svc.eligible_case(referred_on="2024-05-01")
    await svc.client.post(f"/referrals/{referral_id}/consent", json={"signed_on": "2024-05-08"}, headers=sw)
    iv = (await svc.start(referral_id, "OTHER_PREVENTION", started_on="2024-06-03")).json()["id"]
    await svc.client.post("/referrals/feeds/education/events", headers=auth("partner_feed", source="education"),
                          json=feed_event(child={"la_child_id": (await svc.client.get(
                              f"/referrals/children/{child_id}", headers=sw)).json()["la_child_id"]},
                              kind="school_exclusion", occurred_at="2024-07-01T09:00:00Z", summary="Fixed-term, 3 days"))
    assert (await svc.close(iv, [child_id], closed_on="2024-09-02")).status_code == 200
    # outcomes-svc announces the 6-month follow-up; it joins the timeline.
    due = FollowupDue(followup_id=uuid.uuid4(), child_id=uuid.UUID(child_id), intervention_id=uuid.UUID(iv),
                      checkpoint_months=6, due_on=date(2025, 3, 2))
    env = build_envelope("followup.due", key=child_id, data=due, source="urn:eoc:outcomes")
    wire = json.dumps({k: v for k, v in env.items() if not k.startswith("_")}).encode()
    await produce_raw(svc.bootstrap, "followup.due", wire, key=child_id.encode())
    await produce_raw(svc.bootstrap, "followup.due", wire, key=child_id.encode())  # delivered twice, shown once

    async def followup_shown() -> bool:
        got = (await svc.client.get(f"/referrals/children/{child_id}/timeline", headers=sw)).json()
        return [i["ref"] for i in got if i["kind"] == "followup.due"] == [str(due.followup_id)]

    await eventually(followup_shown, timeout=20)
    await svc.client.patch(f"/referrals/children/{child_id}",
                           json={"legal_status": "LAC", "placement_type": "U6", "effective_on": "2024-10-01"}, headers=sw)
    r = await svc.client.get(f"/referrals/children/{child_id}/timeline", headers=sw)
    assert r.status_code == 200
    items = r.json()
    story = [(i["at"][:10], i["kind"]) for i in items if i["kind"] != "eligibility.decided"]
    assert story[:2] == [("2024-05-01", "referral.received"), ("2024-05-08", "consent.signed")]
    kinds = [k for _d, k in story]
    for earlier, later in [("consent.signed", "intervention.started"), ("intervention.started", "school_exclusion"),
                           ("school_exclusion", "intervention.closed"), ("intervention.closed", "child.care_status_changed"),
                           ("child.care_status_changed", "followup.due")]:
        assert kinds.index(earlier) < kinds.index(later), (earlier, later, kinds)
    changes = [i["summary"] for i in items if i["kind"] == "referral.status_changed"]
    assert {"received → eligible", "eligible → active", "active → closed"} <= set(changes)
    assert items == sorted(items, key=lambda i: i["at"])
    closed = next(i for i in items if i["kind"] == "intervention.closed")
    assert closed["ref"] == iv and "at home" in closed["summary"]
    exclusion = next(i for i in items if i["kind"] == "school_exclusion")
    assert exclusion["source"] == "education" and exclusion["summary"] == "Fixed-term, 3 days"
    assert {"at", "kind", "source", "ref"} <= set(items[0]) and "summary" not in next(
        i for i in items if i["kind"] == "consent.signed")
    assert (await svc.client.get(f"/referrals/children/{uuid.uuid4()}/timeline", headers=sw)).status_code == 404


async def test_every_read_and_change_is_audited(quiet, auth) -> None:
    alice = auth("social_worker", subject="alice")
    family_id, (child_id,) = await quiet.family(headers=alice)
    referral = await quiet.referral(family_id, [child_id], headers=alice)
    await quiet.client.get(f"/referrals/{referral['id']}", headers=auth("team_manager", subject="bob"))
    await quiet.client.patch(f"/referrals/children/{child_id}", json={"given_name": "Ali"}, headers=alice)
    await quiet.client.get(f"/referrals/children/{child_id}/timeline", headers=alice)
    await quiet.client.post(f"/referrals/{referral['id']}/consent", json={"signed_on": "2024-05-02"}, headers=alice)

    for role in ("social_worker", "practitioner", "board_member"):
        r = await quiet.client.get("/referrals/audit", params={"child_id": child_id}, headers=auth(role))
        assert r.status_code == 403, role
    r = await quiet.client.get("/referrals/audit", params={"child_id": child_id}, headers=auth("ops"))
    assert r.status_code == 200
    entries = r.json()
    assert [(e["actor"], e["role"], e["action"]) for e in entries] == [
        ("alice", "social_worker", "child.created"),
        ("alice", "social_worker", "referral.created"),
        ("bob", "team_manager", "referral.read"),
        ("alice", "social_worker", "child.updated"),
        ("alice", "social_worker", "timeline.read"),
        ("alice", "social_worker", "consent.recorded"),
    ]
    assert all(e["child_id"] == child_id and e["at"] for e in entries)
    assert (await quiet.client.get("/referrals/audit", params={"child_id": "nope"}, headers=auth("ops"))).status_code == 422
    assert (await quiet.client.get("/referrals/audit", headers=auth("ops"))).status_code == 422
    assert (await quiet.client.get("/referrals/audit", params={"child_id": str(uuid.uuid4())},
                                   headers=auth("team_manager"))).status_code == 404


async def test_the_audit_log_refuses_update_and_delete_on_postgres(quiet) -> None:
    engine = quiet.app.state.runtime.db.engine
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM audit_log"))).scalar_one() > 0
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text(statement))
            await conn.rollback()


async def test_migrations_run_on_sqlite_and_the_audit_log_is_append_only_there(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'referral.sqlite3'}")
    try:
        await upgrade_to_head(db.engine, MIGRATIONS)
        async with db.engine.begin() as conn:
            programmes = (await conn.execute(text("SELECT programme, duration_months FROM programmes"))).all()
            assert dict(programmes) == {"MST": 5, "MST_BSF": 9, "FFT_CW": 6, "FFT_REUNIFICATION": 6, "FGC": 3,
                                        "OTHER_PREVENTION": 3}
            await conn.execute(text(
                "INSERT INTO audit_log (at, actor, role, action, child_id) "
                "VALUES ('2024-01-01 00:00:00', 'a', 'ops', 'x', '00000000000000000000000000000001')"))
        for statement in ("UPDATE audit_log SET actor = 'b'", "DELETE FROM audit_log"):
            async with db.engine.connect() as conn:
                with pytest.raises(DBAPIError, match="append-only"):
                    await conn.execute(text(statement))
    finally:
        await db.dispose()
