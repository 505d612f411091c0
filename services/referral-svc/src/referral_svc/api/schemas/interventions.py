"""Bodies for interventions (start, close), programme waiting lists and each programme's ops settings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import Field, StrictInt

from eoc_shared.api import IsoDate, StrictModel
from eoc_shared.text import Text
from eoc_shared.vocab import ClosureReason, LivingSituation, PlacementType, Programme
from referral_svc.api.schemas.fields import ReadModel


class ChildOutcomeOut(ReadModel):
    child_id: uuid.UUID
    living_situation: str
    placement_type: str | None = None


class InterventionOut(ReadModel):
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


class WaitingOut(ReadModel):
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


class ProgrammeOut(ReadModel):
    programme: str
    capacity: int | None
    duration_months: int
    active_families: int
    waiting: int
    updated_at: datetime | None
    updated_by: str | None
