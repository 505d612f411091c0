"""Partner agency feeds: police, health, education and youth justice post events about children.

Accepted once per (source, external_id); matched to a child by la_child_id or NHS number; an event
that cannot be matched safely waits in a review queue for a team manager, and is never dropped.
The partner is told only that the event was accepted, never whether a child matched: a feed must
not become a way to ask who is known to children's services.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from eoc_shared.acting import Acting
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.errors import Conflict, Invalid, NotFound
from eoc_shared.events.schemas import PartnerEventReceived
from referral_svc.db.models import PartnerEvent
from referral_svc.db.repositories import AuditLog, Children, PartnerEvents

CLOCK_SKEW = timedelta(minutes=5)


def _announce(uow: UnitOfWork, event: PartnerEvent) -> None:
    """Thin: child, source, kind and when — never the summary."""
    uow.publish("partner.event.received", key=event.child_id, data=PartnerEventReceived(  # type: ignore[arg-type]  # matched events only
        partner_event_id=event.id, child_id=event.child_id, source=event.source, kind=event.kind,
        occurred_at=event.occurred_at,
    ))


async def review_queue(
    uow: UnitOfWork, *, status: str, source: str | None, limit: int, offset: int
) -> Sequence[PartnerEvent]:
    return await PartnerEvents(uow.session).by_status(status, source=source, limit=limit, offset=offset)


async def resolve(uow: UnitOfWork, event_id: uuid.UUID, child_id: uuid.UUID, note: str | None,
                  acting: Acting) -> PartnerEvent:
    """A team manager assigns an unmatched event to the child it is about; it then reaches the timeline
    and outcomes like any matched event."""
    event = await _in_review(uow, event_id)
    child = await Children(uow.session).get(child_id)
    if child is None:
        raise Invalid(f"there is no child {child_id}", field="child_id")
    event.child_id, event.status = child.id, "resolved"
    event.resolved_at, event.resolved_by, event.resolution_note = utcnow(), acting.actor, note
    _announce(uow, event)
    AuditLog(uow.session).record(acting, "partner_event.assigned", [child.id])
    return event


async def dismiss(uow: UnitOfWork, event_id: uuid.UUID, note: str, acting: Acting) -> PartnerEvent:
    """Not about any child of ours: kept, with who decided and why, but no longer waiting for review."""
    event = await _in_review(uow, event_id)
    event.status = "dismissed"
    event.resolved_at, event.resolved_by, event.resolution_note = utcnow(), acting.actor, note
    return event


async def _in_review(uow: UnitOfWork, event_id: uuid.UUID) -> PartnerEvent:
    event = await PartnerEvents(uow.session).get(event_id, for_update=True)
    if event is None:
        raise NotFound(f"there is no partner event {event_id}")
    if event.status != "review":
        raise Conflict(f"the partner event is {event.status}, not waiting for review", event_status=event.status)
    return event
