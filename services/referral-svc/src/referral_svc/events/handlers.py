"""Events referral-svc consumes."""

from __future__ import annotations

from eoc_shared.db import UnitOfWork
from eoc_shared.events.bus import Consumers
from eoc_shared.events.envelope import Envelope
from eoc_shared.events.schemas import EligibilityDecided, FollowupDue
from referral_svc import assessment, case_history


async def on_eligibility_decided(uow: UnitOfWork, event: Envelope, payload: EligibilityDecided) -> None:
    await assessment.apply_eligibility_decision(uow, payload, event.source)


async def on_followup_due(uow: UnitOfWork, event: Envelope, payload: FollowupDue) -> None:
    await case_history.record_followup_due(uow, payload)


def register(consumers: Consumers) -> None:
    consumers.subscribe("eligibility.decided", on_eligibility_decided)
    consumers.subscribe("followup.due", on_followup_due)
