"""Events eligibility-svc consumes: each new referral is decided, and decided again when its children,
risk factors or threshold change (a new decision; the old one is kept)."""

from __future__ import annotations

from eligibility_svc import decisions
from eoc_shared.db import UnitOfWork
from eoc_shared.events.bus import Consumers
from eoc_shared.events.envelope import Envelope
from eoc_shared.events.schemas import ReferralCreated, ReferralUpdated


async def on_referral_created(uow: UnitOfWork, event: Envelope, payload: ReferralCreated) -> None:
    await decisions.decide_referral(uow, event, payload)


async def on_referral_updated(uow: UnitOfWork, event: Envelope, payload: ReferralUpdated) -> None:
    if decisions.should_decide_again(payload):
        await decisions.decide_referral(uow, event, payload)


def register(consumers: Consumers) -> None:
    consumers.subscribe("referral.created", on_referral_created)
    consumers.subscribe("referral.updated", on_referral_updated)
