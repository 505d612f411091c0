"""Events eligibility-svc consumes: each new or changed referral is decided."""

from __future__ import annotations

from eoc_shared.db import UnitOfWork
from eoc_shared.events.bus import Consumers
from eoc_shared.events.envelope import Envelope
from eoc_shared.events.schemas import ReferralCreated
from eligibility_svc import decisions


async def on_referral_created(uow: UnitOfWork, event: Envelope, payload: ReferralCreated) -> None:
    await decisions.decide_referral(uow, event, payload)


def register(consumers: Consumers) -> None:
    consumers.subscribe("referral.created", on_referral_created)
