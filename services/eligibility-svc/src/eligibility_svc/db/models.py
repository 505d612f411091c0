"""eligibility-svc's tables: rule sets (versioned, effective-dated) and decisions with their inputs and reasons."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from eoc_shared.audit import AccessLogMixin
from eoc_shared.db import JSONType, UTCDateTime, new_id
from eoc_shared.events.deadletters import DeadLetterMixin
from eoc_shared.events.store import InboxMixin, OutboxMixin

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class RuleSetRecord(Base):
    """A rule set version as data (the programme catalogue and its criteria); never changed once stored."""

    __tablename__ = "rule_sets"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    effective_from: Mapped[date] = mapped_column(Date)
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


class DecisionRecord(Base):
    """A decision is never overwritten: a new one is added and the latest is the one in force."""

    __tablename__ = "decisions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    referral_id: Mapped[uuid.UUID] = mapped_column()
    rule_version: Mapped[int] = mapped_column(Integer)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONType)
    recommended: Mapped[str | None] = mapped_column(String(40))
    programmes: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    referred_on: Mapped[date] = mapped_column(Date)
    #: whose decision it is (ids only), so that each read is written to the access log per child
    child_ids: Mapped[list[str] | None] = mapped_column(JSONType, default=None)
    trigger_event_id: Mapped[uuid.UUID] = mapped_column()
    trigger: Mapped[str] = mapped_column(String(40), server_default="referral.created")

    __table_args__ = (
        Index("ix_decisions_referral_decided", "referral_id", "decided_at"),
        Index("ix_decisions_referred_on", "referred_on"),
    )


class CasePractitioner(Base):
    """Who works a case, learned from `intervention.started` and `intervention.closed`: a practitioner
    reads the decisions of these referrals only (the same scoping as referral-svc)."""

    __tablename__ = "case_practitioners"

    referral_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    practitioner: Mapped[str] = mapped_column(String(200), primary_key=True)
    learned_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AccessEntry(AccessLogMixin, Base):
    """Append-only: who read which child's eligibility decision, and when (a trigger refuses UPDATE/DELETE)."""

    __tablename__ = "access_log"


class Outbox(OutboxMixin, Base):
    pass


class Inbox(InboxMixin, Base):
    pass


class DeadLetter(DeadLetterMixin, Base):
    pass
