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

from eligibility_svc.app import MIGRATIONS as ELIGIBILITY
from eligibility_svc.db.models import Base as EligibilityBase
from eoc_shared.db import make_engine
from eoc_shared.migrations import upgrade_to_head
from finance_svc.app import MIGRATIONS as FINANCE
from finance_svc.db.models import Base as FinanceBase
from outcomes_svc.app import MIGRATIONS as OUTCOMES
from outcomes_svc.db.models import Base as OutcomesBase
from referral_svc.app import MIGRATIONS as REFERRAL
from referral_svc.db.models import Base as ReferralBase

SERVICES = {
    "referral": (REFERRAL, ReferralBase.metadata),
    "eligibility": (ELIGIBILITY, EligibilityBase.metadata),
    "outcomes": (OUTCOMES, OutcomesBase.metadata),
    "finance": (FINANCE, FinanceBase.metadata),
}


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
