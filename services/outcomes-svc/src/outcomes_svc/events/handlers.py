"""Events outcomes-svc consumes: closures start the follow-ups; the rest is detection."""

from __future__ import annotations

from eoc_shared.db import UnitOfWork
from eoc_shared.events.bus import Consumers
from eoc_shared.events.envelope import Envelope
from eoc_shared.events.schemas import (
    CareApplicationMade,
    ChildUpdated,
    InterventionClosed,
    PartnerEventReceived,
    ReferralCreated,
)
from outcomes_svc import care_applications, detecting, tracking
from outcomes_svc.domain.signals import is_custody


async def on_intervention_closed(uow: UnitOfWork, event: Envelope, payload: InterventionClosed) -> None:
    await tracking.record_closure(uow, payload)


async def on_referral_created(uow: UnitOfWork, event: Envelope, payload: ReferralCreated) -> None:
    await detecting.on_referral_created(uow, payload)


async def on_child_updated(uow: UnitOfWork, event: Envelope, payload: ChildUpdated) -> None:
    await detecting.on_child_updated(uow, payload)


async def on_partner_event_received(uow: UnitOfWork, event: Envelope, payload: PartnerEventReceived) -> None:
    await detecting.on_partner_event(uow, payload)


async def on_care_application_made(uow: UnitOfWork, event: Envelope, payload: CareApplicationMade) -> None:
    await care_applications.on_care_application_made(uow, payload)


def register(consumers: Consumers) -> None:
    consumers.subscribe("intervention.closed", on_intervention_closed)
    consumers.subscribe("referral.created", on_referral_created)
    consumers.subscribe("child.updated", on_child_updated)
    # Only custody matters here; the rest of a partner's feed (attendance, health contacts…) costs no transaction.
    consumers.subscribe("partner.event.received", on_partner_event_received,
                        relevant=lambda payload: is_custody(payload.kind))
    consumers.subscribe("care_application.made", on_care_application_made)
