"""Bodies for consent, the eligibility decision that ends the assessment, and the consent and assessment timers."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from eoc_shared.api import IsoDate, StrictModel
from referral_svc.api.schemas.fields import ReadModel


class ConsentIn(StrictModel):
    signed_on: IsoDate


class ProgrammeEligibility(ReadModel):
    programme: str
    eligible: bool
    reasons: list[str]


class EligibilityOut(ReadModel):
    recommended: str | None
    rule_version: int
    decided_at: datetime
    programmes: list[ProgrammeEligibility]


class TimersRunIn(StrictModel):
    as_of: IsoDate | None = None


class TimersRunOut(ReadModel):
    as_of: date
    consent_overdue: list[uuid.UUID]
    assessment_overdue: list[uuid.UUID]
