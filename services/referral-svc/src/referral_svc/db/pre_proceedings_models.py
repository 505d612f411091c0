"""referral-svc's pre-proceedings tables (s31ZA FGDM duty): the record, its parties, offers, meetings,
exceptions and the application. Parties' names live only here: never in an event or a log line."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from eoc_shared.db import JSONType, UTCDateTime, new_id
from referral_svc.db.models import Base


class PreProceedings(Base):
    __tablename__ = "pre_proceedings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referrals.id"), index=True)
    status: Mapped[str] = mapped_column(String(8))  # open | applied
    started_on: Mapped[date] = mapped_column(Date, index=True)
    letter_before_proceedings_on: Mapped[date | None] = mapped_column(Date, default=None)
    offer_due_on: Mapped[date] = mapped_column(Date)
    # The overdue-offer escalation is sent once: the day it was overdue as of, and when it was sent.
    offer_overdue_as_of: Mapped[date | None] = mapped_column(Date, default=None)
    offer_overdue_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        # One open record per referral.
        Index(
            "uq_pre_proceedings_referral_open", "referral_id", unique=True,
            postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'"),
        ),
    )


class PreProceedingsParty(Base):
    """A parent or person with parental responsibility; `child_ids` are children of the referral."""

    __tablename__ = "pre_proceedings_parties"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    pre_proceedings_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pre_proceedings.id"), index=True)
    relationship: Mapped[str] = mapped_column(String(24))
    child_ids: Mapped[list[str]] = mapped_column(JSONType)
    given_name: Mapped[str | None] = mapped_column(String(200), default=None)
    family_name: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


class FgdmOffer(Base):
    __tablename__ = "fgdm_offers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    pre_proceedings_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pre_proceedings.id"), index=True)
    party_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pre_proceedings_parties.id"), index=True)
    offered_on: Mapped[date] = mapped_column(Date)
    in_letter_before_proceedings: Mapped[bool] = mapped_column(Boolean)
    response: Mapped[str | None] = mapped_column(String(12), default=None)
    responded_on: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    responded_by: Mapped[str | None] = mapped_column(String(200), default=None)


class FgdmMeeting(Base):
    __tablename__ = "fgdm_meetings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    pre_proceedings_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pre_proceedings.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(16))
    child_participation: Mapped[str] = mapped_column(String(16))
    network_attendees: Mapped[dict[str, Any]] = mapped_column(JSONType)
    intervention_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("interventions.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


class FgdmException(Base):
    """A team manager's decision that offering (to one party) or holding the meeting is not in the child's
    best interests."""

    __tablename__ = "fgdm_exceptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    pre_proceedings_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pre_proceedings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    party_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("pre_proceedings_parties.id"), default=None)
    decided_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(24))
    explanation: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CareApplication(Base):
    __tablename__ = "care_applications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    pre_proceedings_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pre_proceedings.id"), unique=True)
    applied_on: Mapped[date] = mapped_column(Date)
    order: Mapped[str] = mapped_column(String(12))
    urgent: Mapped[bool] = mapped_column(Boolean)
    urgent_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
