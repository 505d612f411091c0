"""`eoc migrate <service>`: one service's Alembic migrations to head, as a one-shot (compose, Kubernetes Job).

A service also migrates at start (see eoc_shared.service); running this first lets an upgrade fail
before any new replica is rolled out, and keeps slow migrations out of the readiness window.
Inside a service image the runner is not installed; there the same is `alembic upgrade head` run
in the service's directory (its alembic.ini), which reads the same settings.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from eoc_platform.registry import BY_NAME
from eoc_shared.db import make_engine
from eoc_shared.migrations import upgrade_to_head


def migrate(service: str, database_url: str | None = None) -> str:
    """Upgrade the service's database to head; answers the revision it is at afterwards."""
    entry = BY_NAME[service]
    if database_url is None:
        database_url = entry.settings().resolved_database_url
    elif database_url.startswith("postgresql://"):
        database_url = database_url.replace("postgresql://", "postgresql+asyncpg://", 1)

    async def _run() -> str:
        engine = make_engine(database_url)
        try:
            await upgrade_to_head(engine, entry.migrations_dir)
            async with engine.connect() as conn:
                return str((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar())
        finally:
            await engine.dispose()

    return asyncio.run(_run())
