"""Outbox and inbox tables, declared once here and mixed into each service's own metadata."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eoc_shared.db import JSONType, UTCDateTime


class OutboxMixin:
    """Events waiting to be published; written in the same transaction as the change that caused them."""

    __tablename__ = "outbox"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True, autoincrement=True
    )
    id: Mapped[uuid.UUID] = mapped_column(unique=True)
    topic: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Indexed: the retention window (replay after broker loss, pruning) is counted from creation.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


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
