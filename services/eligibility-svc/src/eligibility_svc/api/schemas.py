"""Request and response bodies of eligibility-svc (contract v1)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field, StrictBool, StrictInt, field_validator

from eoc_shared.api import IsoDate, StrictModel

LEGAL_STATUSES = ("NONE", "CIN", "CPP", "LAC")
RISK_FACTORS = (
    "behaviour", "offending", "school_exclusion", "physical_abuse", "neglect", "emotional_abuse",
    "sexual_abuse_active", "sexual_harm", "psychosis", "domestic_abuse", "substance_misuse", "exploitation",
    "family_breakdown", "parental_mental_health",
)


class ChildIn(StrictModel):
    age_years: StrictInt = Field(ge=0, le=25, description="whole years")
    legal_status: str

    @field_validator("legal_status")
    @classmethod
    def _status(cls, v: str) -> str:
        if v not in LEGAL_STATUSES:
            raise ValueError(f"must be one of {', '.join(LEGAL_STATUSES)}")
        return v


class AssessmentIn(StrictModel):
    children: list[ChildIn] = Field(min_length=1, max_length=20)
    risk_factors: list[str] = Field(max_length=len(RISK_FACTORS))
    threshold_for_removal_met: StrictBool
    as_of: IsoDate | None = None

    @field_validator("risk_factors")
    @classmethod
    def _factors(cls, v: list[str]) -> list[str]:
        unknown = [f for f in v if f not in RISK_FACTORS]
        if unknown:
            raise ValueError(f"unknown risk factor(s) {', '.join(unknown)}; known: {', '.join(RISK_FACTORS)}")
        if len(set(v)) != len(v):
            raise ValueError("names the same risk factor more than once")
        return v


class ProgrammeOut(BaseModel):
    programme: str
    eligible: bool
    reasons: list[str]


class AssessmentOut(BaseModel):
    rule_version: int
    recommended: str | None
    programmes: list[ProgrammeOut]


class DecisionOut(AssessmentOut):
    referral_id: uuid.UUID
    decision_id: uuid.UUID
    decided_at: datetime
