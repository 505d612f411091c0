"""Bodies for referrals: making one, reading it (full or as a summary) and withdrawing it."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field, StrictBool, field_validator

from eoc_shared.api import IsoDate, StrictModel
from eoc_shared.vocab import Programme, ReferralSource, RiskFactor
from referral_svc.api.schemas.assessment import EligibilityOut
from referral_svc.api.schemas.fields import Note, ReadModel, Reference
from referral_svc.api.schemas.interventions import InterventionOut, WaitingOut


class ReferralIn(StrictModel):
    family_id: uuid.UUID
    child_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)
    referred_on: IsoDate
    source: ReferralSource
    risk_factors: list[RiskFactor] = Field(max_length=len(RiskFactor))
    threshold_for_removal_met: StrictBool
    requested_programme: Programme | None = None
    team: Reference | None = Field(default=None, description="the team holding the case, e.g. 'North'")

    @field_validator("child_ids")
    @classmethod
    def _distinct_children(cls, v: list[uuid.UUID]) -> list[uuid.UUID]:
        if len(set(v)) != len(v):
            raise ValueError("names the same child more than once")
        return v

    @field_validator("risk_factors")
    @classmethod
    def _distinct_factors(cls, v: list[RiskFactor]) -> list[RiskFactor]:
        if len(set(v)) != len(v):
            raise ValueError("names the same risk factor more than once")
        return v


class ReferralOut(ReadModel):
    id: uuid.UUID
    status: str
    family_id: uuid.UUID
    child_ids: list[uuid.UUID]
    referred_on: date
    source: str
    risk_factors: list[str]
    threshold_for_removal_met: bool
    requested_programme: str | None
    team: str | None = None
    consent_due_on: date
    assessment_due_on: date
    consent_signed_on: date | None
    consent_overdue: bool = False  # today, from the dates (when read)
    assessment_overdue: bool = False
    consent_overdue_escalated_on: date | None = None
    assessment_overdue_escalated_on: date | None = None
    eligibility: EligibilityOut | None
    interventions: list[InterventionOut] = []
    waiting: list[WaitingOut] = []
    withdrawn_reason: str | None = None
    created_at: datetime
    updated_at: datetime


class ReferralSummary(ReadModel):
    id: uuid.UUID
    status: str
    family_id: uuid.UUID
    child_ids: list[uuid.UUID]
    referred_on: date
    team: str | None
    consent_due_on: date
    consent_signed_on: date | None
    assessment_due_on: date
    recommended: str | None
    consent_overdue: bool = False  # today, from the dates (when read)
    assessment_overdue: bool = False


class WithdrawIn(StrictModel):
    reason: Note
