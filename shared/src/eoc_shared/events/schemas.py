"""Event payloads: thin, versioned, no direct identifiers (no names, dates of birth, NHS numbers, addresses).

Within a version, changes are additive only. `CATALOGUE` maps each topic to its current
version and payload model; topic names live here and nowhere else.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class EventPayload(BaseModel):
    # Producers are strict; consumers accept additive fields from newer producers of the same version.
    model_config = ConfigDict(extra="ignore", frozen=True)


class ChildFacts(EventPayload):
    child_id: uuid.UUID
    age_years: int = Field(ge=0, le=30)
    legal_status: str
    placement_type: str | None = None


class ReferralCreated(EventPayload):
    referral_id: uuid.UUID
    family_id: uuid.UUID
    referred_on: date
    source: str
    risk_factors: list[str]
    threshold_for_removal_met: bool
    requested_programme: str | None = None
    children: list[ChildFacts] = Field(min_length=1)


class ReferralUpdated(EventPayload):
    referral_id: uuid.UUID
    family_id: uuid.UUID
    status: str
    changed: list[str]
    referred_on: date
    risk_factors: list[str]
    threshold_for_removal_met: bool
    children: list[ChildFacts] = Field(min_length=1)


class ChildUpdated(EventPayload):
    child_id: uuid.UUID
    family_id: uuid.UUID
    legal_status_before: str
    legal_status: str
    placement_type_before: str | None = None
    placement_type: str | None = None
    effective_on: date


class ChildOutcome(EventPayload):
    child_id: uuid.UUID
    living_situation: str
    placement_type: str | None = None


class InterventionStarted(EventPayload):
    intervention_id: uuid.UUID
    referral_id: uuid.UUID
    family_id: uuid.UUID
    child_ids: list[uuid.UUID]
    programme: str
    started_on: date
    expected_end_on: date
    #: the practitioner's user id (their token subject), so that other services scope their case reads to them
    practitioner: str | None = None


class InterventionClosed(EventPayload):
    intervention_id: uuid.UUID
    referral_id: uuid.UUID
    family_id: uuid.UUID
    child_ids: list[uuid.UUID]
    programme: str
    started_on: date
    closed_on: date
    reason: str
    child_outcomes: list[ChildOutcome]
    #: the practitioner's user id (their token subject), so that outcomes-svc can let them follow up their own cases
    practitioner: str | None = None


class ConsentOverdue(EventPayload):
    referral_id: uuid.UUID
    family_id: uuid.UUID
    consent_due_on: date
    as_of: date


class AssessmentOverdue(EventPayload):
    referral_id: uuid.UUID
    family_id: uuid.UUID
    assessment_due_on: date
    as_of: date


class PartnerEventReceived(EventPayload):
    partner_event_id: uuid.UUID
    child_id: uuid.UUID
    source: str
    kind: str
    occurred_at: datetime


class ProgrammeDecision(EventPayload):
    programme: str
    eligible: bool
    reasons: list[str]


class EligibilityDecided(EventPayload):
    referral_id: uuid.UUID
    decision_id: uuid.UUID
    rule_version: int
    recommended: str | None
    programmes: list[ProgrammeDecision]
    decided_at: datetime


class FollowupDue(EventPayload):
    followup_id: uuid.UUID
    child_id: uuid.UUID
    intervention_id: uuid.UUID
    checkpoint_months: int
    due_on: date


class FollowupRecorded(EventPayload):
    followup_id: uuid.UUID | None = None
    child_id: uuid.UUID
    intervention_id: uuid.UUID | None = None
    checkpoint_months: int | None = None
    living_situation: str
    re_referred: bool
    observed_on: date


class ProjectionUpdated(EventPayload):
    child_id: uuid.UUID
    placement_type: str
    daily_rate: Decimal
    annual_cost_avoided: Decimal
    status: str
    version: int


class PreProceedingsStarted(EventPayload):
    """Pre-proceedings began for a referral: the FGDM offers fall due on `offer_due_on`."""

    pre_proceedings_id: uuid.UUID
    referral_id: uuid.UUID
    family_id: uuid.UUID
    child_ids: list[uuid.UUID]
    started_on: date
    offer_due_on: date


class FgdmOffered(EventPayload):
    pre_proceedings_id: uuid.UUID
    referral_id: uuid.UUID
    offer_id: uuid.UUID
    party_id: uuid.UUID
    relationship: str
    child_ids: list[uuid.UUID]
    offered_on: date
    in_letter_before_proceedings: bool


class FgdmResponded(EventPayload):
    pre_proceedings_id: uuid.UUID
    referral_id: uuid.UUID
    offer_id: uuid.UUID
    party_id: uuid.UUID
    response: str
    responded_on: date


class FgdmMeetingHeld(EventPayload):
    pre_proceedings_id: uuid.UUID
    referral_id: uuid.UUID
    meeting_id: uuid.UUID
    held_on: date
    outcome: str
    child_participation: str
    network_attendees: dict[str, int]
    intervention_id: uuid.UUID | None = None


class FgdmOfferOverdue(EventPayload):
    pre_proceedings_id: uuid.UUID
    referral_id: uuid.UUID
    offer_due_on: date
    as_of: date
    parties_not_offered: int


class CareApplicationMade(EventPayload):
    """An application for a care or supervision order: a signal on the children's follow-ups, not a care entry."""

    pre_proceedings_id: uuid.UUID
    referral_id: uuid.UUID
    family_id: uuid.UUID
    application_id: uuid.UUID
    child_ids: list[uuid.UUID]
    applied_on: date
    order: str
    urgent: bool
    fgdm_compliant: bool


@dataclass(frozen=True)
class EventSpec:
    topic: str
    version: int
    model: type[EventPayload]
    summary: str

    @property
    def type(self) -> str:
        return f"{self.topic}.v{self.version}"

    @property
    def dlq(self) -> str:
        return f"{self.topic}.dlq"


_SPECS = [
    EventSpec("referral.created", 1, ReferralCreated, "A referral was received for one or more children of a family."),
    EventSpec("referral.updated", 1, ReferralUpdated, "A referral's status, children or risk factors changed."),
    EventSpec("child.updated", 1, ChildUpdated, "A child's legal status or placement changed."),
    EventSpec("intervention.started", 1, InterventionStarted, "A family started an edge-of-care programme."),
    EventSpec("intervention.closed", 1, InterventionClosed, "An intervention closed, with each child's living situation."),
    EventSpec("consent.overdue", 1, ConsentOverdue, "Consent was not signed within 14 days: escalate to legal and social work."),
    EventSpec("assessment.overdue", 1, AssessmentOverdue, "The eligibility assessment passed its 10-working-day deadline."),
    EventSpec("partner.event.received", 1, PartnerEventReceived, "A partner agency reported an event about a child."),
    EventSpec("eligibility.decided", 1, EligibilityDecided, "Eligibility was decided for a referral, with reasons."),
    EventSpec("followup.due", 1, FollowupDue, "A follow-up checkpoint fell due."),
    EventSpec("followup.recorded", 1, FollowupRecorded, "A follow-up result or a detected care entry / re-referral was recorded."),
    EventSpec("projection.updated", 1, ProjectionUpdated, "A child's projected placement cost avoided changed."),
    EventSpec("pre_proceedings.started", 1, PreProceedingsStarted, "Pre-proceedings began for a referral (s31ZA FGDM duty)."),
    EventSpec("fgdm.offered", 1, FgdmOffered, "A family group decision-making meeting was offered to a party."),
    EventSpec("fgdm.responded", 1, FgdmResponded, "A party answered an FGDM offer."),
    EventSpec("fgdm.meeting_held", 1, FgdmMeetingHeld, "A family group decision-making meeting was held."),
    EventSpec("fgdm.offer_overdue", 1, FgdmOfferOverdue, "FGDM offers were not made within 5 working days of pre-proceedings starting."),
    EventSpec("care_application.made", 1, CareApplicationMade, "The authority applied for a care or supervision order."),
]

CATALOGUE: dict[str, EventSpec] = {spec.topic: spec for spec in _SPECS}


def spec_for(topic: str) -> EventSpec:
    return CATALOGUE[topic]
