"""Request and response bodies of the public contract v1 (referral-svc)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StrictBool, StrictStr, field_validator

from eoc_shared.api import IsoDate, StrictModel
from referral_svc.domain.nhs_number import is_valid_nhs_number
from referral_svc.domain.vocab import (
    Ethnicity,
    LegalStatus,
    PlacementType,
    Programme,
    ReferralSource,
    RiskFactor,
    Sex,
)

_POSTCODE_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Text = Annotated[StrictStr, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]
Reference = Annotated[StrictStr, Field(min_length=1, max_length=64), AfterValidator(_not_blank)]


class FamilyIn(StrictModel):
    la_reference: Reference
    postcode_district: StrictStr
    primary_language: StrictStr = Field(description="ISO 639-1 code, e.g. en, pl, ur")
    interpreter_needed: StrictBool

    @field_validator("postcode_district")
    @classmethod
    def _district(cls, v: str) -> str:
        v = v.strip().upper()
        if not _POSTCODE_DISTRICT.match(v):
            raise ValueError("must be the outward part of a UK postcode, e.g. LS6 or SW1A")
        return v

    @field_validator("primary_language")
    @classmethod
    def _language(cls, v: str) -> str:
        v = v.strip().lower()
        if not _LANGUAGE.match(v):
            raise ValueError("must be a two-letter ISO 639-1 language code, e.g. en")
        return v


class FamilyOut(BaseModel):
    id: uuid.UUID
    la_reference: str
    postcode_district: str
    primary_language: str
    interpreter_needed: bool
    child_ids: list[uuid.UUID] = []
    created_at: datetime


class ChildIn(StrictModel):
    la_child_id: Reference
    given_name: Text
    family_name: Text
    date_of_birth: IsoDate
    sex: Sex
    ethnicity: Ethnicity
    legal_status: LegalStatus
    nhs_number: StrictStr | None = None
    placement_type: PlacementType | None = None

    @field_validator("nhs_number")
    @classmethod
    def _nhs(cls, v: str | None) -> str | None:
        if v is None:
            return None
        digits = v.replace(" ", "")
        if not (len(digits) == 10 and digits.isdigit()):
            raise ValueError("must be 10 digits")
        if not is_valid_nhs_number(digits):
            raise ValueError("is not a valid NHS number (check digit does not match)")
        return digits


class ChildOut(BaseModel):
    id: uuid.UUID
    family_id: uuid.UUID
    la_child_id: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: str
    ethnicity: str
    legal_status: str
    nhs_number: str | None
    placement_type: str | None
    created_at: datetime
    updated_at: datetime


class ReferralIn(StrictModel):
    family_id: uuid.UUID
    child_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)
    referred_on: IsoDate
    source: ReferralSource
    risk_factors: list[RiskFactor] = Field(max_length=len(RiskFactor))
    threshold_for_removal_met: StrictBool
    requested_programme: Programme | None = None

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


class ProgrammeEligibility(BaseModel):
    programme: str
    eligible: bool
    reasons: list[str]


class EligibilityOut(BaseModel):
    recommended: str | None
    rule_version: int
    decided_at: datetime
    programmes: list[ProgrammeEligibility]


class ReferralOut(BaseModel):
    id: uuid.UUID
    status: str
    family_id: uuid.UUID
    child_ids: list[uuid.UUID]
    referred_on: date
    source: str
    risk_factors: list[str]
    threshold_for_removal_met: bool
    requested_programme: str | None
    consent_due_on: date
    assessment_due_on: date
    consent_signed_on: date | None
    eligibility: EligibilityOut | None
    interventions: list[dict] = []
    created_at: datetime
    updated_at: datetime
