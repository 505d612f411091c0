"""Async SQLAlchemy engine, portable column types and the unit of work that commits before the response."""

from __future__ import annotations

import functools
import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from asyncpg.pgproto.pgproto import UUID as _FastUUID
from sqlalchemy import JSON, DateTime, Numeric, String, Table, Text, bindparam, cast, event, exc, insert
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator

from eoc_shared.bulk import copy_columns
from eoc_shared.sqlite import BUSY_TIMEOUT_SECONDS, WalCheckpoints, inline_connector, register_checkpoints

JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def new_ids(n: int) -> list[uuid.UUID]:
    """n random (version 4) UUIDs from one read of the OS's random source, for bulk paths.

    asyncpg's UUID (a C subclass of `uuid.UUID`: equal, hashable and printed alike) is built and printed
    several times faster than the standard one; the version and variant bits are set on all n at once."""
    raw = bytearray(os.urandom(16 * n))
    raw[6::16] = bytes(b & 0x0F | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes(b & 0x3F | 0x80 for b in raw[8::16])  # RFC 4122 variant
    digits = raw.hex()
    return [_FastUUID(digits[i:i + 32]) for i in range(0, 32 * n, 32)]


class Money(TypeDecorator[Decimal]):
    """NUMERIC on PostgreSQL; text on SQLite, which would otherwise round money through floats."""

    impl = Numeric(14, 2)
    cache_ok = True

    def __init__(self, precision: int = 14, scale: int = 2) -> None:
        super().__init__()
        self.precision, self.scale = precision, scale

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(self.precision, self.scale))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both databases (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        # One connection per service: SQLite has one writer at a time, and connections that compete for
        # it sleep in SQLite's busy handler (up to 100 ms a turn); waiting in the pool's queue is cheaper.
        # The statements run on the event loop's thread (eoc_shared.sqlite: no worker-thread hand-off per statement),
        # the WAL checkpoints on a worker thread.
        path = make_url(url).database or ":memory:"
        engine = create_async_engine(url, hide_parameters=True, pool_size=1, max_overflow=0, pool_timeout=60,
                                     async_creator=inline_connector(path))
        checkpoints = register_checkpoints(engine.sync_engine, WalCheckpoints(path))
        event.listen(engine.sync_engine, "commit", lambda _conn: checkpoints.committed())
        event.listen(engine.sync_engine, "checkin", lambda _conn, _record: checkpoints.settled())

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit is not fsynced, the checkpoint is. A power loss or OS crash may lose the
            # last commits (never corrupts); a crash of the process alone loses nothing (docs/performance.md).
            cursor.execute("PRAGMA synchronous=NORMAL")
            # WalCheckpoints checkpoints off the loop; SQLite's own, in the commit, only as a backstop.
            cursor.execute(f"PRAGMA wal_autocheckpoint={WalCheckpoints.BACKSTOP_PAGES}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
            cursor.close()

        return engine
    engine = create_async_engine(url, pool_size=10, max_overflow=10, hide_parameters=True)
    _ping_when_idle(engine)
    return engine


#: a pooled connection unused for longer than this is checked before it is handed out
IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """`pool_pre_ping`, but only for a connection that sat idle in the pool (IDLE_PING_SECONDS).

    The asyncpg ping is three round trips (BEGIN, `;`, ROLLBACK), as many as a whole small request makes;
    pinged on every checkout it doubled them. A connection in steady use proves itself; one that waited may
    have been cut (a database restart, a proxy's idle timeout) and is replaced before anyone sees it. One
    that breaks in use is still answered 503 and the pool's connections are refreshed (disconnect handling).
    """
    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["eoc_idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _handed_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("eoc_idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return  # new, or in use a moment ago
        try:
            dbapi_conn.ping()
        except Exception as error:  # noqa: BLE001 - any failure means: not this connection
            raise exc.DisconnectionError() from error  # the pool retries with a fresh one


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def dispose(self) -> None:
        await self.engine.dispose()


_COMPACT_JSON = json.JSONEncoder(separators=(",", ":")).encode


@functools.cache
def _outbox_insert(table: Table, postgres: bool) -> Any:
    """publish_many's INSERT, built once per outbox: the payload bound as the JSON text publish_many wrote
    (PostgreSQL casts it to JSONB), where the JSON column type would have encoded a dict again."""
    text_ = bindparam("payload_json", type_=Text)
    return insert(table).values(payload=cast(text_, JSONB) if postgres else text_)


@dataclass(frozen=True)
class OutboxRows:
    """Events ready for the outbox, by column: each payload is its envelope's JSON text."""

    ids: list[uuid.UUID]
    topic: str
    keys: list[str]
    payloads: list[str]
    created_at: datetime

    @property
    def count(self) -> int:
        return len(self.ids)

    def columns(self) -> dict[str, list[Any]]:
        """The outbox's columns, one list each (for `bulk.copy_columns` or `bulk.unnest_rows(json_text=True)`)."""
        n = self.count
        return {"id": self.ids, "topic": [self.topic] * n, "key": self.keys, "payload": self.payloads,
                "created_at": [self.created_at] * n, "attempts": [0] * n}


class UnitOfWork:
    """One transaction: state changes and the events they cause are committed together.

    `commit()` must be called explicitly; leaving the block without it rolls back, so a
    request that fails half-way stores nothing and publishes nothing.
    """

    def __init__(
        self, db: Database, outbox_model: type, source: str, on_commit: Callable[[], None] | None = None
    ) -> None:
        self._db = db
        self._source = source
        self._outbox_model = outbox_model
        self._on_commit = on_commit
        self.session: AsyncSession
        self._events = 0

    COPY_FROM = 50
    """From this many events on, `publish_many` uses COPY on PostgreSQL (below it a multi-row INSERT is as quick)."""

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._db.sessions()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.rollback()
        await self.session.close()

    async def one_statement(self) -> None:
        """Declare that this unit of work writes with exactly one statement (reads before or after it are
        allowed): on PostgreSQL each statement then runs in autocommit (the write atomic on its own), without
        BEGIN and COMMIT — two round trips of a write's three. Reads see what is committed at each statement,
        as READ COMMITTED's did inside the transaction. Call before the first statement; `commit()` is still
        called (nothing to do then). SQLite keeps its transaction (its BEGIN rides on the first statement; a
        COMMIT there is no server round trip)."""
        if self._db.is_postgres:
            await self.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

    def publish(self, event_type: str, key: uuid.UUID | str, data: Any, subject: str | None = None) -> None:
        """Record an event in the outbox, inside this transaction."""
        from eoc_shared.events.envelope import build_envelope
        from eoc_shared.tracing import stamp as stamp_trace_context

        envelope = build_envelope(event_type, key=str(key), data=data, source=self._source, subject=subject)
        stamp_trace_context(envelope)
        self.session.add(
            self._outbox_model(
                id=uuid.UUID(envelope["id"]),
                topic=envelope["_topic"],
                key=str(key),
                payload={k: v for k, v in envelope.items() if not k.startswith("_")},
                created_at=utcnow(),
            )
        )
        self._events += 1

    async def publish_many(self, event_type: str, items: Sequence[tuple[uuid.UUID | str, Any]]) -> None:
        """Record many events of one type, `(key, data)` each, as `publish` would one by one, in this transaction
        and without an ORM object per event: PostgreSQL copies them in (COPY) from `COPY_FROM` events on,
        otherwise one multi-row INSERT. The events of one call share their `time`.

        `data` is the event's payload model, or (bulk paths) the dict its `model_dump(mode="json")` would
        give, or that dict's JSON text, built by the caller from values it has already checked: the first of
        those is checked against the model here, the others are taken as they are."""
        if not items:
            return
        rows = self.outbox_rows(event_type, items)
        table: Any = getattr(self._outbox_model, "__table__")  # noqa: B009 - any mapped outbox class
        connection = await self.session.connection()
        postgres = connection.dialect.name == "postgresql"
        if postgres and rows.count >= self.COPY_FROM:
            await copy_columns(self.session, table, rows.columns())
        else:
            await connection.execute(_outbox_insert(table, postgres), [
                {"id": event_id, "topic": rows.topic, "key": subject, "payload_json": payload,
                 "created_at": rows.created_at, "attempts": 0}
                for event_id, subject, payload in zip(rows.ids, rows.keys, rows.payloads, strict=True)])

    def outbox_rows(self, event_type: str, items: Sequence[tuple[uuid.UUID | str, Any]]) -> OutboxRows:
        """The outbox rows `publish_many` would write, for a caller that writes them itself in this transaction
        (inside a larger statement: a data-modifying CTE that keeps only some of them). They count as this unit
        of work's events: its commit wakes the relay. `items` as for `publish_many`, not empty."""
        from eoc_shared.events.envelope import build_envelope
        from eoc_shared.events.schemas import spec_for
        from eoc_shared.tracing import stamp as stamp_trace_context

        first_data = items[0][1]
        if isinstance(first_data, dict):
            first_data = spec_for(event_type).model.model_validate(first_data)
        elif isinstance(first_data, str):
            first_data = spec_for(event_type).model.model_validate_json(first_data)
        first = build_envelope(event_type, key=str(items[0][0]), data=first_data, source=self._source)
        stamp_trace_context(first)  # one request's events share its trace context: part of the constant fields
        topic = first.pop("_topic")
        constant = {k: v for k, v in first.items() if k not in ("id", "subject", "data")}
        n = len(items)
        ids: list[uuid.UUID] = [uuid.UUID(first["id"]), *new_ids(n - 1)]
        subjects = [str(key) for key, _data in items]
        bodies = [data if isinstance(data, dict | str) else data.model_dump(mode="json") for _key, data in items[1:]]
        dumps = _COMPACT_JSON
        # Every payload is {"id", <the constant fields>, "subject", "data"}: the constant part encoded once, and
        # each payload written as the JSON text it is stored as (not a dict for the column type to encode).
        middle = dumps(constant)[1:-1]
        payloads = [dumps(first), *(f'{{"id":"{event_id}",{middle},"subject":{dumps(subject)},'
                                    f'"data":{body if isinstance(body, str) else dumps(body)}}}'
                                    for event_id, subject, body in zip(ids[1:], subjects[1:], bodies, strict=True))]
        self._events += n
        return OutboxRows(ids=ids, topic=topic, keys=subjects, payloads=payloads, created_at=utcnow())

    async def commit(self) -> None:
        await self.session.commit()
        if self._events and self._on_commit:
            self._on_commit()
        self._events = 0

    async def rollback(self) -> None:
        await self.session.rollback()
        self._events = 0
