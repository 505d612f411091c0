"""Set-based queries and Core inserts for partner feed events: one statement per batch, not one per event."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import TEXT, Table, and_, any_, bindparam, cast, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from eoc_shared.bulk import Dependent, copy_columns, insert_columns, insert_with_dependents
from eoc_shared.db import OutboxRows
from referral_svc.db.models import AuditEntry, Child, Outbox, PartnerEvent

#: keeps every IN list and multi-row VALUES well under both databases' bind-parameter limits
CHUNK = 500
#: from this many rows on, PostgreSQL gets them by COPY (below it one INSERT is fewer round trips and as quick)
COPY_FROM = 50

_EVENTS: Table = PartnerEvent.__table__  # type: ignore[assignment]
_AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]
_CHILDREN: Table = Child.__table__  # type: ignore[assignment]
_OUTBOX: Table = Outbox.__table__  # type: ignore[attr-defined]


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@functools.cache
def _children_by(column: str, postgres: bool) -> Any:
    """The children whose `column` is among the values `v`, built once (a statement per group of single events):
    on PostgreSQL one array parameter however many values, elsewhere an expanding IN of a chunk."""
    c = _CHILDREN.c
    by = c[column]
    values = by == any_(cast(bindparam("v"), ARRAY(TEXT))) if postgres else by.in_(bindparam("v", expanding=True))
    return select(by, c.id, c.nhs_number).where(values)


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
        unique = sorted(set(keys))
        if self._dialect == "postgresql":  # two array parameters, however many keys
            stmt = text("SELECT p.source, p.external_id, p.id FROM partner_events p JOIN unnest("
                        "CAST(:sources AS TEXT[]), CAST(:external_ids AS TEXT[])) AS k(s, e) "
                        "ON p.source = k.s AND p.external_id = k.e").columns(
                PartnerEvent.source, PartnerEvent.external_id, PartnerEvent.id)
            result = await self.session.execute(stmt, {"sources": [k[0] for k in unique],
                                                       "external_ids": [k[1] for k in unique]})
            return {(source, external_id): event_id for source, external_id, event_id in result}
        for chunk in _chunks(unique):
            # SQLite before 3.37 has no row values in IN; an OR of ANDs is as good for a chunk
            where = or_(*(and_(PartnerEvent.source == s, PartnerEvent.external_id == e) for s, e in chunk))
            stmt2 = select(PartnerEvent.source, PartnerEvent.external_id, PartnerEvent.id).where(where)
            for source, external_id, event_id in await self.session.execute(stmt2):
                found[(source, external_id)] = event_id
        return found

    async def children_by(self, column: str, values: Iterable[str]) -> dict[str, tuple[uuid.UUID, str | None]]:
        """la_child_id or nhs_number → (child id, the NHS number on that child's record)."""
        found: dict[str, tuple[uuid.UUID, str | None]] = {}
        unique = sorted(set(values))
        if not unique:
            return found
        postgres = self._dialect == "postgresql"
        stmt = _children_by(column, postgres)
        for chunk in [unique] if postgres else _chunks(unique):
            for value, child_id, nhs in await self.session.execute(stmt, {"v": list(chunk)}):
                found[value] = (child_id, nhs)
        return found

    async def insert_new(self, columns: dict[str, list[Any]]) -> set[uuid.UUID]:
        """Insert the events (one list per column, `id` among them); answers the ids really inserted. A row
        whose (source, external_id) is stored already, or by another transaction meanwhile, is skipped, never
        an error: the caller looks up only what was skipped.

        PostgreSQL, from COPY_FROM rows: all rows by COPY (the usual case: every event new); if any is stored
        already, that COPY is undone and the rows go in by `INSERT … ON CONFLICT DO NOTHING RETURNING id`.
        Fewer rows (the single endpoint's groups) go by that INSERT at once: one round trip, where the COPY
        under its savepoint was four."""
        if len(columns["id"]) >= COPY_FROM and await copy_columns(self.session, _EVENTS, columns, all_or_nothing=True):
            return set(columns["id"])
        return set(await insert_columns(self.session, _EVENTS, columns, skip_conflicts_on=("source", "external_id"),
                                        returning="id"))

    def folds(self, count: int) -> bool:
        """Whether `count` new events go in by `insert_announced` (PostgreSQL, fewer than COPY_FROM: the single
        endpoint's groups, small batches) rather than by `insert_new`, `publish_many` and `audit`."""
        return self._dialect == "postgresql" and count < COPY_FROM

    async def insert_announced(self, columns: dict[str, list[Any]], announced: Sequence[uuid.UUID],
                               outbox: OutboxRows, audit: dict[str, list[Any]]) -> set[uuid.UUID]:
        """PostgreSQL: the events, their announcements and their audit rows in one statement (no transaction
        needed around it). `announced[i]` is the event that outbox row i and audit row i belong to; an event
        skipped as stored already (ON CONFLICT DO NOTHING) writes neither. Answers the ids really inserted, as
        `insert_new` does."""
        return set(await insert_with_dependents(
            self.session, _EVENTS, columns, [
                Dependent(_OUTBOX, outbox.columns(), announced, json_text=True, in_order=True),
                Dependent(_AUDIT, audit, announced),
            ], skip_conflicts_on=("source", "external_id")))

    async def audit(self, columns: dict[str, list[Any]]) -> None:
        if len(columns["at"]) < COPY_FROM or not await copy_columns(self.session, _AUDIT, columns):
            await insert_columns(self.session, _AUDIT, columns)
