"""outcomes-svc's tables: closures (checkpoint 0), follow-ups, detected signals, the access log."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from eoc_shared.audit import AccessLogMixin
from eoc_shared.db import UTCDateTime
from eoc_shared.events.deadletters import DeadLetterMixin
from eoc_shared.events.store import BusStateMixin, event_tables, naming_metadata


class Base(DeclarativeBase):
    metadata = naming_metadata()


Outbox, Inbox = event_tables(Base)


class BusState(BusStateMixin, Base):
    pass


class DeadLetter(DeadLetterMixin, Base):
    pass


class Closure(Base):
    """One child of one closed intervention (never `superseded`): the outcome at closure, checkpoint 0."""

    __tablename__ = "closures"
    __table_args__ = (
        UniqueConstraint("intervention_id", "child_id", name="uq_closures_intervention_child"),
        Index("ix_closures_year_programme", "financial_year", "programme"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    intervention_id: Mapped[uuid.UUID]
    referral_id: Mapped[uuid.UUID]
    family_id: Mapped[uuid.UUID]
    child_id: Mapped[uuid.UUID] = mapped_column(index=True)
    programme: Mapped[str] = mapped_column(String(32))
    started_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date] = mapped_column(Date)
    financial_year: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    living_situation: Mapped[str] = mapped_column(String(16))
    placement_type: Mapped[str | None] = mapped_column(String(8), default=None)
    # the practitioner's user id (token subject) from intervention.closed: they may follow up this closure
    practitioner: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Followup(Base):
    """A checkpoint 6–60 months after a closure: scheduled → due → overdue, until recorded.

    Reads show the status from the dates (`domain.followup_dates.status_as_of`, as of today); the stored
    `status` is trusted only for `recorded` (set by results and detections). Its `due` and `overdue` are the
    scheduler's bookkeeping — which follow-ups it has published `followup.due` for, once — found through
    (status, due_on): a range scan over the rows falling due, however large the table grows.
    """

    __tablename__ = "followups"
    __table_args__ = (
        UniqueConstraint("closure_id", "checkpoint_months", name="uq_followups_closure_checkpoint"),
        Index("ix_followups_status_due_on", "status", "due_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    closure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("closures.id"))
    child_id: Mapped[uuid.UUID] = mapped_column(index=True)
    intervention_id: Mapped[uuid.UUID]
    checkpoint_months: Mapped[int] = mapped_column(SmallInteger)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    # followup.due: published once, when the scheduler first found it due (as of which day)
    due_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    due_as_of: Mapped[date | None] = mapped_column(Date, default=None)
    overdue_as_of: Mapped[date | None] = mapped_column(Date, default=None)
    # the result: a practitioner's, or a detection's
    observed_on: Mapped[date | None] = mapped_column(Date, default=None)
    living_situation: Mapped[str | None] = mapped_column(String(16), default=None)
    re_referred: Mapped[bool | None] = mapped_column(Boolean, default=None)
    recorded_source: Mapped[str | None] = mapped_column(String(16), default=None)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    recorded_by: Mapped[str | None] = mapped_column(String(200), default=None)
    # what detection saw after the closure
    re_referred_on: Mapped[date | None] = mapped_column(Date, default=None)
    care_entry_on: Mapped[date | None] = mapped_column(Date, default=None)
    care_entry_kind: Mapped[str | None] = mapped_column(String(16), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Signal(Base):
    """A fact seen on the bus that can break a child's outcome: a re-referral, a care entry, custody.

    Kept for every child (also before any closure is known: events of different topics may arrive in
    any order), once per source fact.
    """

    __tablename__ = "signals"
    __table_args__ = (UniqueConstraint("source", "source_ref", "child_id", name="uq_signals_source_ref_child"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16))
    occurred_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(40))
    source_ref: Mapped[str] = mapped_column(String(64))
    referral_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    living_situation: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AccessLog(AccessLogMixin, Base):
    """Append-only: every read or change of a child's outcome record (a database trigger refuses UPDATE
    and DELETE)."""

    __tablename__ = "access_log"


# Care applications live in their own module; importing it here puts the table in Base.metadata.
from outcomes_svc.db import care_application_models  # noqa: E402,F401
