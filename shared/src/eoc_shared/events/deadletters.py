"""Dead letters an operator can work with: each consumer keeps what it parks in its service's database.

The `<topic>.dlq` topic stays the bus-level record; the `dead_letters` table is what the ops API lists and
replays from. A replay runs the stored message through the same consumer (decode, inbox, handler, retries)
and nobody else: the inbox makes a replay of something already handled change nothing, and a replay that
fails again is parked again with its attempts added to those it already had.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text, func, select
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from eoc_shared.db import UTCDateTime, utcnow

if TYPE_CHECKING:
    from eoc_shared.db import Database
    from eoc_shared.events.bus import Consumers, Subscription

#: a consumer's outcomes after which a message is done with: its offset is committed, a parked copy counts as replayed
SETTLED = ("handled", "duplicate", "ignored")

log = structlog.get_logger("eoc.dlq")

PARKED, REPLAYED = "parked", "replayed"


class DeadLetterMixin:
    """A message a consumer gave up on: where it came from, why, how often it was tried, and the bytes."""

    __tablename__ = "dead_letters"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    consumer: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(100))
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str | None] = mapped_column(String(200), default=None)
    event_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    message: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    first_parked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    parked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:  # noqa: N805 - one Index object per service's table
        return (Index("ix_dead_letters_topic_consumer_status", "topic", "consumer", "status"),)


@dataclass(frozen=True)
class Parked:
    """What the consumer runtime knows when it parks a message."""

    consumer: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    message: bytes
    reason: str
    attempts: int
    event_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ReplayResult:
    id: uuid.UUID
    outcome: str  # handled | duplicate | parked_again
    attempts: int


def _event_id(message: bytes) -> uuid.UUID | None:
    import json

    try:
        value = json.loads(message)
        return uuid.UUID(str(value["id"])) if isinstance(value, dict) else None
    except (ValueError, KeyError, TypeError):
        return None


class DeadLetters:
    """The service's dead-letter table: park, list, count, and replay through the consumer runtime."""

    def __init__(self, service: str, db: Database, model: type[DeadLetterMixin]) -> None:
        self.service = service
        self._db = db
        self.model = model

    async def park(self, parked: Parked) -> int:
        """Record (or re-record) a parked message; returns the attempts it now has in all."""
        model = self.model
        now = utcnow()
        async with self._db.sessions() as session:
            existing = (await session.execute(
                select(model).where(model.consumer == parked.consumer, model.topic == parked.topic,
                                    model.partition == parked.partition, model.offset == parked.offset)
            )).scalars().first()
            if existing is not None and existing.message == parked.message:
                if existing.status == PARKED:
                    return int(existing.attempts)  # the same parking delivered again: nothing new
                existing.attempts = int(existing.attempts) + parked.attempts
                existing.reason, existing.status, existing.parked_at = parked.reason[:4000], PARKED, now
                total = int(existing.attempts)
            else:
                factory: Any = model
                session.add(factory(
                    id=uuid.uuid4(), consumer=parked.consumer, topic=parked.topic, partition=parked.partition,
                    offset=parked.offset, key=parked.key.decode(errors="replace")[:200] if parked.key else None,
                    event_id=parked.event_id or _event_id(parked.message), message=parked.message,
                    reason=parked.reason[:4000], attempts=parked.attempts, status=PARKED,
                    first_parked_at=now, parked_at=now,
                ))
                total = parked.attempts
            await session.commit()
        return total

    async def listing(self, topic: str | None = None, consumer: str | None = None, status: str | None = PARKED,
                      limit: int = 100, offset: int = 0) -> list[Any]:
        model = self.model
        stmt: Any = select(model).order_by(model.first_parked_at, model.id).limit(limit).offset(offset)
        if topic:
            stmt = stmt.where(model.topic == topic)
        if consumer:
            stmt = stmt.where(model.consumer == consumer)
        if status:
            stmt = stmt.where(model.status == status)
        async with self._db.sessions() as session:
            return list((await session.execute(stmt)).scalars().all())

    async def depth(self) -> list[tuple[str, str, int]]:
        """Parked messages per (topic, consumer): what the DLQ-depth gauge shows."""
        model = self.model
        stmt = (select(model.topic, model.consumer, func.count()).where(model.status == PARKED)
                .group_by(model.topic, model.consumer))
        async with self._db.sessions() as session:
            return [(t, c, int(n)) for t, c, n in (await session.execute(stmt)).all()]

    async def replay(self, consumers: Consumers, sub: Subscription, ids: list[uuid.UUID] | None) -> list[ReplayResult]:
        """Send parked messages back to one consumer, oldest first; each is marked replayed or parked again."""
        rows = await self.listing(topic=sub.spec.topic, consumer=sub.consumer, status=PARKED, limit=10_000)
        if ids is not None:
            wanted = set(ids)
            rows = [r for r in rows if r.id in wanted]
        results: list[ReplayResult] = []
        for row in rows:
            outcome, attempts, reason = await consumers.process(sub, row.message)
            async with self._db.sessions() as session:
                current = await session.get(self.model, row.id)
                if current is None:
                    continue
                if outcome in SETTLED:
                    current.status, current.replayed_at = REPLAYED, utcnow()
                    total = int(current.attempts)
                else:
                    current.attempts = int(current.attempts) + attempts
                    current.reason, current.parked_at = reason[:4000], utcnow()
                    total = int(current.attempts)
                await session.commit()
            if outcome not in SETTLED:
                await consumers.publish_dead_letter(sub, row.message, row.key.encode() if row.key else None, reason,
                                                    total, row.partition, row.offset)
                outcome = "parked_again"
            log.info("dlq.replayed", service=self.service, topic=sub.spec.topic, consumer=sub.consumer,
                     dead_letter_id=str(row.id), outcome=outcome, attempts=total)
            results.append(ReplayResult(row.id, outcome, total))
        return results
