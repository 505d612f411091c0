"""Transaction-scoped advisory locks, written once: the services serialise work on one record with them.

PostgreSQL only; SQLite runs one writing transaction at a time, so there the helpers do nothing and each
service takes SQLite's write lock its own way where it needs to read current rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


def is_postgres(session: AsyncSession) -> bool:
    bind = session.get_bind()
    return bind.dialect.name == "postgresql"


def key_of(record_id: uuid.UUID) -> int:
    """The 64-bit lock key of a record id: its first eight bytes."""
    return int.from_bytes(record_id.bytes[:8], "big", signed=True)


async def advisory_lock(session: AsyncSession, key: int, *, shared: bool = False) -> None:
    """Hold `key` until this transaction ends (shared: with other shared holders, against exclusive ones)."""
    if not is_postgres(session):
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    await session.execute(text(f"SELECT {function}(:key)"), {"key": key})


async def lock_ids(session: AsyncSession, ids: Iterable[uuid.UUID]) -> None:
    """Lock each record id for the rest of the transaction, always in one order, so two never deadlock."""
    for record_id in sorted(set(ids)):
        await advisory_lock(session, key_of(record_id))
