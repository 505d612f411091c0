"""Care applications seen on the bus (care_application.made): a signal on a child's follow-ups, not a care
entry — the order may never be made, so nothing here changes a follow-up's outcome."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eoc_shared.db import UTCDateTime
from outcomes_svc.db.models import Base


class CareApplicationSeen(Base):
    __tablename__ = "care_applications_seen"
    __table_args__ = (
        UniqueConstraint("application_id", "child_id", name="uq_care_applications_seen_application_child"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    application_id: Mapped[uuid.UUID]
    child_id: Mapped[uuid.UUID] = mapped_column(index=True)
    referral_id: Mapped[uuid.UUID]
    applied_on: Mapped[date] = mapped_column(Date)
    order: Mapped[str] = mapped_column(String(12))
    urgent: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
