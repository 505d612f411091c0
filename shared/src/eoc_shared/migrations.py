"""Alembic, driven from the service itself so that every start migrates before serving."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config(migrations_dir: Path, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


# Alembic's `context` is process-global: services migrating in one process (all-in-one) take turns.
_MIGRATING = asyncio.Lock()


async def upgrade_to_head(engine: AsyncEngine, migrations_dir: Path) -> None:
    async with _MIGRATING:
        await _upgrade_to_head(engine, migrations_dir)


async def _upgrade_to_head(engine: AsyncEngine, migrations_dir: Path) -> None:
    def _upgrade(connection: Connection) -> None:
        cfg = alembic_config(migrations_dir)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


def run_env(target_metadata: MetaData, default_url: Any) -> None:
    """Body of every service's migrations/env.py: use the caller's connection, else the configured URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection, target_metadata)
        return
    from eoc_shared.db import make_engine

    url = context.config.get_main_option("sqlalchemy.url") or default_url()

    async def _online() -> None:
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(_run, target_metadata)
        await engine.dispose()

    asyncio.run(_online())


def _run(connection: Connection, target_metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
