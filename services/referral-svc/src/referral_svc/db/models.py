"""referral-svc's tables: families, children, referrals, the access audit log, outbox and inbox."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Identity, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from eoc_shared.db import JSONType, UTCDateTime, new_id
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


class Family(Base):
    __tablename__ = "families"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    la_reference: Mapped[str] = mapped_column(String(64), unique=True)
    postcode_district: Mapped[str] = mapped_column(String(8))
    primary_language: Mapped[str] = mapped_column(String(2))
    interpreter_needed: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))

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

    children: Mapped[list[ReferralChild]] = relationship(
        cascade="all, delete-orphan", order_by="ReferralChild.position", lazy="selectin"
    )

    @property
    def child_ids(self) -> list[uuid.UUID]:
        return [link.child_id for link in self.children]


class ReferralChild(Base):
    __tablename__ = "referral_children"

    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referrals.id"), primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("children.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column()


class AuditEntry(Base):
    """Append-only: who read or changed which child's record, and when. No update or delete path exists."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    child_id: Mapped[uuid.UUID] = mapped_column()
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)

    __table_args__ = (Index("ix_audit_log_child_at", "child_id", "at"),)


class Outbox(OutboxMixin, Base):
    pass


class Inbox(InboxMixin, Base):
    pass
