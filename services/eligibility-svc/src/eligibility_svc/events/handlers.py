"""Events eligibility-svc consumes: each new referral is decided, and decided again when its children,
risk factors or threshold change (a new decision; the old one is kept)."""

from __future__ import annotations

from eligibility_svc import decisions
from eoc_shared.db import UnitOfWork
from eoc_shared.events.bus import Consumers
from eoc_shared.events.envelope import Envelope
from eoc_shared.events.schemas import InterventionClosed, InterventionStarted, ReferralCreated, ReferralUpdated


async def on_referral_created(uow: UnitOfWork, event: Envelope, payload: ReferralCreated) -> None:
    await decisions.decide_referral(uow, event, payload)


async def on_referral_updated(uow: UnitOfWork, event: Envelope, payload: ReferralUpdated) -> None:
    await decisions.decide_referral(uow, event, payload)


async def on_intervention(uow: UnitOfWork, event: Envelope, payload: InterventionStarted | InterventionClosed) -> None:
    await decisions.note_practitioner(uow, payload.referral_id, payload.practitioner)


def register(consumers: Consumers) -> None:
    consumers.subscribe("referral.created", on_referral_created)
    # Most updates (a status change, the decision's own) change nothing a decision is made from: they cost no
    # transaction here; on the decision path every referral's decision comes back as one.
    consumers.subscribe("referral.updated", on_referral_updated, relevant=decisions.should_decide_again)
    consumers.subscribe("intervention.started", on_intervention)
    consumers.subscribe("intervention.closed", on_intervention)
