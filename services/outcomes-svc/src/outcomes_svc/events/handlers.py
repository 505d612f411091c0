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
    consumers.subscribe("child.updated", on_child_updated, relevant=detecting.acts_on_child_update)
    # The rest of a partner's feed (attendance, health contacts…) costs no transaction here.
    consumers.subscribe("partner.event.received", on_partner_event_received, relevant=detecting.acts_on_partner_event)
    consumers.subscribe("care_application.made", on_care_application_made)
