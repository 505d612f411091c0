"""Request bodies (strict: unknown fields refused, no coercion) and answers of outcomes-svc."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, PlainSerializer, StrictBool

from eoc_shared.api import IsoDate, StrictModel
from eoc_shared.vocab import LivingSituation
from outcomes_svc.domain.outcome_terms import FollowupStatus

#: A rate or share: a fraction 0–1 (already rounded half up to 4 places), a JSON number.
Rate = Annotated[Decimal, PlainSerializer(lambda d: float(d), return_type=float, when_used="json")]


class ResultIn(StrictModel):
    observed_on: IsoDate
    living_situation: LivingSituation
    re_referred: StrictBool


class SchedulerRunIn(StrictModel):
    as_of: IsoDate | None = None


class SchedulerRunOut(BaseModel):
    as_of: date
    due: int
    overdue: int


class FollowupOut(BaseModel):
    id: uuid.UUID
    checkpoint_months: int
    due_on: date
    status: FollowupStatus
    living_situation: LivingSituation | None = None
    re_referred: bool | None = None
    child_id: uuid.UUID
    intervention_id: uuid.UUID
    programme: str | None = None
    closed_on: date | None = None
    observed_on: date | None = None
    recorded_source: str | None = None
    re_referred_on: date | None = None
    care_entry_on: date | None = None
    care_entry_kind: str | None = None
    days_since_due: int | None = None
    care_application_on: date | None = None


class ClosureOut(BaseModel):
    intervention_id: uuid.UUID
    referral_id: uuid.UUID
    programme: str
    started_on: date
    closed_on: date
    reason: str
    checkpoint_months: int
    living_situation: LivingSituation
    placement_type: str | None = None
    financial_year: int


class SignalOut(BaseModel):
    kind: str
    occurred_on: date
    source: str
    referral_id: uuid.UUID | None = None


class ChildRecordOut(BaseModel):
    child_id: uuid.UUID
    closures: list[ClosureOut]
    followups: list[FollowupOut]
    signals: list[SignalOut]


class CheckpointEvidence(BaseModel):
    fallen_due: int
    recorded: int
    sustained: int
    not_recorded: int
    rate: Rate | None
    ci95: list[Rate] | None


class SummaryOut(BaseModel):
    financial_year: int
    label: str
    as_of: date
    children_closed: int
    at_home_at_closure: int
    success_rate: Rate | None
    sustained: dict[str, Rate | None]
    evidence: dict[str, CheckpointEvidence]


class ProgrammeFigures(BaseModel):
    programme: str
    children_closed: int
    at_home_at_closure: int
    success_rate: Rate | None
    sustained: dict[str, Rate | None]
    evidence: dict[str, CheckpointEvidence]


class ProgrammeSummaryOut(BaseModel):
    financial_year: int
    label: str
    as_of: date
    programmes: list[ProgrammeFigures]


class SurvivalStep(BaseModel):
    time_months: float
    at_risk: int
    events: int
    censored: int
    survival: float
    std_error: float | None


class SurvivalMonth(BaseModel):
    month: int
    at_risk: int
    survival: float


class SurvivalOut(BaseModel):
    programme: str | None
    financial_year: int | None
    as_of: date
    event: str
    children: int
    events: int
    censored: int
    median_months: float | None
    steps: list[SurvivalStep]
    monthly: list[SurvivalMonth]


class AccessOut(BaseModel):
    at: datetime
    actor: str
    role: str
    action: str
    child_id: uuid.UUID
    request_id: str | None = None
