"""referral-svc's tables: families, children, referrals and their status history, interventions, programme
settings and waiting lists, partner feed events, follow-ups seen, the access audit log, outbox and inbox."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from eoc_shared.audit import AccessLogMixin
from eoc_shared.clock import today
from eoc_shared.db import JSONType, UTCDateTime, new_id
from eoc_shared.events.deadletters import DeadLetterMixin
from eoc_shared.events.store import BusStateMixin, event_tables, naming_metadata
from referral_svc.domain import timers


class Base(DeclarativeBase):
    metadata = naming_metadata()


Outbox, Inbox = event_tables(Base)


class BusState(BusStateMixin, Base):
    pass


class DeadLetter(DeadLetterMixin, Base):
    pass


class Family(Base):
    __tablename__ = "families"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    la_reference: Mapped[str] = mapped_column(String(64), unique=True)
    postcode_district: Mapped[str] = mapped_column(String(8))
    primary_language: Mapped[str] = mapped_column(String(2))
    interpreter_needed: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    children: Mapped[list[Child]] = relationship(back_populates="family", order_by="Child.created_at")


class Child(Base):
    __tablename__ = "children"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    la_child_id: Mapped[str] = mapped_column(String(64), unique=True)
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    ethnicity: Mapped[str] = mapped_column(String(4))
    legal_status: Mapped[str] = mapped_column(String(4))
    nhs_number: Mapped[str | None] = mapped_column(String(10), unique=True, default=None)
    placement_type: Mapped[str | None] = mapped_column(String(4), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    family: Mapped[Family] = relationship(back_populates="children")


class Referral(Base):
    __tablename__ = "referrals"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    referred_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(32))
    risk_factors: Mapped[list[str]] = mapped_column(JSONType)
    threshold_for_removal_met: Mapped[bool] = mapped_column(Boolean)
    requested_programme: Mapped[str | None] = mapped_column(String(40), default=None)
    status: Mapped[str] = mapped_column(String(16), index=True)
    consent_due_on: Mapped[date] = mapped_column(Date)
    assessment_due_on: Mapped[date] = mapped_column(Date)
    consent_signed_on: Mapped[date | None] = mapped_column(Date, default=None)
    eligibility: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    eligibility_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    team: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Escalations are sent once per referral: the date they were due as of, and when they were sent.
    consent_overdue_as_of: Mapped[date | None] = mapped_column(Date, default=None)
    consent_overdue_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    assessment_overdue_as_of: Mapped[date | None] = mapped_column(Date, default=None)
    assessment_overdue_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    children: Mapped[list[ReferralChild]] = relationship(
        cascade="all, delete-orphan", order_by="ReferralChild.position", lazy="selectin"
    )

    @property
    def child_ids(self) -> list[uuid.UUID]:
        return [link.child_id for link in self.children]

    @property
    def recommended(self) -> str | None:
        """The programme the latest eligibility decision recommends (None before one, or when none fits)."""
        return (self.eligibility or {}).get("recommended")

    # Statuses the calendar changes: what the dates say today, when read (never the escalation run's days).
    @property
    def consent_overdue(self) -> bool:
        return timers.consent_overdue(status=self.status, consent_due_on=self.consent_due_on,
                                      consent_signed_on=self.consent_signed_on, as_of=today())

    @property
    def assessment_overdue(self) -> bool:
        return timers.assessment_overdue(status=self.status, assessment_due_on=self.assessment_due_on,
                                         decided=self.eligibility_decided_at is not None, as_of=today())


class ReferralChild(Base):
    __tablename__ = "referral_children"

    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referrals.id"), primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("children.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column()


class CareStatusChange(Base):
    """A change of a child's legal status or placement, effective from a date (child.updated)."""

    __tablename__ = "child_care_changes"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True, autoincrement=True
    )
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("children.id"), index=True)
    effective_on: Mapped[date] = mapped_column(Date)
    legal_status_before: Mapped[str] = mapped_column(String(4))
    legal_status: Mapped[str] = mapped_column(String(4))
    placement_type_before: Mapped[str | None] = mapped_column(String(4), default=None)
    placement_type: Mapped[str | None] = mapped_column(String(4), default=None)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(200))


class StatusChange(Base):
    """Every status a referral has held, with when it took effect and what moved it (the timeline reads it)."""

    __tablename__ = "referral_status_changes"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True, autoincrement=True
    )
    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referrals.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    from_status: Mapped[str | None] = mapped_column(String(16), default=None)
    to_status: Mapped[str] = mapped_column(String(16))
    cause: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProgrammeSetting(Base):
    """Ops-configurable per programme: capacity (active families; null = no limit) and planned length."""

    __tablename__ = "programmes"

    programme: Mapped[str] = mapped_column(String(24), primary_key=True)
    capacity: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_months: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    updated_by: Mapped[str | None] = mapped_column(String(200), default=None)


class Intervention(Base):
    __tablename__ = "interventions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referrals.id"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    programme: Mapped[str] = mapped_column(String(24), index=True)
    status: Mapped[str] = mapped_column(String(8), index=True)  # active | closed
    started_on: Mapped[date] = mapped_column(Date)
    expected_end_on: Mapped[date] = mapped_column(Date)
    practitioner: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    from_waiting_list: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_on: Mapped[date | None] = mapped_column(Date, default=None)
    reason: Mapped[str | None] = mapped_column(String(24), default=None)
    child_outcomes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, default=None)
    superseded_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_by: Mapped[str | None] = mapped_column(String(200), default=None)

    @property
    def past_expected_end(self) -> bool:
        """Active and past its expected end today, from the dates when read."""
        return timers.past_expected_end(status=self.status, expected_end_on=self.expected_end_on, as_of=today())


class WaitingEntry(Base):
    """A family waiting for a place in a programme; `waiting` until started or cancelled, then kept."""

    __tablename__ = "waiting_list"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referrals.id"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    programme: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(12))  # waiting | started | cancelled
    referred_on: Mapped[date] = mapped_column(Date)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    requested_started_on: Mapped[date] = mapped_column(Date)
    practitioner: Mapped[str | None] = mapped_column(String(200), default=None)
    requested_by: Mapped[str] = mapped_column(String(200))
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    left_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    intervention_id: Mapped[uuid.UUID | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_waiting_list_programme_status", "programme", "status"),
        # A referral waits at most once for a programme.
        Index(
            "uq_waiting_list_referral_programme_waiting", "referral_id", "programme", unique=True,
            postgresql_where=text("status = 'waiting'"), sqlite_where=text("status = 'waiting'"),
        ),
    )


class PartnerEvent(Base):
    """An event posted by a partner agency; kept whether or not it matched a child (review queue)."""

    __tablename__ = "partner_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str | None] = mapped_column(Text, default=None)
    la_child_id: Mapped[str | None] = mapped_column(String(64), default=None)
    nhs_number: Mapped[str | None] = mapped_column(String(10), default=None)
    child_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("children.id"), default=None, index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # matched | review | resolved | dismissed
    review_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_by: Mapped[str] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(200), default=None)
    resolution_note: Mapped[str | None] = mapped_column(Text, default=None)

    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_partner_events_source_external_id"),)


class FollowupSeen(Base):
    """A follow-up that outcomes-svc announced as due, shown on the child's timeline."""

    __tablename__ = "followups_due"

    followup_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(index=True)
    intervention_id: Mapped[uuid.UUID] = mapped_column()
    checkpoint_months: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(AccessLogMixin, Base):
    """Append-only: who read or changed which child's record, and when. No update or delete path exists."""

    __tablename__ = "audit_log"


class TwelveMonthOutcome(Base):
    """A child's 12-month follow-up result after one intervention, as outcomes-svc announced it
    (`followup.recorded`): the last stage of the equity funnel."""

    __tablename__ = "twelve_month_outcomes"

    child_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    intervention_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    followup_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    living_situation: Mapped[str] = mapped_column(String(16))
    re_referred: Mapped[bool] = mapped_column(Boolean)
    observed_on: Mapped[date] = mapped_column(Date)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


# The pre-proceedings tables live in their own module; importing it here puts them in Base.metadata.
from referral_svc.db import pre_proceedings_models  # noqa: E402,F401
