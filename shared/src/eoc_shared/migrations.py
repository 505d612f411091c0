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


def make_append_only(table: str, function: str | None = None) -> None:
    """In a migration: the table refuses UPDATE and DELETE in the database itself, whatever the code does
    (a PostgreSQL trigger function, or SQLite triggers that abort). For audit and access logs."""
    from alembic import op

    function = function or f"{table}_refuse_change"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{table} is append-only: % refused', TG_OP; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )


def drop_append_only(table: str, function: str | None = None) -> None:
    """The downgrade of `make_append_only` (SQLite's triggers go with their table)."""
    from alembic import op

    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {function or f'{table}_refuse_change'}()")


def create_dead_letters() -> None:
    """The `dead_letters` table every service's consumers park into (DeadLetterMixin), written once."""
    import sqlalchemy as sa
    from alembic import op

    from eoc_shared.db import UTCDateTime

    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("first_parked_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("parked_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("replayed_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_index("ix_dead_letters_topic_consumer_status", "dead_letters", ["topic", "consumer", "status"], unique=False)


def drop_dead_letters() -> None:
    from alembic import op

    op.drop_index("ix_dead_letters_topic_consumer_status", table_name="dead_letters")
    op.drop_table("dead_letters")


def create_bus_state() -> None:
    """The relay's `bus_state` (the broker instance it last replayed to) and the outbox index pruning reads."""
    import sqlalchemy as sa
    from alembic import op

    from eoc_shared.db import UTCDateTime

    op.create_table(
        "bus_state",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_bus_state")),
    )
    op.create_index(op.f("ix_outbox_created_at"), "outbox", ["created_at"], unique=False)


def drop_bus_state() -> None:
    from alembic import op

    op.drop_index(op.f("ix_outbox_created_at"), table_name="outbox")
    op.drop_table("bus_state")


def create_outbox_unpublished_index() -> None:
    """The outbox's partial index the relay reads its rounds by (OutboxMixin), in place of the index of
    every row's `published_at`; written once."""
    import sqlalchemy as sa
    from alembic import op

    from eoc_shared.events.store import UNPUBLISHED_INDEX

    op.drop_index("ix_outbox_published_at", table_name="outbox")
    op.create_index(UNPUBLISHED_INDEX, "outbox", ["seq"], unique=False,
                    postgresql_where=sa.text("published_at IS NULL"), sqlite_where=sa.text("published_at IS NULL"))


def drop_outbox_unpublished_index() -> None:
    from alembic import op

    from eoc_shared.events.store import UNPUBLISHED_INDEX

    op.drop_index(UNPUBLISHED_INDEX, table_name="outbox")
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"], unique=False)
