"""Partner feeds in batches (contract v1.1) and concurrent single events (group commit), on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from referral_svc.db.models import AuditEntry, Outbox, PartnerEvent

BATCH = "/referrals/feeds/police/events/batch"
SINGLE = "/referrals/feeds/police/events"


def feed_event(**overrides):
    return {"external_id": f"B-{uuid.uuid4().hex[:12]}", "occurred_at": "2024-06-20T21:15:00+01:00",
            "child": {}, "kind": "missing_episode", "summary": "Reported missing overnight.", **overrides}


async def _stored(svc, source: str, external_id: str) -> int:
    return await svc.count(PartnerEvent, PartnerEvent.source == source, PartnerEvent.external_id == external_id)


async def _la_child_id(svc, sw) -> tuple[str, str]:
    _family, (child_id,) = await svc.family()
    return child_id, (await svc.client.get(f"/referrals/children/{child_id}", headers=sw)).json()["la_child_id"]


async def test_a_batch_answers_each_event_in_order_and_refuses_only_the_invalid(quiet, auth, sw, tm, probe) -> None:
    police = auth("partner_feed", source="police", subject="police-batch")
    child_id, la_child_id = await _la_child_id(quiet, sw)
    earlier = feed_event(child={"la_child_id": la_child_id})
    assert (await quiet.client.post(SINGLE, json=earlier, headers=police)).status_code == 202
    earlier_id = (await quiet.client.post(SINGLE, json=earlier, headers=police)).json()["id"]
    matched, twice = feed_event(child={"la_child_id": la_child_id}), feed_event(child={"la_child_id": la_child_id})
    unknown = feed_event(child={"la_child_id": "NOT-OURS-" + uuid.uuid4().hex[:6]})
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    events = [
        matched,
        feed_event(child={"la_child_id": la_child_id}, kind="Arrest!"),
        twice,
        {**twice, "kind": "arrest"},  # the same external_id again within the batch
        earlier,  # sent before, one at a time
        unknown,
        feed_event(child={"la_child_id": la_child_id}, occurred_at=future),
        "not an object",
        feed_event(child={"la_child_id": la_child_id}, colour="red"),
    ]
    outbox_before = await quiet.outbox()
    r = await quiet.client.post(BATCH, json={"events": events}, headers=police)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["accepted", "invalid", "accepted", "duplicate", "duplicate", "accepted",
                                             "invalid", "invalid", "invalid"]
    assert [x["external_id"] for x in results] == [
        e.get("external_id") if isinstance(e, dict) else None for e in events]
    assert results[3]["id"] == results[2]["id"] and results[4]["id"] == earlier_id
    assert [e["field"] for e in results[1]["errors"]] == ["kind"]
    assert [e["field"] for e in results[6]["errors"]] == ["occurred_at"]
    assert [e["field"] for e in results[8]["errors"]] == ["colour"]
    assert all("id" not in x for x in results if x["status"] == "invalid")

    # Stored once each; the matched ones announced once and audited; the unmatched one waits for review.
    for e in (matched, twice, unknown):
        assert await _stored(quiet, "police", e["external_id"]) == 1
    assert await quiet.outbox() == outbox_before + 2
    for accepted in (results[0]["id"], results[2]["id"]):
        got = await probe.wait_for("partner.event.received", lambda m, a=accepted: m["data"]["partner_event_id"] == a)
        assert got[0]["data"]["child_id"] == child_id and "summary" not in got[0]["data"]
    queue = (await quiet.client.get("/referrals/feeds/review", params={"source": "police"}, headers=tm)).json()
    assert results[5]["id"] in [q["id"] for q in queue]
    audit = (await quiet.client.get("/referrals/audit", params={"child_id": child_id}, headers=auth("ops"))).json()
    assert [(a["actor"], a["action"]) for a in audit].count(("police-batch", "partner_event.received")) == 3

    # Sent again: every event is a duplicate with the same id, and nothing new is written.
    again = (await quiet.client.post(BATCH, json={"events": events}, headers=police)).json()["results"]
    assert [(x["status"], x.get("id")) for x in again if results[again.index(x)]["status"] != "invalid"] == [
        ("duplicate", x["id"]) for x in results if x["status"] != "invalid"]
    assert await quiet.outbox() == outbox_before + 2


async def test_a_repeat_of_a_stored_event_is_a_duplicate_whatever_else_it_says(quiet, auth, sw) -> None:
    """No lookup precedes the insert: a repeat is recognised by the insert that skips it, or — when the repeat
    would be refused (dated in the future) — by the lookup of the refused ones afterwards."""
    police = auth("partner_feed", source="police")
    _child_id, la_child_id = await _la_child_id(quiet, sw)
    first = [feed_event(child={"la_child_id": la_child_id}) for _ in range(3)]
    stored = (await quiet.client.post(BATCH, json={"events": first}, headers=police)).json()["results"]
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    again = [{**first[0], "occurred_at": future}, first[1], feed_event(child={"la_child_id": la_child_id}), first[2]]
    outbox_before = await quiet.outbox()
    results = (await quiet.client.post(BATCH, json={"events": again}, headers=police)).json()["results"]
    assert [(x["status"], x.get("id")) for x in results] == [
        ("duplicate", stored[0]["id"]), ("duplicate", stored[1]["id"]), ("accepted", results[2]["id"]),
        ("duplicate", stored[2]["id"])]
    assert await quiet.outbox() == outbox_before + 1
    for e in first:
        assert await _stored(quiet, "police", e["external_id"]) == 1


async def test_bad_batches_are_refused_whole_and_store_nothing(quiet, auth, sw) -> None:
    police = auth("partner_feed", source="police")
    _child_id, la_child_id = await _la_child_id(quiet, sw)
    before = await quiet.count(PartnerEvent)
    one = feed_event(child={"la_child_id": la_child_id})
    for body, field in [({"events": []}, "events"), ({"events": [one] * 1001}, "events"), ({}, "events"),
                        ({"events": one}, "events"), ({"events": [one], "extra": 1}, "extra")]:
        r = await quiet.client.post(BATCH, json=body, headers=police)
        assert r.status_code == 422, (field, r.text)
        assert field in [e["field"] for e in r.json()["errors"]]
    assert (await quiet.client.post("/referrals/feeds/health/events/batch", json={"events": [one]},
                                    headers=police)).status_code == 403
    assert (await quiet.client.post(BATCH, json={"events": [one]}, headers=sw)).status_code == 403
    assert (await quiet.client.post(BATCH, json={"events": [one]})).status_code == 401
    assert await quiet.count(PartnerEvent) == before


async def test_a_full_batch_is_accepted_with_one_announcement_per_matched_event(quiet, auth, sw) -> None:
    police = auth("partner_feed", source="police")
    child_id, la_child_id = await _la_child_id(quiet, sw)
    events = [feed_event(child={"la_child_id": la_child_id}) for _ in range(1000)]
    outbox_before = await quiet.outbox()
    r = await quiet.client.post(BATCH, json={"events": events}, headers=police)
    assert r.status_code == 200
    assert {x["status"] for x in r.json()["results"]} == {"accepted"}
    assert await quiet.outbox() == outbox_before + 1000
    async with quiet.app.state.runtime.db.sessions() as s:
        ids = {str(i) for i in (await s.execute(select(Outbox.payload["data"]["partner_event_id"].as_string()).where(
            Outbox.key == child_id))).scalars()}
    assert {x["id"] for x in r.json()["results"]} <= ids


async def test_racing_singles_and_batches_store_each_external_id_once(quiet, auth, sw) -> None:
    """Concurrent requests carrying the same external ids: one stored row each, every answer names it."""
    police = auth("partner_feed", source="police", subject="racer")
    child_id, la_child_id = await _la_child_id(quiet, sw)
    events = [feed_event(child={"la_child_id": la_child_id}) for _ in range(20)]
    outbox_before = await quiet.outbox()
    calls = [quiet.client.post(BATCH, json={"events": events}, headers=police) for _ in range(3)]
    calls += [quiet.client.post(SINGLE, json=e, headers=police) for e in events for _ in range(2)]
    answers = await asyncio.gather(*calls)
    assert all(a.status_code in (200, 202) for a in answers), [a.text for a in answers if a.status_code >= 300]
    ids: dict[str, set[str]] = {}
    for a in answers[:3]:
        for e, x in zip(events, a.json()["results"], strict=True):
            ids.setdefault(e["external_id"], set()).add(x["id"])
    for e, a in zip([e for e in events for _ in range(2)], answers[3:], strict=True):
        ids.setdefault(e["external_id"], set()).add(a.json()["id"])
    assert all(len(v) == 1 for v in ids.values()), ("every answer for one external_id names the same event",
                                                     {k: v for k, v in ids.items() if len(v) > 1})
    for e in events:
        assert await _stored(quiet, "police", e["external_id"]) == 1
    assert await quiet.outbox() == outbox_before + 20
    assert await quiet.count(AuditEntry, AuditEntry.child_id == uuid.UUID(child_id),
                             AuditEntry.action == "partner_event.received") == 20


async def test_concurrent_single_events_each_get_their_own_answer(quiet, auth, sw) -> None:
    """Group commit: many single events in one transaction, but a bad one is refused alone."""
    police = auth("partner_feed", source="police")
    _child_id, la_child_id = await _la_child_id(quiet, sw)
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    good = [feed_event(child={"la_child_id": la_child_id}) for _ in range(30)]
    bad = feed_event(child={"la_child_id": la_child_id}, occurred_at=future)
    answers = await asyncio.gather(*(quiet.client.post(SINGLE, json=e, headers=police) for e in [*good, bad]))
    assert [a.status_code for a in answers] == [202] * 30 + [422]
    assert answers[-1].json()["errors"][0]["field"] == "occurred_at"
    assert len({a.json()["id"] for a in answers[:30]}) == 30
    assert await _stored(quiet, "police", bad["external_id"]) == 0
    async with quiet.app.state.runtime.db.sessions() as s:
        stored = (await s.execute(select(func.count()).select_from(PartnerEvent).where(
            PartnerEvent.external_id.in_([e["external_id"] for e in good])))).scalar_one()
    assert stored == 30
