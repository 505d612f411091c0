"""Bodies for the social workers' work lists: referrals by status, and referrals with overdue timers."""

from __future__ import annotations

import uuid
from datetime import date

from referral_svc.api.schemas.fields import ReadModel
from referral_svc.api.schemas.referrals import ReferralSummary


class ByStatusOut(ReadModel):
    team: str | None
    counts: dict[str, int]
    referrals: dict[str, list[ReferralSummary]]


class OverdueTimer(ReadModel):
    timer: str
    due_on: date
    days_overdue: int
    escalated_on: date | None


class OverdueOut(ReadModel):
    referral_id: uuid.UUID
    family_id: uuid.UUID
    status: str
    referred_on: date
    team: str | None
    child_ids: list[uuid.UUID]
    overdue: list[OverdueTimer]
