"""Benchmark: one outcomes-svc scheduler tick on PostgreSQL — 10,000 follow-ups due among 500k and 5M scheduled.

Run: .venv/bin/python bench/outcomes_scheduler.py [--rows 5000000] [--due 10000] [--repeat 3]
Creates its own database on the test server (EOC_TEST_DATABASE_URL or postgres@127.0.0.1:5432), migrates it
with the service's own migrations, bulk-loads with generate_series, times the service's own scheduler code
(claim, mark, write 10,000 `followup.due` events to the outbox, commit) and drops the database afterwards.
Goal: a tick ≤ 1 s at 5M rows, and about the same time at 500k (the work follows the rows due, not the table).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from datetime import date

import asyncpg

from eoc_shared.db import Database, UnitOfWork
from eoc_shared.events.envelope import source_of
from eoc_shared.migrations import upgrade_to_head
from outcomes_svc import scheduling
from outcomes_svc.app import MIGRATIONS
from outcomes_svc.db.models import Outbox

AS_OF = date(2026, 6, 30)
SERVER = os.environ.get("EOC_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres").replace(
    "postgresql+asyncpg://", "postgresql://")


def url_of(database: str, driver: str = "postgresql") -> str:
    return f"{SERVER.rsplit('/', 1)[0].replace('postgresql://', driver + '://', 1)}/{database}"


async def load(conn: asyncpg.Connection, start: int, stop: int, due: int) -> None:
    """Follow-ups numbered start..stop-1 (7 per closure); the first `due` of the whole table fall due by AS_OF
    (within the last 20 days), every other one later (up to five years on)."""
    closures_from, closures_to = start // 7, (stop + 6) // 7
    await conn.execute(f"""
        INSERT INTO closures (id, intervention_id, referral_id, family_id, child_id, programme, started_on,
                              closed_on, financial_year, reason, living_situation, created_at)
        SELECT md5('c' || n)::uuid, md5('i' || n)::uuid, md5('r' || n)::uuid, md5('f' || n)::uuid,
               md5('k' || n)::uuid, (ARRAY['MST','MST_BSF','FFT_CW','FFT_REUNIFICATION','FGC','OTHER_PREVENTION'])[1 + n % 6],
               DATE '2025-06-01', DATE '2025-12-31', 2025, 'completed', 'at_home', now()
        FROM generate_series({closures_from}, {closures_to - 1}) AS n
        ON CONFLICT DO NOTHING""")
    await conn.execute(f"""
        INSERT INTO followups (id, closure_id, child_id, intervention_id, checkpoint_months, due_on, status, updated_at)
        SELECT md5('u' || n)::uuid, md5('c' || (n / 7))::uuid, md5('k' || (n / 7))::uuid, md5('i' || (n / 7))::uuid,
               (ARRAY[6, 12, 18, 24, 36, 48, 60])[1 + n % 7],
               CASE WHEN n < {due} THEN DATE '{AS_OF.isoformat()}' - (n % 20)
                    ELSE DATE '{AS_OF.isoformat()}' + 1 + (n % 1800) END,
               'scheduled', now()
        FROM generate_series({start}, {stop - 1}) AS n""")


async def reset(conn: asyncpg.Connection) -> None:
    await conn.execute(f"""UPDATE followups SET status = 'scheduled', due_published_at = NULL, due_as_of = NULL,
                           overdue_as_of = NULL WHERE status <> 'scheduled' OR due_on <= DATE '{AS_OF.isoformat()}'""")
    await conn.execute("TRUNCATE outbox")
    await conn.execute("VACUUM ANALYZE followups")
    await conn.execute("VACUUM ANALYZE outbox")


async def tick(db: Database, batch: int) -> tuple[float, int]:
    def uow() -> UnitOfWork:
        return UnitOfWork(db, Outbox, source_of("outcomes"))

    started = time.perf_counter()
    result = await scheduling.run(uow, AS_OF, batch)
    return time.perf_counter() - started, result.due


async def measure(conn: asyncpg.Connection, db: Database, repeat: int, batch: int, label: str) -> float:
    times = []
    for _ in range(repeat):
        await reset(conn)
        seconds, due = await tick(db, batch)
        times.append(seconds)
        events = await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = 'followup.due'")
        assert due == events, (due, events)
    empty, nothing = await tick(db, batch)  # everything already due: a tick with nothing to do
    rows = await conn.fetchval("SELECT count(*) FROM followups")
    median = statistics.median(times)
    print(f"{label:>5} rows={rows:>9,}  due={due:>6,}  tick median {median * 1000:7.1f} ms "
          f"(runs: {', '.join(f'{t * 1000:.0f}' for t in times)} ms)  empty tick {empty * 1000:.1f} ms")
    return median


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--small", type=int, default=500_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=5000, help="follow-ups claimed per transaction (service default)")
    args = parser.parse_args()

    name = f"eoc_bench_outcomes_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(SERVER)
    await admin.execute(f'CREATE DATABASE "{name}"')
    db = Database(url_of(name, "postgresql+asyncpg"))
    conn = None
    try:
        await upgrade_to_head(db.engine, MIGRATIONS)
        conn = await asyncpg.connect(url_of(name))
        started = time.perf_counter()
        await load(conn, 0, args.small, args.due)
        await conn.execute("VACUUM ANALYZE")
        print(f"loaded {args.small:,} follow-ups in {time.perf_counter() - started:.1f} s")
        small = await measure(conn, db, args.repeat, args.batch, "small")

        started = time.perf_counter()
        # the indexes are rebuilt after the bulk load rather than maintained row by row
        indexes = await conn.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'followups' "
                                   "AND indexname <> 'pk_followups' AND indexname NOT LIKE 'uq_%'")
        for row in indexes:
            await conn.execute(f'DROP INDEX "{row["indexname"]}"')
        step = 1_000_000
        for start in range(args.small, args.rows, step):
            await load(conn, start, min(start + step, args.rows), args.due)
        for row in indexes:
            await conn.execute(row["indexdef"])
        await conn.execute("VACUUM ANALYZE")
        print(f"loaded up to {args.rows:,} follow-ups in {time.perf_counter() - started:.1f} s")
        large = await measure(conn, db, args.repeat, args.batch, "large")

        await reset(conn)
        plan = await conn.fetch(f"""EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM followups
                                    WHERE status = 'scheduled' AND due_on <= DATE '{AS_OF.isoformat()}'
                                    ORDER BY due_on, id LIMIT {args.batch} FOR UPDATE SKIP LOCKED""")
        print("claim plan at the large size:")
        for line in plan:
            print("   ", line[0])
        goal = "met" if large <= 1.0 else "NOT met"
        print(f"goal ≤ 1 s at {args.rows:,} rows: {goal}; {args.small:,} → {args.rows:,} rows "
              f"({args.rows / args.small:.0f}× the table): tick {small * 1000:.0f} → {large * 1000:.0f} ms "
              f"({large / small:.2f}×)")
    finally:
        if conn is not None:
            await conn.close()
        await db.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
