"""Request and response bodies of the public contract v1 (referral-svc)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from eoc_shared.api import IsoDate, StrictModel
from eoc_shared.text import Prose, Text
from eoc_shared.vocab import (
    ClosureReason,
    Ethnicity,
    LegalStatus,
    LivingSituation,
    PlacementType,
    Programme,
    ReferralSource,
    RiskFactor,
    Sex,
)
from referral_svc.domain.nhs_number import is_valid_nhs_number

_POSTCODE_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _district(v: str) -> str:
    v = v.strip().upper()
    if not _POSTCODE_DISTRICT.match(v):
        raise ValueError("must be the outward part of a UK postcode, e.g. LS6 or SW1A")
    return v


def _language(v: str) -> str:
    v = v.strip().lower()
    if not _LANGUAGE.match(v):
        raise ValueError("must be a two-letter ISO 639-1 language code, e.g. en")
    return v


def _nhs_number(v: str) -> str:
    digits = v.replace(" ", "")
    if not (len(digits) == 10 and digits.isdigit()):
        raise ValueError("must be 10 digits")
    if not is_valid_nhs_number(digits):
        raise ValueError("is not a valid NHS number (check digit does not match)")
    return digits


# Every text field follows contract v1.1's policy (eoc_shared.text): no controls, NFC; then its own rule.
Reference = Annotated[Text, Field(max_length=64)]
Note = Annotated[Prose, Field(min_length=1, max_length=2000), AfterValidator(_not_blank)]
PostcodeDistrict = Annotated[Text, Field(max_length=8), AfterValidator(_district)]
Language = Annotated[Text, Field(max_length=2, description="ISO 639-1 code, e.g. en, pl, ur"), AfterValidator(_language)]
NhsNumber = Annotated[Text, Field(max_length=16), AfterValidator(_nhs_number)]


class PatchModel(StrictModel):
    """A partial update: fields left out stay as they are; `null` is refused where a value is required."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _refuse_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, value in data.items():
                if value is None and name in cls.model_fields and name not in cls.nullable:
                    raise_null(name)
        return data

    @model_validator(mode="after")
    def _something(self) -> PatchModel:
        if not self.model_fields_set:
            raise ValueError("names no field to change")
        return self


def raise_null(name: str) -> None:
    from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

    raise ValidationError.from_exception_data(
        "PatchModel",
        [InitErrorDetails(type=PydanticCustomError("null_refused", "cannot be null; leave it out to keep it"),
                          loc=(name,), input=None)],
    )


class FamilyIn(StrictModel):
    la_reference: Reference
    postcode_district: PostcodeDistrict
    primary_language: Language
    interpreter_needed: StrictBool


class FamilyPatch(PatchModel):
    la_reference: Reference | None = None
    postcode_district: PostcodeDistrict | None = None
    primary_language: Language | None = None
    interpreter_needed: StrictBool | None = None


class FamilyOut(BaseModel):
    id: uuid.UUID
    la_reference: str
    postcode_district: str
    primary_language: str
    interpreter_needed: bool
    child_ids: list[uuid.UUID] = []
    created_at: datetime
    updated_at: datetime | None = None


class ChildIn(StrictModel):
    la_child_id: Reference
    given_name: Text
    family_name: Text
    date_of_birth: IsoDate
    sex: Sex
    ethnicity: Ethnicity
    legal_status: LegalStatus
    nhs_number: NhsNumber | None = None
    placement_type: PlacementType | None = None


class ChildPatch(PatchModel):
    """Changes to a child's details. `nhs_number: null` removes a wrong number; `placement_type: null` ends a
    placement. A change of legal status or placement takes effect on `effective_on` (default today)."""

    nullable: ClassVar[frozenset[str]] = frozenset({"nhs_number", "placement_type"})

    la_child_id: Reference | None = None
    given_name: Text | None = None
    family_name: Text | None = None
    date_of_birth: IsoDate | None = None
    sex: Sex | None = None
    ethnicity: Ethnicity | None = None
    legal_status: LegalStatus | None = None
    nhs_number: NhsNumber | None = None
    placement_type: PlacementType | None = None
    effective_on: IsoDate | None = None


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
    referral_ids: list[uuid.UUID] = []


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


class ProgrammeEligibility(BaseModel):
    programme: str
    eligible: bool
    reasons: list[str]


class EligibilityOut(BaseModel):
    recommended: str | None
    rule_version: int
    decided_at: datetime
    programmes: list[ProgrammeEligibility]


class ChildOutcomeOut(BaseModel):
    child_id: uuid.UUID
    living_situation: str
    placement_type: str | None = None


class InterventionOut(BaseModel):
    id: uuid.UUID
    referral_id: uuid.UUID
    family_id: uuid.UUID
    programme: str
    status: str
    started_on: date
    expected_end_on: date
    past_expected_end: bool = False  # active and past expected_end_on today (from the dates, when read)
    practitioner: str | None
    from_waiting_list: bool
    closed_on: date | None
    reason: str | None
    child_outcomes: list[ChildOutcomeOut] | None
    superseded_by: uuid.UUID | None
    created_at: datetime


class StartedOut(InterventionOut):
    superseded: list[uuid.UUID] = []


class WaitingOut(BaseModel):
    id: uuid.UUID
    status: str
    referral_id: uuid.UUID
    family_id: uuid.UUID
    programme: str
    position: int | None
    referred_on: date
    joined_on: date
    days_waiting: int
    requested_started_on: date
    intervention_id: uuid.UUID | None = None


class Waitlisted(WaitingOut):
    status: Literal["waitlisted"] = "waitlisted"


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


class ReferralSummary(BaseModel):
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


class ByStatusOut(BaseModel):
    team: str | None
    counts: dict[str, int]
    referrals: dict[str, list[ReferralSummary]]


class OverdueTimer(BaseModel):
    timer: str
    due_on: date
    days_overdue: int
    escalated_on: date | None


class OverdueOut(BaseModel):
    referral_id: uuid.UUID
    family_id: uuid.UUID
    status: str
    referred_on: date
    team: str | None
    child_ids: list[uuid.UUID]
    overdue: list[OverdueTimer]


class ConsentIn(StrictModel):
    signed_on: IsoDate


class WithdrawIn(StrictModel):
    reason: Note


class InterventionIn(StrictModel):
    programme: Programme
    started_on: IsoDate
    practitioner: Text | None = Field(default=None, description="the practitioner's token subject")


class ChildOutcomeIn(StrictModel):
    child_id: uuid.UUID
    living_situation: LivingSituation
    placement_type: PlacementType | None = None


class CloseIn(StrictModel):
    closed_on: IsoDate
    reason: ClosureReason
    child_outcomes: list[ChildOutcomeIn] = Field(max_length=20)


class CapacityIn(StrictModel):
    capacity: StrictInt | None = Field(ge=0, le=100_000, description="active families; null removes the limit")


class DurationIn(StrictModel):
    months: StrictInt = Field(ge=1, le=60)


class ProgrammeOut(BaseModel):
    programme: str
    capacity: int | None
    duration_months: int
    active_families: int
    waiting: int
    updated_at: datetime | None
    updated_by: str | None


class TimersRunIn(StrictModel):
    as_of: IsoDate | None = None


class TimersRunOut(BaseModel):
    as_of: date
    consent_overdue: list[uuid.UUID]
    assessment_overdue: list[uuid.UUID]


_KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")


def _aware_datetime(value: Any) -> datetime:
    if not isinstance(value, str) or not _ISO_DATETIME.match(value):
        raise ValueError("must be an ISO 8601 date and time with its offset, e.g. 2024-05-01T14:30:00Z")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        raise ValueError("is not a real date and time") from exc


AwareDatetime = Annotated[datetime, BeforeValidator(_aware_datetime)]


def _kind(value: str) -> str:
    if not _KIND.match(value):
        raise ValueError("must be a lower-case code of letters, digits, '_', '-' or '.', e.g. arrest or missing_episode")
    return value


class FeedChildIn(StrictModel):
    la_child_id: Reference | None = None
    nhs_number: NhsNumber | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> FeedChildIn:
        if self.la_child_id is None and self.nhs_number is None:
            raise ValueError("must give la_child_id or nhs_number")
        return self


class FeedEventIn(StrictModel):
    external_id: Annotated[Text, Field(max_length=128)]
    occurred_at: AwareDatetime
    child: FeedChildIn
    kind: Annotated[Text, Field(max_length=64), AfterValidator(_kind)]
    summary: Prose | None = None


class FeedAccepted(BaseModel):
    id: uuid.UUID
    status: Literal["accepted"] = "accepted"
    duplicate: bool


class ReviewItem(BaseModel):
    id: uuid.UUID
    source: str
    external_id: str
    kind: str
    occurred_at: datetime
    summary: str | None
    la_child_id: str | None
    nhs_number: str | None
    status: str
    review_reason: str | None
    child_id: uuid.UUID | None
    received_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None


class ResolveIn(StrictModel):
    child_id: uuid.UUID
    note: Note | None = None


class DismissIn(StrictModel):
    note: Note


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    source: str
    summary: str | None = None
    ref: str


class AuditOut(BaseModel):
    at: datetime
    actor: str
    role: str
    action: str
    child_id: uuid.UUID
    request_id: str | None = None


# --------------------------------------------------------------------------------------------- feed batches (v1.1)

FEED_BATCH_MAX = 1000


class FeedBatchIn(StrictModel):
    """Each event is checked on its own against `FeedEventIn`, so one bad event refuses only itself."""

    events: Annotated[list[Any], Field(min_length=1, max_length=FEED_BATCH_MAX)]


class FeedFieldError(BaseModel):
    field: str
    message: str


class FeedResult(BaseModel):
    external_id: str | None
    status: Literal["accepted", "duplicate", "invalid"]
    id: uuid.UUID | None = None
    errors: list[FeedFieldError] | None = None


class FeedBatchOut(BaseModel):
    results: list[FeedResult]
