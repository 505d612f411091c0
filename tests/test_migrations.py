"""Each service's migrations build exactly the schema its models describe, on PostgreSQL and on SQLite.

A column or index added to a model without a migration (or the other way round) would work in a test
that creates tables from the models and fail on a real database upgraded by Alembic; this catches it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from eoc_platform import registry
from eoc_shared.db import make_engine
from eoc_shared.migrations import upgrade_to_head

SERVICES = {s.name: (s.migrations_dir, s.metadata) for s in registry.SERVICES}


async def _drift(url: str, migrations: Path, metadata: MetaData) -> list[object]:
    engine = make_engine(url)
    try:
        await upgrade_to_head(engine, migrations)
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", list(SERVICES))
async def test_migrations_match_the_models_on_postgresql(service: str, databases) -> None:
    migrations, metadata = SERVICES[service]
    url = await databases.create(f"migrations_{service}")
    assert await _drift(url, migrations, metadata) == []


@pytest.mark.parametrize("service", list(SERVICES))
async def test_migrations_match_the_models_on_sqlite(service: str, tmp_path: Path) -> None:
    migrations, metadata = SERVICES[service]
    assert await _drift(f"sqlite+aiosqlite:///{tmp_path / service}.db", migrations, metadata) == []


APPEND_ONLY = {"referral": "audit_log", "eligibility": "access_log", "outcomes": "access_log", "finance": "access_log"}


@pytest.mark.parametrize("service", list(APPEND_ONLY))
async def test_access_logs_refuse_update_and_delete_in_the_database(service: str, databases, tmp_path: Path) -> None:
    """The triggers exist on both engines (referral-svc's tests show what they do to a real row)."""
    from sqlalchemy import text

    migrations, _metadata = SERVICES[service]
    table = APPEND_ONLY[service]
    queries = {
        await databases.create(f"append_only_{service}"):
            f"SELECT tgname FROM pg_trigger WHERE tgrelid = '{table}'::regclass AND NOT tgisinternal",
        f"sqlite+aiosqlite:///{tmp_path / service}.db":
            f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = '{table}'",
    }
    for url, query in queries.items():
        engine = make_engine(url)
        try:
            await upgrade_to_head(engine, migrations)
            async with engine.connect() as conn:
                names = set((await conn.execute(text(query))).scalars())
        finally:
            await engine.dispose()
        expected = {f"{table}_append_only"} if url.startswith("postgresql") else {f"{table}_no_update", f"{table}_no_delete"}
        assert names == expected, (url, names)


async def test_replicas_migrating_a_new_database_at_once_both_start(databases) -> None:
    """Two processes of one service (replicas, pods) migrate a new PostgreSQL database at the same moment:
    one migrates, the other waits for it and finds the database at head; neither fails."""
    import asyncio
    import sys

    url = await databases.create("migrations_race")
    eoc = str(Path(sys.executable).parent / "eoc")
    procs = [await asyncio.create_subprocess_exec(eoc, "migrate", "eligibility", "--database-url", url,
                                                  stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
             for _ in range(3)]
    results = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err.decode()[-500:] for _out, err in results]
    assert len({out for out, _err in results}) == 1  # all at the same revision


@pytest.mark.parametrize("service", list(SERVICES))
async def test_the_outbox_indexes_are_the_cheap_ones(service: str, databases, tmp_path: Path) -> None:
    """Migrated, the outbox has no unique index of its random ids, a BRIN index of created_at on PostgreSQL (a
    B-tree on SQLite), and its index of unpublished rows is still partial (SQLite rebuilds the table to drop a
    constraint): what keeps writing an event and marking it sent cheap. compare_metadata sees neither an
    index's method nor its WHERE."""
    from sqlalchemy import text

    migrations, _metadata = SERVICES[service]
    queries = {
        await databases.create(f"outbox_indexes_{service}"):
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'outbox'",
        f"sqlite+aiosqlite:///{tmp_path / service}.db":
            "SELECT name, coalesce(sql, 'UNIQUE (autoindex)') FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox'",
    }
    for url, query in queries.items():
        engine = make_engine(url)
        try:
            await upgrade_to_head(engine, migrations)
            async with engine.connect() as conn:
                indexes = {name: sql for name, sql in await conn.execute(text(query))}
        finally:
            await engine.dispose()
        assert not [name for name, sql in indexes.items() if "UNIQUE" in sql and name != "pk_outbox"], (url, indexes)
        assert "published_at IS NULL" in indexes["ix_outbox_unpublished"], (url, indexes)
        assert ("USING brin" in indexes["ix_outbox_created_at"]) == url.startswith("postgresql"), (url, indexes)
