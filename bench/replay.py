"""The cost of a replay after broker loss: a relay republishing a 7-day window of N events (default
100,000) to a new, empty broker, and a consumer that has handled them all skipping every one.

referral-svc's outbox (SQLite file, as in all-in-one mode) holds N published `referral.created` rows
from the last 7 days; eligibility's inbox (SQLite) already holds their ids. Then, against a fresh
embedded broker: seconds until the relay has republished the window, and seconds until the consumer has
read past all of them (each recognised by the inbox, nothing handled twice).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from eligibility_svc.app import MIGRATIONS as ELIGIBILITY_MIGRATIONS
from eligibility_svc.db.models import Inbox
from eligibility_svc.db.models import Outbox as EligibilityOutbox
from eoc_shared.broker import EmbeddedBroker
from eoc_shared.db import Database, UnitOfWork, utcnow
from eoc_shared.events.bus import Consumers, OutboxRelay
from eoc_shared.events.envelope import build_envelope
from eoc_shared.events.instance import BrokerWatch
from eoc_shared.events.schemas import ChildFacts, ReferralCreated
from eoc_shared.metrics import EVENTS_CONSUMED
from eoc_shared.migrations import upgrade_to_head
from referral_svc.app import MIGRATIONS as REFERRAL_MIGRATIONS
from referral_svc.db.models import Outbox


async def fill(referral_db: Database, eligibility_db: Database, n: int) -> None:
    now = utcnow()
    rows, seen = [], []
    for i in range(n):
        data = ReferralCreated(
            referral_id=uuid.uuid4(), family_id=uuid.uuid4(), referred_on=date(2026, 11, 25),
            source="social_worker", risk_factors=["neglect"], threshold_for_removal_met=True,
            children=[ChildFacts(child_id=uuid.uuid4(), age_years=9, legal_status="CPP")])
        env = build_envelope("referral.created", key=str(data.referral_id), data=data, source="urn:eoc:bench")
        # Spread over the window, an hour inside its edge: rows past it would be pruned, not replayed.
        created = now - (timedelta(days=7) - timedelta(hours=1)) * (n - i) / (n + 1)
        rows.append({"id": uuid.UUID(env["id"]), "topic": "referral.created", "key": str(data.referral_id),
                     "payload": {k: v for k, v in env.items() if not k.startswith("_")}, "created_at": created,
                     "published_at": created, "attempts": 0})
        seen.append({"consumer": "eligibility.referral.created", "event_id": uuid.UUID(env["id"]),
                     "topic": "referral.created", "handled_at": created})
    for db, model, values in ((referral_db, Outbox, rows), (eligibility_db, Inbox, seen)):
        async with db.sessions() as session:
            for start in range(0, n, 5000):
                await session.execute(insert(model), values[start:start + 5000])
            await session.commit()


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="eoc-bench-replay-") as tmp:
        referral_db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'referral.sqlite3'}")
        eligibility_db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'eligibility.sqlite3'}")
        await upgrade_to_head(referral_db.engine, REFERRAL_MIGRATIONS)
        await upgrade_to_head(eligibility_db.engine, ELIGIBILITY_MIGRATIONS)
        await fill(referral_db, eligibility_db, n)
        broker = EmbeddedBroker()
        broker.start()
        try:
            watch = BrokerWatch("referral", broker.bootstrap, 1.0)
            watch.start()
            relay = OutboxRelay("referral", referral_db, Outbox, broker.bootstrap, 0.5, watch=watch)
            started = time.monotonic()
            relay.start()
            await asyncio.sleep(1)
            while await relay.backlog() or relay.instance is None:
                await asyncio.sleep(0.2)
            republished = time.monotonic() - started
            async with referral_db.sessions() as session:
                republished_rows = (await session.execute(select(func.count()).select_from(Outbox))).scalar_one()
            assert republished_rows == n, f"{n - republished_rows} rows were pruned instead of replayed"

            async def never(*_args: object) -> None:
                raise AssertionError("a repeat was handled again")

            consumers = Consumers("eligibility", broker.bootstrap,
                                  lambda: UnitOfWork(eligibility_db, EligibilityOutbox, "urn:eoc:bench"), Inbox,
                                  group_suffix=f".bench-{uuid.uuid4().hex[:6]}")
            consumers.subscribe("referral.created", never)
            skipped = EVENTS_CONSUMED.labels("eligibility", "referral.created", "duplicate")
            before = skipped._value.get()
            started = time.monotonic()
            consumers.start()
            while skipped._value.get() - before < republished_rows:
                await asyncio.sleep(0.2)
            skipping = time.monotonic() - started
            await consumers.stop()
            await relay.stop()
            await watch.stop()
        finally:
            broker.stop()
            await referral_db.dispose()
            await eligibility_db.dispose()
    print(f"replay of a 7-day window of {n:,} events (SQLite): relay republished in {republished:.1f} s "
          f"({n / republished:,.0f}/s); a consumer skipped them all (inbox) in {skipping:.1f} s "
          f"({n / skipping:,.0f}/s), joining included")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().events))
