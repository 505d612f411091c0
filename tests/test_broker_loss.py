"""The broker is killed (SIGKILL) under the running services: it is restarted on the same address, empty,
with a new cluster id; relays replay their retention window to it, consumers read it from the start, and
the inboxes make every repeat harmless. Nothing lost, nothing doubled.

The four services run on PostgreSQL against a broker of this module's own, supervised as the runner does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import pytest
from journeys import make_family, referral_body
from sqlalchemy import func, insert, select

from conftest import Platform, start_platform
from eoc_shared.broker import BrokerSupervisor, EmbeddedBroker
from eoc_shared.db import utcnow
from eoc_shared.testing.fixtures import PostgresDatabases, eventually

REFERRALS = 200


@pytest.fixture(scope="module")
async def supervised(databases: PostgresDatabases, data_dir) -> AsyncIterator[tuple[Platform, BrokerSupervisor]]:
    broker = EmbeddedBroker()
    broker.start()
    supervisor = BrokerSupervisor(broker)
    supervisor.start()
    try:
        async with AsyncExitStack() as stack:
            platform = await start_platform(stack, databases, broker, data_dir,
                                            ["referral", "eligibility", "outcomes", "finance"])
            yield platform, supervisor
    finally:
        supervisor.stop()
        broker.stop()


def _kill_broker(supervisor: BrokerSupervisor) -> None:
    process = supervisor.broker.process
    assert process is not None and process.poll() is None
    os.kill(process.pid, signal.SIGKILL)


async def _counts(platform: Platform, service: str, column: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many rows each id has in one table of one service's own database."""
    runtime = platform.apps[service].state.runtime  # type: ignore[attr-defined]
    async with runtime.db.sessions() as session:
        rows = (await session.execute(
            select(column, func.count()).where(column.in_(ids)).group_by(column))).all()
    return {row[0]: int(row[1]) for row in rows}


async def _all_once(platform: Platform, service: str, column: Any, ids: list[uuid.UUID],
                    timeout: float = 120) -> None:
    """Every id arrives (nothing lost), and each exactly once (nothing doubled)."""

    async def arrived() -> dict[uuid.UUID, int] | None:
        counts = await _counts(platform, service, column, ids)
        return counts if len(counts) == len(ids) else None

    try:
        counts = await eventually(arrived, timeout=timeout, interval=0.5)
    except AssertionError:
        counts = await _counts(platform, service, column, ids)
        runtime = platform.apps[service].state.runtime  # type: ignore[attr-defined]
        raise AssertionError(f"{service}: {len(ids) - len(counts)} of {len(ids)} never arrived; missing "
                             f"{[str(i) for i in ids if i not in counts][:10]}; its consumer: "
                             f"{await runtime.consumers.diagnostics()}; referral-svc's outbox: "
                             f"{await _referral_outbox(platform)}") from None
    assert {n for n in counts.values()} == {1}, {k: n for k, n in counts.items() if n != 1}


async def _referral_outbox(platform: Platform) -> dict[str, Any]:
    """referral-svc's outbox by topic: rows, and rows not yet published."""
    from referral_svc.db.models import Outbox

    runtime = platform.apps["referral"].state.runtime  # type: ignore[attr-defined]
    async with runtime.db.sessions() as session:
        rows = (await session.execute(select(Outbox.topic, func.count(), func.count(Outbox.published_at))
                                      .group_by(Outbox.topic))).all()
    return {topic: {"rows": n, "published": published} for topic, n, published in rows}


async def _families(platform: Platform, sw: dict[str, str], n: int) -> list[tuple[str, str]]:
    gate = asyncio.Semaphore(8)

    async def one() -> tuple[str, str]:
        async with gate:
            family_id, (child_id,) = await make_family(platform.clients["referral"], sw)
            return family_id, child_id

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def _post_referrals(platform: Platform, sw: dict[str, str], families: list[tuple[str, str]],
                          during: Callable[[int], None]) -> list[str]:
    """Post one referral per family, eight at a time; `during(i)` runs as the i-th is posted."""
    gate = asyncio.Semaphore(8)

    async def one(i: int, family_id: str, child_id: str) -> str:
        async with gate:
            during(i)
            r = await platform.request("POST", "/referrals", json=referral_body(family_id, [child_id]), headers=sw)
            assert r.status_code == 201, r.text
            return str(r.json()["id"])

    return list(await asyncio.gather(*(one(i, f, c) for i, (f, c) in enumerate(families))))


async def test_referrals_posted_across_a_broker_kill_are_all_decided_and_projected_once(supervised, auth) -> None:
    from eligibility_svc.db.models import DecisionRecord
    from finance_svc.db.models import ProjectionVersion

    platform, supervisor = supervised
    sw = auth("social_worker")
    families = await _families(platform, sw, REFERRALS)

    def kill_half_way(i: int) -> None:
        if i == REFERRALS // 2:
            _kill_broker(supervisor)

    restarts = supervisor.restarts
    referral_ids = await _post_referrals(platform, sw, families, kill_half_way)
    assert len(set(referral_ids)) == REFERRALS
    await _all_once(platform, "eligibility", DecisionRecord.referral_id, [uuid.UUID(r) for r in referral_ids])
    await _all_once(platform, "finance", ProjectionVersion.child_id, [uuid.UUID(c) for _f, c in families])
    assert supervisor.restarts == restarts + 1

    # Every referral shows its decision in referral-svc (the eligibility.decided hop back), read from its own rows.
    from referral_svc.db.models import Referral

    ids = [uuid.UUID(r) for r in referral_ids]

    async def undecided() -> list[uuid.UUID]:
        runtime = platform.apps["referral"].state.runtime  # type: ignore[attr-defined]
        async with runtime.db.sessions() as session:
            return list((await session.execute(select(Referral.id).where(
                Referral.id.in_(ids), Referral.eligibility_decided_at.is_(None)))).scalars())

    try:
        await eventually(lambda: _none(undecided), timeout=60, interval=0.5)
    except AssertionError:
        missing = await undecided()
        raise AssertionError(f"{len(missing)} referrals never showed their decision: "
                             f"{await _diagnose(platform, missing)}") from None


async def _none(query: Callable[[], Any]) -> bool:
    return not await query()


async def _diagnose(platform: Platform, referral_ids: list[uuid.UUID]) -> dict[str, Any]:
    """Where the eligibility.decided events of these referrals went: eligibility's outbox, referral-svc's
    inbox and dead letters, and the referral consumers' view of the broker."""
    from eligibility_svc.db.models import Outbox as EligibilityOutbox
    from referral_svc.db.models import DeadLetter, Inbox

    keys = [str(r) for r in referral_ids]
    eligibility = platform.apps["eligibility"].state.runtime  # type: ignore[attr-defined]
    async with eligibility.db.sessions() as session:
        outbox = [(row.id, row.key, row.published_at is not None) for row in (await session.execute(
            select(EligibilityOutbox).where(EligibilityOutbox.topic == "eligibility.decided",
                                            EligibilityOutbox.key.in_(keys)))).scalars()]
    referral = platform.apps["referral"].state.runtime  # type: ignore[attr-defined]
    event_ids = [row[0] for row in outbox]
    async with referral.db.sessions() as session:
        handled = (await session.execute(select(func.count()).select_from(Inbox).where(
            Inbox.event_id.in_(event_ids)))).scalar_one() if event_ids else 0
        parked = [(d.topic, d.reason[:200]) for d in (await session.execute(select(DeadLetter))).scalars()]
    consumers = referral.consumers
    return {"eligibility_outbox(id,key,published)": outbox, "referral_inbox_handled": handled,
            "referral_dead_letters": parked, "referral_consumer": await consumers.diagnostics()}


async def test_five_broker_kills_lose_and_double_nothing_and_closures_are_followed_up_once(supervised, auth) -> None:
    from eligibility_svc.db.models import DecisionRecord
    from finance_svc.db.models import ProjectionVersion
    from outcomes_svc.db.models import Followup

    platform, supervisor = supervised
    sw = auth("social_worker")
    families = await _families(platform, sw, 25)
    restarts = supervisor.restarts
    referral_ids: list[str] = []
    for kill in range(5):
        _kill_broker(supervisor)
        batch = families[kill * 5:(kill + 1) * 5]
        referral_ids += await _post_referrals(platform, sw, batch, lambda _i: None)
        await eventually(lambda kill=kill: supervisor.restarts == restarts + kill + 1, timeout=30)
    await _all_once(platform, "eligibility", DecisionRecord.referral_id, [uuid.UUID(r) for r in referral_ids])
    await _all_once(platform, "finance", ProjectionVersion.child_id, [uuid.UUID(c) for _f, c in families])

    # Close an intervention for five of them, with a broker kill between each closure.
    closed_children = []
    for i, (referral_id, (_family, child_id)) in enumerate(zip(referral_ids[:5], families[:5], strict=True)):

        async def decided(referral_id: str = referral_id) -> bool:
            got = (await platform.request("GET", f"/referrals/{referral_id}", headers=sw)).json()
            return bool(got["eligibility"])

        await eventually(decided, timeout=60, interval=0.2)
        r = await platform.request("POST", f"/referrals/{referral_id}/consent", json={"signed_on": "2024-05-03"},
                                   headers=sw)
        assert r.status_code == 200, r.text
        r = await platform.request("POST", f"/referrals/{referral_id}/interventions", headers=sw,
                                   json={"programme": "MST", "started_on": "2024-05-10", "practitioner": f"pr-{i}"})
        assert r.status_code == 201, r.text
        r = await platform.request("POST", f"/referrals/interventions/{r.json()['id']}/close", headers=sw, json={
            "closed_on": "2024-10-31", "reason": "completed",
            "child_outcomes": [{"child_id": child_id, "living_situation": "at_home"}]})
        assert r.status_code == 200, r.text
        closed_children.append(uuid.UUID(child_id))
        if i % 2 == 0:
            restarted = supervisor.restarts
            _kill_broker(supervisor)
            await eventually(lambda restarted=restarted: supervisor.restarts == restarted + 1, timeout=30)

    async def followed_up() -> dict[uuid.UUID, int] | None:
        counts = await _counts(platform, "outcomes", Followup.child_id, closed_children)
        return counts if len(counts) == len(closed_children) and all(n >= 7 for n in counts.values()) else None

    counts = await eventually(followed_up, timeout=120, interval=0.5)
    assert set(counts.values()) == {7}, "one follow-up set (6 to 60 months) per closure, never two"


async def test_readiness_is_503_while_the_broker_is_away(supervised) -> None:
    platform, supervisor = supervised
    supervisor.stop()
    restarts = supervisor.restarts
    try:
        _kill_broker(supervisor)
        assert supervisor.broker.process is not None
        supervisor.broker.process.wait(10)
        for name, client in platform.clients.items():
            prefix = "referrals" if name == "referral" else name
            r = await client.get(f"/{prefix}/readyz")
            assert r.status_code == 503 and r.json()["checks"]["broker"] == "unreachable", (name, r.text)
        assert supervisor.restarts == restarts
    finally:
        supervisor.start()  # finds the broker gone and starts it again
    for name, client in platform.clients.items():
        prefix = "referrals" if name == "referral" else name

        async def ready(client=client, prefix=prefix) -> bool:
            return (await client.get(f"/{prefix}/readyz")).status_code == 200

        await eventually(ready, timeout=30, interval=0.2)
    # The supervisor counts a restart once the broker listens, which readyz may see first.
    await eventually(lambda: supervisor.restarts == restarts + 1, timeout=10)


async def test_a_relay_pass_prunes_published_rows_older_than_the_retention_window(databases) -> None:
    """On a database of its own, with a relay that is not running, so nothing publishes under the test."""
    from eoc_shared.db import Database
    from eoc_shared.events.bus import OutboxRelay
    from eoc_shared.migrations import upgrade_to_head
    from referral_svc.app import MIGRATIONS
    from referral_svc.db.models import Outbox

    db = Database(await databases.create("prune"))
    try:
        await upgrade_to_head(db.engine, MIGRATIONS)
        relay = OutboxRelay("referral", db, Outbox, "127.0.0.1:1", 1.0, retention=timedelta(days=7))
        old = utcnow() - timedelta(days=7, hours=1)
        recent = utcnow() - timedelta(days=6, hours=23)
        rows = {
            "old_published": dict(created_at=old, published_at=old),
            "old_unpublished": dict(created_at=old, published_at=None),
            "recent_published": dict(created_at=recent, published_at=recent),
        }
        ids = {name: uuid.uuid4() for name in rows}
        async with db.sessions() as session:
            for name, times in rows.items():
                await session.execute(insert(Outbox).values(
                    id=ids[name], topic="referral.created", key="k", payload={}, attempts=0, **times))
            await session.commit()
        assert await relay.prune() == 1
        async with db.sessions() as session:
            left = set((await session.execute(select(Outbox.id))).scalars())
        assert left == {ids["old_unpublished"], ids["recent_published"]}, "never an unpublished row"
    finally:
        await db.dispose()


async def test_every_broker_instance_has_the_catalogue_topics_with_their_partitions() -> None:
    """A restarted broker is empty: it must not get the one-partition topics a reconnecting client would make,
    or a producer still holding the old partitions writes where no reader looks."""
    from aiokafka.admin import AIOKafkaAdminClient

    from eoc_shared.events.schemas import CATALOGUE

    broker = EmbeddedBroker(partitions=3)
    broker.start()
    supervisor = BrokerSupervisor(broker)
    supervisor.start()
    try:
        first = broker.cluster_id
        _kill_broker(supervisor)
        await eventually(lambda: supervisor.restarts == 1, timeout=30)
        assert broker.cluster_id != first
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        try:
            described = await admin.describe_topics([t for s in CATALOGUE.values() for t in (s.topic, s.dlq)])
        finally:
            await admin.close()
        counts = {t["topic"]: len(t["partitions"]) for t in described}
        assert {counts[spec.topic] for spec in CATALOGUE.values()} == {3}
        assert {counts[spec.dlq] for spec in CATALOGUE.values()} == {1}
    finally:
        supervisor.stop()
        broker.stop()
