"""Request and response bodies of eligibility-svc (contract v1, plus additive fields)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from eligibility_svc.domain.ruleset import MAX_AGE, MIN_AGE, RISK_FACTORS, LegalStatus, RiskFactor
from eoc_shared.api import IsoDate, StrictModel


class ChildIn(StrictModel):
    age_years: StrictInt = Field(ge=MIN_AGE, le=MAX_AGE, description="whole years")
    legal_status: LegalStatus


class AssessmentIn(StrictModel):
    children: list[ChildIn] = Field(min_length=1, max_length=20)
    risk_factors: list[RiskFactor] = Field(max_length=len(RISK_FACTORS))
    threshold_for_removal_met: StrictBool
    as_of: IsoDate | None = Field(default=None, description="the date whose rule set applies (default: today)")

    @field_validator("risk_factors")
    @classmethod
    def _once_each(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("names the same risk factor more than once")
        return v


class ProgrammeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    programme: str
    eligible: bool
    reasons: list[str]


class AssessmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    rule_version: int
    recommended: str | None
    programmes: list[ProgrammeOut]
    as_of: date | None = None


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    referral_id: uuid.UUID
    decision_id: uuid.UUID = Field(validation_alias=AliasChoices("decision_id", "id"))
    decided_at: datetime
    rule_version: int
    recommended: str | None
    programmes: list[ProgrammeOut]
    trigger: str = Field(description="the event that caused this decision: referral.created or referral.updated")
    inputs: dict[str, Any] = Field(description="the facts decided on: children (ages, legal status), risk factors, threshold, as_of")


class RuleSetSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    effective_from: date
    description: str | None
    programmes: list[str]
    created_at: datetime
    created_by: str
    in_force: bool = Field(description="the rule set in force today")


class NoIntensiveOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    referrals: int = Field(description="referrals eligible for no intensive programme")
    share: float | None = Field(description="of the referrals decided, as a fraction from 0 to 1")
    reasons: dict[str, int] = Field(description="reason → referrals giving it (a referral counts once per reason)")
    by_programme: dict[str, dict[str, int]] = Field(description="intensive programme → reason → referrals")


class ReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    financial_year: int
    label: str
    period_start: date
    period_end: date
    referrals_decided: int
    eligible_per_programme: dict[str, int]
    recommended: dict[str, int]
    intensive_programmes: list[str]
    no_intensive_programme: NoIntensiveOut
    rule_versions: dict[str, int]
