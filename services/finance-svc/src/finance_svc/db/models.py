"""finance-svc's tables.

Three kinds:
- settings people enter: rates per financial year, targets, programme costs, the placement rule (versioned);
- raw facts learnt from events (kept so any year can be recomputed from scratch): referrals, interventions
  with each child's outcome, follow-ups, and each child's projection with every version of it;
- the savings ledger derived from them: one entry per (financial year, child), the families served per
  year, and per-year and per-programme totals kept up to date by deltas (see domain/ledger.py).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, Index, Integer, MetaData, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from eoc_shared.audit import AccessLogMixin
from eoc_shared.db import JSONType, Money, UTCDateTime
from eoc_shared.events.deadletters import DeadLetterMixin
from eoc_shared.events.store import InboxMixin, OutboxMixin

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TOTAL = 20  # digits of summed money columns: a million children's savings fit with room to spare


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Outbox(OutboxMixin, Base):
    pass


class Inbox(InboxMixin, Base):
    pass


class DeadLetter(DeadLetterMixin, Base):
    pass


# --------------------------------------------------------------------------------------------- entered by people


class Rate(Base):
    """A financial year's daily rate for one placement type (`PUT /finance/rates/{fy}`)."""

    __tablename__ = "rates"

    fy: Mapped[int] = mapped_column(Integer, primary_key=True)
    placement_type: Mapped[str] = mapped_column(String(4), primary_key=True)
    daily_rate: Mapped[Decimal] = mapped_column(Money())
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Target(Base):
    __tablename__ = "targets"

    fy: Mapped[int] = mapped_column(Integer, primary_key=True)
    children_diverted: Mapped[int] = mapped_column(Integer)
    gross_savings: Mapped[Decimal] = mapped_column(Money(TOTAL, 2))
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProgrammeCost(Base):
    __tablename__ = "programme_costs"

    fy: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme: Mapped[str] = mapped_column(String(32), primary_key=True)
    cost: Mapped[Decimal] = mapped_column(Money(TOTAL, 2))
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PlacementRuleVersion(Base):
    """The rule that proposes a projection, as data; the highest version is in force."""

    __tablename__ = "placement_rules"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --------------------------------------------------------------------------------------------- facts from events


class ReferralSeen(Base):
    """`referral.created` as received: ids, dates, codes and ages only."""

    __tablename__ = "referrals"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column()
    referred_on: Mapped[date] = mapped_column(Date)
    risk_factors: Mapped[list[str]] = mapped_column(JSONType)
    children: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Projection(Base):
    """A child's current projection; every version is kept in `projection_versions`."""

    __tablename__ = "projections"

    child_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    referral_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    family_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    placement_type: Mapped[str] = mapped_column(String(4))
    # None while the rate for `rate_fy` and this placement type is not set yet.
    daily_rate: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    # The financial year whose rate card applies: that of the referral date.
    rate_fy: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(Text)
    rule_version: Mapped[int | None] = mapped_column(Integer, default=None)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_projections_rate_fy_status", "rate_fy", "status"),)


class ProjectionVersion(Base):
    """Append-only history: who, when, why, and the projection before and after."""

    __tablename__ = "projection_versions"

    child_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    changed_by: Mapped[str] = mapped_column(String(200))
    # The token subject that made the change (or the service), when it differs from who vouches for it.
    recorded_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    basis: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    after: Mapped[dict[str, Any]] = mapped_column(JSONType)


class InterventionFact(Base):
    """An intervention as learnt from `intervention.started` and/or `intervention.closed`, in any order."""

    __tablename__ = "interventions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    referral_id: Mapped[uuid.UUID] = mapped_column()
    family_id: Mapped[uuid.UUID] = mapped_column()
    programme: Mapped[str] = mapped_column(String(32))
    started_on: Mapped[date] = mapped_column(Date)
    fy: Mapped[int] = mapped_column(Integer, index=True)  # the financial year it started in
    expected_end_on: Mapped[date | None] = mapped_column(Date, default=None)
    closed_on: Mapped[date | None] = mapped_column(Date, default=None)
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    started_seen: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_seen: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InterventionChild(Base):
    __tablename__ = "intervention_children"

    intervention_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    living_situation: Mapped[str | None] = mapped_column(String(16), default=None)
    placement_type: Mapped[str | None] = mapped_column(String(4), default=None)

    __table_args__ = (Index("ix_intervention_children_child_id", "child_id"),)


class FollowupFact(Base):
    """`followup.recorded`: keyed by the follow-up id (a corrected result replaces the first) or the event id."""

    __tablename__ = "followups"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(index=True)
    intervention_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    checkpoint_months: Mapped[int | None] = mapped_column(Integer, default=None)
    living_situation: Mapped[str] = mapped_column(String(16))
    re_referred: Mapped[bool] = mapped_column(Boolean)
    observed_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --------------------------------------------------------------------------------------------- the ledger


class LedgerEntry(Base):
    """One child's position in one financial year (domain.ledger.ChildPosition)."""

    __tablename__ = "ledger_entries"

    fy: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    closed: Mapped[bool] = mapped_column(Boolean)
    diverted: Mapped[bool] = mapped_column(Boolean)
    credited_intervention_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    credited_programme: Mapped[str | None] = mapped_column(String(32), default=None)
    credited_started_on: Mapped[date | None] = mapped_column(Date, default=None)
    daily_rate: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    annual_cost_avoided: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    full_year: Mapped[Decimal] = mapped_column(Money())
    in_year: Mapped[Decimal] = mapped_column(Money())
    high_cost: Mapped[bool] = mapped_column(Boolean)
    breakdown_on: Mapped[date | None] = mapped_column(Date, default=None)
    breakdown_situation: Mapped[str | None] = mapped_column(String(16), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_ledger_entries_child_id", "child_id"),
        # The year's breakdowns, read by every summary: a partial covering index (an index-only scan, no heap).
        Index("ix_ledger_entries_breakdowns", "fy", "breakdown_on", "child_id",
              postgresql_include=["breakdown_situation"], postgresql_where=text("breakdown_on IS NOT NULL"),
              sqlite_where=text("breakdown_on IS NOT NULL")),
        Index("ix_ledger_entries_fy_high_cost", "fy", "high_cost"),
    )


class LedgerFamily(Base):
    """A family served by an intervention started in the year."""

    __tablename__ = "ledger_families"

    fy: Mapped[int] = mapped_column(Integer, primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class LedgerYear(Base):
    """The sum of a year's entries (domain.ledger.YearTotals): what GET /finance/summary/{fy} reads."""

    __tablename__ = "ledger_years"

    fy: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    families_served: Mapped[int] = mapped_column(Integer, default=0)
    children_served: Mapped[int] = mapped_column(Integer, default=0)
    children_closed: Mapped[int] = mapped_column(Integer, default=0)
    children_diverted: Mapped[int] = mapped_column(Integer, default=0)
    full_year: Mapped[Decimal] = mapped_column(Money(TOTAL, 2), default=Decimal(0))
    in_year: Mapped[Decimal] = mapped_column(Money(TOTAL, 2), default=Decimal(0))
    costed_children: Mapped[int] = mapped_column(Integer, default=0)
    costed_annual: Mapped[Decimal] = mapped_column(Money(TOTAL, 2), default=Decimal(0))
    high_cost_children: Mapped[int] = mapped_column(Integer, default=0)
    breakdowns: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerProgramme(Base):
    """Diverted children credited to a programme in a year, and their savings."""

    __tablename__ = "ledger_programmes"

    fy: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme: Mapped[str] = mapped_column(String(32), primary_key=True)
    children_diverted: Mapped[int] = mapped_column(Integer, default=0)
    full_year: Mapped[Decimal] = mapped_column(Money(TOTAL, 2), default=Decimal(0))
    in_year: Mapped[Decimal] = mapped_column(Money(TOTAL, 2), default=Decimal(0))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerState(Base):
    """One row: when the ledger was last rebuilt; also the row SQLite writes to take its write lock."""

    __tablename__ = "ledger_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rebuilt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    rebuilt_by: Mapped[str | None] = mapped_column(String(200), default=None)


# --------------------------------------------------------------------------------------------- audit


class AccessEntry(AccessLogMixin, Base):
    """Append-only: who read or changed which child's projection, and when (a trigger refuses UPDATE/DELETE)."""

    __tablename__ = "access_log"
