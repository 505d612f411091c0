"""Set-based queries and Core inserts for partner feed events: one statement per batch, not one per event."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, insert, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from referral_svc.db.models import AuditEntry, Child, PartnerEvent

#: keeps every IN list and multi-row VALUES well under both databases' bind-parameter limits
CHUNK = 500

_EVENTS: Table = PartnerEvent.__table__  # type: ignore[assignment]
_AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class FeedRows:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _dialect(self) -> str:
        bind = self.session.get_bind()
        return bind.dialect.name

    async def existing(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
        """(source, external_id) → id of the events already stored."""
        found: dict[tuple[str, str], uuid.UUID] = {}
        for chunk in _chunks(sorted(set(keys))):
            where: ColumnElement[bool]
            if self._dialect == "postgresql":
                where = tuple_(PartnerEvent.source, PartnerEvent.external_id).in_(list(chunk))
            else:  # SQLite before 3.37 has no row values in IN; an OR of ANDs is as good for a chunk
                where = or_(*(and_(PartnerEvent.source == s, PartnerEvent.external_id == e) for s, e in chunk))
            stmt = select(PartnerEvent.source, PartnerEvent.external_id, PartnerEvent.id).where(where)
            for source, external_id, event_id in await self.session.execute(stmt):
                found[(source, external_id)] = event_id
        return found

    async def children_by(self, column: str, values: Iterable[str]) -> dict[str, tuple[uuid.UUID, str | None]]:
        """la_child_id or nhs_number → (child id, the NHS number on that child's record)."""
        col = getattr(Child, column)
        found: dict[str, tuple[uuid.UUID, str | None]] = {}
        for chunk in _chunks(sorted(set(values))):
            stmt = select(col, Child.id, Child.nhs_number).where(col.in_(list(chunk)))
            for value, child_id, nhs in await self.session.execute(stmt):
                found[value] = (child_id, nhs)
        return found

    async def insert_new(self, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
        """Insert the events; answers the ids really inserted. A row whose (source, external_id) another
        transaction stored meanwhile is skipped (ON CONFLICT DO NOTHING), never an error."""
        make = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        inserted: set[uuid.UUID] = set()
        for chunk in _chunks(rows):
            stmt = make(_EVENTS).on_conflict_do_nothing(index_elements=["source", "external_id"])
            result = await self.session.execute(stmt.returning(_EVENTS.c.id), list(chunk))
            inserted.update(result.scalars())
        return inserted

    async def audit(self, rows: Sequence[dict[str, Any]]) -> None:
        for chunk in _chunks(rows):
            await self.session.execute(insert(_AUDIT), list(chunk))
