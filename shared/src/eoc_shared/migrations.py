"""Alembic, driven from the service itself so that every start migrates before serving.

Alembic (with Mako and, in a development venv, Pygments) costs about a second of import at every start,
so it is imported only when a database is behind: a start first compares the revisions stored in
`alembic_version` with the heads of the script directory, read from the revision files' own
`revision`/`down_revision` lines, and goes no further when they match.
"""

from __future__ import annotations

import ast
import asyncio
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(migrations_dir: Path, url: str | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


# Alembic's `context` is process-global: services migrating in one process (all-in-one) take turns.
_MIGRATING = asyncio.Lock()
# A transaction-scoped PostgreSQL advisory lock held while migrating ("eocmigr" as a number).
_MIGRATION_LOCK_KEY = 0x656F636D696772


async def upgrade_to_head(engine: AsyncEngine, migrations_dir: Path) -> None:
    if await at_head(engine, migrations_dir):
        return
    async with _MIGRATING:
        await _upgrade_to_head(engine, migrations_dir)


def script_heads(migrations_dir: Path) -> frozenset[str] | None:
    """The head revisions of `migrations_dir/versions`, from each file's literal `revision` and
    `down_revision` (None when a file does not state them plainly: then Alembic is asked)."""
    versions = migrations_dir / "versions"
    try:
        return _script_heads(versions, versions.stat().st_mtime_ns)  # a file added or removed: read again
    except OSError:
        return None


@functools.cache
def _script_heads(versions: Path, _mtime_ns: int) -> frozenset[str] | None:
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        found: dict[str, Any] = {}
        try:
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                targets: list[ast.expr]
                if isinstance(node, ast.AnnAssign) and node.value is not None:
                    targets, value = [node.target], node.value
                elif isinstance(node, ast.Assign):
                    targets, value = node.targets, node.value
                else:
                    continue
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                        found[target.id] = ast.literal_eval(value)
        except (SyntaxError, ValueError, OSError):
            return None
        revision, down = found.get("revision"), found.get("down_revision")
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        parents.update([down] if isinstance(down, str) else (down or ()))
    return frozenset(revisions - parents) or None


async def at_head(engine: AsyncEngine, migrations_dir: Path) -> bool:
    """True when the database's stored revisions are the script directory's heads: nothing to migrate.
    Any doubt (no `alembic_version` yet, an unreadable script) answers False, and Alembic decides."""
    heads = script_heads(migrations_dir)
    if heads is None:
        return False
    try:
        async with engine.connect() as conn:
            stored = frozenset((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
    except Exception:  # noqa: BLE001 - no table yet, or the database away: the full path says which
        return False
    return stored == heads


async def _upgrade_to_head(engine: AsyncEngine, migrations_dir: Path) -> None:
    def _upgrade(connection: Connection) -> None:
        from alembic import command

        cfg = alembic_config(migrations_dir)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Replicas (or pods) of one service starting on a new database at once: one migrates, the others
            # wait for its commit and find the database at head (else both CREATE TABLE and one fails).
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        await conn.run_sync(_upgrade)


def run_env(target_metadata: MetaData, default_url: Any) -> None:
    """Body of every service's migrations/env.py: use the caller's connection, else the configured URL."""
    from alembic import context

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
    from alembic import context

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


def lighten_outbox_indexes() -> None:
    """The outbox without a unique index of its (random) ids, and on PostgreSQL with a BRIN index of created_at
    in place of a B-tree (OutboxMixin): the two indexes that cost most per row written and per row marked sent."""
    import sqlalchemy as sa
    from alembic import op

    from eoc_shared.events.store import CREATED_INDEX, UNPUBLISHED_INDEX

    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # the table is rebuilt there: its partial index is made again as it was, not as reflected
        op.drop_index(UNPUBLISHED_INDEX, table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("uq_outbox_id", type_="unique")
    if sqlite:
        op.create_index(UNPUBLISHED_INDEX, "outbox", ["seq"], unique=False, sqlite_where=sa.text("published_at IS NULL"))
    else:
        op.drop_index(CREATED_INDEX, table_name="outbox")
        op.create_index(CREATED_INDEX, "outbox", ["created_at"], unique=False, postgresql_using="brin")


def restore_outbox_indexes() -> None:
    import sqlalchemy as sa
    from alembic import op

    from eoc_shared.events.store import CREATED_INDEX, UNPUBLISHED_INDEX

    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.drop_index(UNPUBLISHED_INDEX, table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.create_unique_constraint("uq_outbox_id", ["id"])
    if sqlite:
        op.create_index(UNPUBLISHED_INDEX, "outbox", ["seq"], unique=False, sqlite_where=sa.text("published_at IS NULL"))
    else:
        op.drop_index(CREATED_INDEX, table_name="outbox")
        op.create_index(CREATED_INDEX, "outbox", ["created_at"], unique=False)
