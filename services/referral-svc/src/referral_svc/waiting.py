"""A referral's places on programme waiting lists as read: the entry, its position and the days waited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from eoc_shared.clock import today
from eoc_shared.db import UnitOfWork
from referral_svc.db.models import WaitingEntry
from referral_svc.db.repositories import WaitingList
from referral_svc.domain.interventions import days_waiting, order_waiting_list


@dataclass(frozen=True)
class WaitingPlace:
    """One waiting-list entry with what is computed when it is read; `position` only while still waiting."""

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
    intervention_id: uuid.UUID | None


def place_of(entry: WaitingEntry, position: int | None) -> WaitingPlace:
    """Days waiting run to today while the family waits, else to the day it left the list."""
    joined_on = entry.joined_at.date()
    until = today() if entry.status == "waiting" else (entry.left_at or entry.joined_at).date()
    return WaitingPlace(
        id=entry.id, status=entry.status, referral_id=entry.referral_id, family_id=entry.family_id,
        programme=entry.programme, position=position, referred_on=entry.referred_on, joined_on=joined_on,
        days_waiting=days_waiting(joined_on, until), requested_started_on=entry.requested_started_on,
        intervention_id=entry.intervention_id,
    )


async def position_of(uow: UnitOfWork, entry: WaitingEntry) -> int | None:
    if entry.status != "waiting":
        return None
    ordered = order_waiting_list(await WaitingList(uow.session).waiting(entry.programme))
    return next((i + 1 for i, e in enumerate(ordered) if e.id == entry.id), None)


async def current_place(uow: UnitOfWork, entry: WaitingEntry) -> WaitingPlace:
    return place_of(entry, await position_of(uow, entry))
