"""Nothing lost, nothing doubled: outbox while the broker is away, rollbacks, inbox de-duplication, DLQ."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import AsyncExitStack
from datetime import date

import pytest
from journeys import make_family, referral_body
from sqlalchemy import func, select

from conftest import start_platform
from eoc_shared.broker import EmbeddedBroker
from eoc_shared.db import utcnow
from eoc_shared.events.envelope import build_envelope
from eoc_shared.events.schemas import ChildFacts, ReferralCreated
from eoc_shared.testing.fixtures import event_probe, eventually, produce_raw


def _referral_created(referral_id: uuid.UUID | None = None) -> ReferralCreated:
    return ReferralCreated(
        referral_id=referral_id or uuid.uuid4(), family_id=uuid.uuid4(), referred_on=date(2024, 5, 1),
        source="social_worker", risk_factors=["neglect"], threshold_for_removal_met=True,
        children=[ChildFacts(child_id=uuid.uuid4(), age_years=9, legal_status="CPP")],
    )


def _wire(data: ReferralCreated) -> bytes:
    env = build_envelope("referral.created", key=str(data.referral_id), data=data, source="urn:eoc:test")
    return json.dumps({k: v for k, v in env.items() if not k.startswith("_")}).encode()


async def _count(app, model, *where) -> int:
    runtime = app.state.runtime
    async with runtime.db.sessions() as s:
        return int((await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


async def test_a_referral_made_while_the_broker_is_down_is_published_when_it_returns(databases, data_dir, auth) -> None:
    own_broker = EmbeddedBroker()
    own_broker.start()
    try:
        async with AsyncExitStack() as stack:
            platform = await start_platform(stack, databases, own_broker, data_dir, ["referral"])
            client = platform.clients["referral"]
            sw = auth("social_worker")
            family_id, (child,) = await make_family(client, sw)
            own_broker.stop()
            r = await client.post("/referrals", json=referral_body(family_id, [child]), headers=sw)
            assert r.status_code == 201, "the referral is accepted while the broker is away"
            referral_id = r.json()["id"]
            from referral_svc.db.models import Outbox

            app = platform.apps["referral"]
            assert await _count(app, Outbox, Outbox.published_at.is_(None)) >= 1
            own_broker.start()
            async with event_probe(own_broker.bootstrap, ["referral.created"]) as probe:
                await probe.wait_for("referral.created", lambda m: m["data"]["referral_id"] == referral_id, timeout=40)

                async def all_published() -> bool:
                    return await _count(app, Outbox, Outbox.published_at.is_(None)) == 0

                await eventually(all_published, timeout=10)
                # The broker that returned is a new instance (memory storage): the relay replays its window to
                # it, so the event may be there twice; consumers' inboxes make that harmless.
                published = probe.on("referral.created", lambda m: m["data"]["referral_id"] == referral_id)
                assert {m["id"] for m in published} == {published[0]["id"]}
    finally:
        own_broker.stop()


async def test_a_rolled_back_change_publishes_nothing(platform) -> None:
    from referral_svc.db.models import Outbox

    app = platform.apps["referral"]
    before = await _count(app, Outbox)
    with pytest.raises(RuntimeError):
        async with app.state.runtime.uow() as uow:
            uow.publish("referral.created", key="k", data=_referral_created())
            await uow.session.flush()
            raise RuntimeError("the business change failed half-way")
    assert await _count(app, Outbox) == before


async def test_the_same_event_delivered_twice_changes_state_once(platform) -> None:
    from eligibility_svc.db.models import DecisionRecord

    data = _referral_created()
    wire = _wire(data)
    app = platform.apps["eligibility"]
    async with event_probe(platform.broker.bootstrap, ["eligibility.decided"]) as probe:
        await produce_raw(platform.broker.bootstrap, "referral.created", wire, key=str(data.referral_id).encode())
        await produce_raw(platform.broker.bootstrap, "referral.created", wire, key=str(data.referral_id).encode())
        await probe.wait_for("eligibility.decided", lambda m: m["data"]["referral_id"] == str(data.referral_id))
        marker = _referral_created()
        await produce_raw(platform.broker.bootstrap, "referral.created", _wire(marker), key=str(marker.referral_id).encode())
        await probe.wait_for("eligibility.decided", lambda m: m["data"]["referral_id"] == str(marker.referral_id))
        assert await _count(app, DecisionRecord, DecisionRecord.referral_id == data.referral_id) == 1
        assert len(probe.on("eligibility.decided", lambda m: m["data"]["referral_id"] == str(data.referral_id))) == 1


async def test_poison_goes_to_the_dead_letter_topic_and_the_next_message_is_handled(platform) -> None:
    from eligibility_svc.db.models import DecisionRecord

    bootstrap = platform.broker.bootstrap
    valid = _referral_created()
    schema_invalid = json.loads(_wire(_referral_created()))
    schema_invalid["data"]["threshold_for_removal_met"] = "perhaps"
    async with event_probe(bootstrap, ["referral.created.dlq"]) as probe:
        await produce_raw(bootstrap, "referral.created", b"\x00 definitely not json", key=b"poison-1")
        await produce_raw(bootstrap, "referral.created", json.dumps(schema_invalid).encode(), key=b"poison-2")
        await produce_raw(bootstrap, "referral.created", _wire(valid), key=str(valid.referral_id).encode())
        # Every service that consumes referral.created parks each poison message once, under its own name.
        consumers = {"eligibility.referral.created", "outcomes.referral.created", "finance.referral.created"}

        def parked() -> dict[tuple[str, bytes], dict[str, str]] | None:
            seen = {(h["dlq-consumer"], k): h for t, k, _v, h in probe.messages
                    if t == "referral.created.dlq" and k in (b"poison-1", b"poison-2")}
            return seen if {c for c, _k in seen} >= consumers and len(seen) == 2 * len(consumers) else None

        by_consumer = await eventually(parked, timeout=30)
        assert {c for c, _k in by_consumer} == consumers
        for consumer in consumers:
            assert "not a CloudEvents envelope" in by_consumer[(consumer, b"poison-1")]["dlq-reason"]
            assert "threshold_for_removal_met" in by_consumer[(consumer, b"poison-2")]["dlq-reason"]
    app = platform.apps["eligibility"]
    await eventually(lambda: _count(app, DecisionRecord, DecisionRecord.referral_id == valid.referral_id), timeout=20)


async def test_a_handler_that_keeps_failing_is_dead_lettered_after_its_retries(platform) -> None:
    """eligibility.decided for a referral referral-svc has never seen cannot be applied."""
    from eoc_shared.events.schemas import EligibilityDecided, ProgrammeDecision

    bootstrap = platform.broker.bootstrap
    orphan = EligibilityDecided(
        referral_id=uuid.uuid4(), decision_id=uuid.uuid4(), rule_version=1, recommended="OTHER_PREVENTION",
        programmes=[ProgrammeDecision(programme="OTHER_PREVENTION", eligible=True, reasons=["always open"])],
        decided_at="2024-05-01T10:00:00Z",
    )
    env = build_envelope("eligibility.decided", key=str(orphan.referral_id), data=orphan, source="urn:eoc:test")
    wire = json.dumps({k: v for k, v in env.items() if not k.startswith("_")}).encode()
    async with event_probe(bootstrap, ["eligibility.decided.dlq"]) as probe:
        await produce_raw(bootstrap, "eligibility.decided", wire, key=str(orphan.referral_id).encode())
        parked = await probe.wait_for("eligibility.decided.dlq", lambda m: m["data"]["referral_id"] == str(orphan.referral_id))
        headers = [h for t, _k, v, h in probe.messages if t == "eligibility.decided.dlq"][0]
        assert headers["dlq-attempts"] == "3" and "LookupError" in headers["dlq-reason"]
        assert parked[0]["id"] == env["id"]


async def test_consumers_keep_consuming_after_the_broker_restarts(databases, data_dir, auth) -> None:
    """Tansu keeps nothing across a restart (topics, offsets); consumers rejoin and the inbox guards duplicates."""
    own_broker = EmbeddedBroker()
    own_broker.start()
    try:
        async with AsyncExitStack() as stack:
            platform = await start_platform(stack, databases, own_broker, data_dir, ["referral", "eligibility"])
            client = platform.clients["referral"]
            sw = auth("social_worker")

            async def decided(referral_id: str):
                return (await client.get(f"/referrals/{referral_id}", headers=sw)).json()["eligibility"]

            family_id, (child,) = await make_family(client, sw)
            before = (await client.post("/referrals", json=referral_body(family_id, [child]), headers=sw)).json()
            await eventually(lambda: decided(before["id"]), timeout=30)

            own_broker.stop()
            own_broker.start()
            family_id, (child,) = await make_family(client, sw)
            after = (await client.post("/referrals", json=referral_body(family_id, [child]), headers=sw)).json()
            shown = await eventually(lambda: decided(after["id"]), timeout=60, interval=0.2)
            assert shown["recommended"] == "MST"
    finally:
        own_broker.stop()


async def test_a_message_that_cannot_be_parked_yet_is_read_again_and_nothing_behind_it_is_passed_over(platform) -> None:
    """Poison that cannot be parked (its first parking fails) holds its partition: it is read again and parked
    once, the event behind it in that partition is decided after it, and the events that came in the same fetch
    on other partitions are decided too: none of them is passed over."""
    from eligibility_svc.db.models import DecisionRecord
    from eoc_shared.events.bus import key_partitioner, producer_for

    bootstrap = platform.broker.bootstrap
    app = platform.apps["eligibility"]
    dead_letters = app.state.runtime.consumers.dead_letters
    real_park = dead_letters.park
    parked_at: list[object] = []

    async def park_failing_once(parked):  # type: ignore[no-untyped-def]
        if not parked_at:
            parked_at.append(None)
            raise ConnectionError("the dead-letter table is away")
        total = await real_park(parked)
        parked_at.append(utcnow())
        return total

    dead_letters.park = park_failing_once
    producer = producer_for(bootstrap)
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for("referral.created"))
        behind = _referral_created()
        key = str(behind.referral_id).encode()
        held = key_partitioner(key, partitions, partitions)
        others: list[ReferralCreated] = []
        while len(others) < 4:
            other = _referral_created()
            if key_partitioner(str(other.referral_id).encode(), partitions, partitions) != held:
                others.append(other)
        sent = [await producer.send("referral.created", b"{not json", key=key),
                await producer.send("referral.created", _wire(behind), key=key)]
        sent += [await producer.send("referral.created", _wire(o), key=str(o.referral_id).encode()) for o in others]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    try:
        for referral in (behind, *others):
            await eventually(lambda r=referral: _count(app, DecisionRecord, DecisionRecord.referral_id == r.referral_id),
                             timeout=30)
    finally:
        dead_letters.park = real_park
    assert len(parked_at) == 2, "parked once, after the one failure"
    rows = [r for r in await dead_letters.listing(topic="referral.created", consumer="eligibility.referral.created")
            if r.key == key.decode()]
    assert len(rows) == 1, "one dead letter for the poison"
    async with app.state.runtime.db.sessions() as s:
        decided = (await s.execute(select(DecisionRecord.decided_at)
                                   .where(DecisionRecord.referral_id == behind.referral_id))).scalars().all()
    assert len(decided) == 1 and decided[0] >= parked_at[1], "the event behind the poison waited for it"
    for referral in others:
        assert await _count(app, DecisionRecord, DecisionRecord.referral_id == referral.referral_id) == 1
