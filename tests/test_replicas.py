"""Replicas of one service (as `eoc up --distributed --replicas eligibility=2` runs them): one database, one
consumer group. They split the partitions, handle each event once, and their relays never publish one
outbox row twice (PostgreSQL: FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select

from eligibility_svc.app import create_app as create_eligibility
from eligibility_svc.db.models import DecisionRecord
from eligibility_svc.settings import EligibilitySettings
from eoc_shared.broker import EmbeddedBroker
from eoc_shared.db import Database, UnitOfWork
from eoc_shared.events.bus import OutboxRelay
from eoc_shared.events.envelope import build_envelope
from eoc_shared.events.schemas import ChildFacts, PartnerEventReceived, ReferralCreated
from eoc_shared.migrations import upgrade_to_head
from eoc_shared.testing.fixtures import event_probe, eventually, produce_raw, running, service_settings
from referral_svc.app import MIGRATIONS as REFERRAL_MIGRATIONS
from referral_svc.db.models import Outbox


def _assignment(app: Any, topic: str) -> set[int]:
    subs = [s for s in app.state.runtime.consumers.broker.subscribers if getattr(s, "consumer", None) is not None]
    return {tp.partition for s in subs for tp in s.consumer.assignment() if tp.topic == topic}


async def test_two_replicas_split_the_partitions_and_handle_each_event_once(databases, data_dir, tmp_path) -> None:
    """On a broker of their own, whose start made the topics as `eoc up --distributed` has them (4 partitions)."""
    url = await databases.create("eligibility_replicas")
    with EmbeddedBroker(log_file=tmp_path / "broker.log", partitions=4) as broker:
        await _replicas_share(url, broker, data_dir)


async def _replicas_share(url: str, broker: EmbeddedBroker, data_dir: Any) -> None:
    group = f".replicas-{uuid.uuid4().hex[:8]}"  # both replicas: the same group, as in one deployment
    apps = [create_eligibility(service_settings(EligibilitySettings, database_url=url, broker=broker,
                                                data_dir=data_dir, consumer_group_suffix=group)) for _ in range(2)]
    async with AsyncExitStack() as stack:
        for app in apps:  # one after the other: both migrate the same database at start
            await stack.enter_async_context(running(app))

        async def split() -> bool:
            a, b = (_assignment(app, "referral.created") for app in apps)
            return bool(a) and bool(b) and not a & b and a | b == {0, 1, 2, 3}

        await eventually(split, timeout=90, interval=0.2)
        a, b = (_assignment(app, "referral.created") for app in apps)
        referral_ids = [uuid.uuid4() for _ in range(40)]
        for rid in referral_ids:
            data = ReferralCreated(
                referral_id=rid, family_id=uuid.uuid4(), referred_on=date(2024, 5, 1), source="legal_planning_meeting",
                risk_factors=["behaviour"], threshold_for_removal_met=True,
                children=[ChildFacts(child_id=uuid.uuid4(), age_years=13, legal_status="CPP")])
            env = build_envelope("referral.created", key=str(rid), data=data, source="urn:eoc:referral")
            await produce_raw(broker.bootstrap, "referral.created",
                              json.dumps({k: v for k, v in env.items() if not k.startswith("_")}).encode(),
                              key=str(rid).encode())

        db = apps[0].state.runtime.db

        async def decisions() -> int:
            async with db.sessions() as s:
                return int((await s.execute(select(func.count()).select_from(DecisionRecord).where(
                    DecisionRecord.referral_id.in_(referral_ids)))).scalar_one())

        await eventually(lambda: _at_least(decisions, 40), timeout=90, interval=0.2)
        # Still split the same way (no replica took over the other's partitions), and one decision each.
        assert (_assignment(apps[0], "referral.created"), _assignment(apps[1], "referral.created")) == (a, b)
        assert await decisions() == 40
        async with db.sessions() as s:
            per_referral = (await s.execute(select(DecisionRecord.referral_id, func.count()).where(
                DecisionRecord.referral_id.in_(referral_ids)).group_by(DecisionRecord.referral_id))).all()
        assert {n for _rid, n in per_referral} == {1}


async def _at_least(count: Any, n: int) -> bool:
    return await count() >= n


async def test_two_relays_never_publish_one_outbox_row_twice(databases, broker) -> None:
    url = await databases.create("referral_relays")
    db = Database(url)
    await upgrade_to_head(db.engine, REFERRAL_MIGRATIONS)
    relays = [OutboxRelay(f"referral-replica-{i}", db, Outbox, broker.bootstrap, 0.2) for i in range(2)]
    child_id = uuid.uuid4()  # one key: its events must also stay in order
    try:
        async with UnitOfWork(db, Outbox, "urn:eoc:referral") as uow:
            await uow.publish_many("partner.event.received", [(child_id, PartnerEventReceived(
                partner_event_id=uuid.uuid4(), child_id=child_id, source="police", kind="arrest",
                occurred_at=datetime(2024, 6, 1, tzinfo=UTC))) for _ in range(600)])
            await uow.commit()
        async with db.sessions() as s:
            ids = [str(i) for i in (await s.execute(select(Outbox.id).order_by(Outbox.seq))).scalars()]

        async with event_probe(broker.bootstrap, ["partner.event.received"]) as probe:
            async def backlog() -> int:
                async with db.sessions() as s:
                    return int((await s.execute(select(func.count()).select_from(Outbox).where(
                        Outbox.published_at.is_(None)))).scalar_one())

            async def drain(relay: OutboxRelay) -> int:
                total = 0
                while await backlog():
                    total += await relay.publish_pending(limit=20)
                return total

            sent = await asyncio.gather(*(drain(r) for r in relays))
            assert sum(sent) == 600, f"each row sent by one relay only: {sent}"

            wanted = set(ids)
            got = await probe.wait_for("partner.event.received", lambda m: isinstance(m, dict) and m.get("id") in wanted,
                                       count=600, timeout=60)
            assert [m["id"] for m in got] == ids, "each row published once, in the order written (one key)"
        async with db.sessions() as s:
            assert (await s.execute(select(func.count()).select_from(Outbox).where(
                Outbox.published_at.is_(None)))).scalar_one() == 0
    finally:
        for relay in relays:
            await relay.stop(drain_seconds=0)
        await db.dispose()
