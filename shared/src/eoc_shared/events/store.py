"""Every service's declarative base (one naming convention) and its outbox and inbox tables, declared once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, Integer, MetaData, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from eoc_shared.db import JSONType, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class OutboxMixin:
    """Events waiting to be published; written in the same transaction as the change that caused them."""

    __tablename__ = "outbox"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True, autoincrement=True
    )
    # Not unique-indexed: ids are random (122 bits) and made only by the outbox's writers, and nothing looks a row
    # up by id; a unique index over random keys was the costliest part of writing a row and of marking it sent.
    id: Mapped[uuid.UUID] = mapped_column()
    topic: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Indexed (below): the retention window (replay after broker loss, pruning) is counted from creation.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Not indexed itself: the unpublished rows have their partial index below, and the retention window's
    # queries go by created_at; an index of every row's published_at was one more to write per row, twice.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:  # noqa: N805 - SQLAlchemy's declared_attr takes the class
        # The relay's round reads the oldest unpublished rows in order: with this index it reads those 1,000
        # and stops; without it, it read and sorted the whole backlog each round, slower the further behind.
        # created_at: rows are written in time order, so on PostgreSQL a BRIN index (a summary per range of
        # pages) serves the window's range queries; a B-tree took an entry per row written and per row marked sent.
        return (Index(UNPUBLISHED_INDEX, "seq", postgresql_where=text("published_at IS NULL"),
                      sqlite_where=text("published_at IS NULL")),
                Index(CREATED_INDEX, "created_at", postgresql_using="brin"))


#: the outbox's partial index of unpublished rows, by `seq` (migration 18 of every service, which drops
#: the index of `published_at` it replaces)
UNPUBLISHED_INDEX = "ix_outbox_unpublished"
#: the outbox's index of creation times: BRIN on PostgreSQL, a B-tree on SQLite (migration 19 of every service)
CREATED_INDEX = "ix_outbox_created_at"


class InboxMixin:
    """Event ids already handled, per consumer: a redelivered event is recognised and changes nothing."""

    __tablename__ = "inbox"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(100))
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BusStateMixin:
    """What the relay remembers about the bus across restarts: the broker instance (cluster id) it last
    published to, so a start against a new, empty broker replays the retention window."""

    __tablename__ = "bus_state"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


def naming_metadata() -> MetaData:
    """A service's own metadata, with the naming convention every service's constraints and indexes follow."""
    return MetaData(naming_convention=NAMING)


def event_tables(base: type[DeclarativeBase]) -> tuple[type[OutboxMixin], type[InboxMixin]]:
    """The outbox and inbox tables in a service's metadata. In `db/models.py`:

        class Base(DeclarativeBase):
            metadata = naming_metadata()

        Outbox, Inbox = event_tables(Base)

    (`Base` stays a class statement so type checkers accept it as the models' base class.)
    """
    outbox = type("Outbox", (OutboxMixin, base), {"__module__": base.__module__})
    inbox = type("Inbox", (InboxMixin, base), {"__module__": base.__module__})
    return outbox, inbox
