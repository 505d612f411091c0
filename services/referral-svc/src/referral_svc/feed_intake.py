"""Partner feed events taken in by the set, not one at a time: the batch endpoint, and the single endpoint's
group commit (many concurrent single events, one transaction).

The rules of a single partner event, applied to many events with a fixed number of statements:
accepted once per (source, external_id) — also when the same id comes twice in one batch, or when another
transaction stores it meanwhile (ON CONFLICT DO NOTHING, then answered as the duplicate it is); an event
that cannot be accepted refuses only itself; matched events are announced (`partner.event.received`, in
the outbox, in bulk) and audited. Nothing is answered before its transaction has committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from eoc_shared.acting import Acting
from eoc_shared.db import UnitOfWork, new_ids, utcnow
from referral_svc.db.feed_rows import FeedRows
from referral_svc.db.repositories import AuditLog
from referral_svc.domain.feeds import Candidate, Match, match_child
from referral_svc.partner_feeds import CLOCK_SKEW

Status = Literal["accepted", "duplicate", "invalid"]
RECEIVED = "partner_event.received"  # the audit action of an event received for a child


@dataclass(slots=True)
class IncomingEvent:
    """One partner event, already shaped (validated by the API's model). Not frozen: a batch makes a
    thousand of these, and a frozen dataclass sets each field through `object.__setattr__`."""

    source: str
    external_id: str
    occurred_at: datetime
    kind: str
    summary: str | None
    la_child_id: str | None
    nhs_number: str | None
    acting: Acting


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass(frozen=True)
class Outcome:
    status: Status
    id: uuid.UUID | None = None
    errors: tuple[FieldError, ...] = field(default=())


async def receive_many(uow: UnitOfWork, events: Sequence[IncomingEvent]) -> list[Outcome]:
    """Store the events not seen before; one outcome per event, in order. The caller commits, and writes nothing
    else in `uow`: on PostgreSQL a few events (the single endpoint's group) go in one statement, in autocommit.

    No lookup before the insert: new events (the usual case) are inserted with ON CONFLICT DO NOTHING,
    and only those the database skipped, or that would be refused, are looked up afterwards."""
    rows = FeedRows(uow.session)
    now = utcnow()
    outcomes: list[Outcome | None] = [None] * len(events)
    first_of: dict[tuple[str, str], int] = {}
    repeats: list[tuple[int, int]] = []
    fresh: list[int] = []
    future: list[int] = []
    latest = now + CLOCK_SKEW
    for i, event in enumerate(events):
        key = (event.source, event.external_id)
        if key in first_of:  # again within these events: answered as the first one turns out
            repeats.append((i, first_of[key]))
        elif event.occurred_at > latest:
            future.append(i)  # invalid, unless it repeats an event stored before (a repeat changes nothing)
        else:
            first_of[key] = i
            fresh.append(i)
    skipped: list[int] = []
    if fresh and rows.folds(len(fresh)):
        await uow.one_statement()
    if fresh:
        skipped = await _store(uow, rows, [events[i] for i in fresh], now, outcomes, fresh)
    if skipped or future:
        # Stored before, or by another transaction after these events arrived: each is that event's repeat.
        known = await rows.existing([(events[i].source, events[i].external_id) for i in (*skipped, *future)])
        for i in skipped:
            outcomes[i] = Outcome("duplicate", known.get((events[i].source, events[i].external_id)))
        for i in future:
            stored = known.get((events[i].source, events[i].external_id))
            outcomes[i] = Outcome("duplicate", stored) if stored is not None else \
                Outcome("invalid", errors=(FieldError("occurred_at", "is in the future"),))
    for i, first in repeats:
        # The first was stored here, or found stored already: the same id either way.
        settled = outcomes[first]
        outcomes[i] = Outcome("duplicate", settled.id if settled is not None else None)
    return [o if o is not None else Outcome("invalid") for o in outcomes]


def _announcement(event: IncomingEvent, event_id: uuid.UUID, child_id: Any) -> tuple[Any, str]:
    """`partner.event.received`'s (key, payload JSON) as `PartnerEventReceived(...).model_dump_json()` would give
    it, from values already checked: no model per event (a fifth of a batch's time when there was one), and no
    JSON encoder either — ids, the source (a FeedSource), the kind (`_KIND`: [a-z0-9_.-]) and the ISO time hold
    nothing JSON escapes."""
    return (child_id, f'{{"partner_event_id":"{event_id}","child_id":"{child_id}",'
                      f'"source":"{event.source}","kind":"{event.kind}",'
                      f'"occurred_at":"{_iso(event.occurred_at)}"}}')


def _iso(moment: datetime) -> str:
    """A UTC datetime as pydantic writes it in JSON (`…Z`): the events' payloads are built without a model."""
    return moment.isoformat().replace("+00:00", "Z")


async def _store(uow: UnitOfWork, rows: FeedRows, events: list[IncomingEvent], now: datetime,
                 outcomes: list[Outcome | None], positions: list[int]) -> list[int]:
    """Insert the events, announce and audit the matched ones; answers the positions the database skipped
    (their (source, external_id) is stored already)."""
    by_la = await rows.children_by("la_child_id", [e.la_child_id for e in events if e.la_child_id])
    by_nhs = await rows.children_by("nhs_number", [e.nhs_number for e in events if e.nhs_number])
    matches: dict[tuple[str | None, str | None], Match] = {}  # a burst is mostly about few children
    ids = new_ids(len(events))
    found: list[Match] = []
    for event in events:
        identifiers = (event.la_child_id, event.nhs_number)
        match = matches.get(identifiers)
        if match is None:
            la, nhs = by_la.get(event.la_child_id or ""), by_nhs.get(event.nhs_number or "")
            match = matches[identifiers] = match_child(
                la_child_id=event.la_child_id, nhs_number=event.nhs_number,
                by_la_child_id=Candidate(la[0], la[1]) if la else None,
                by_nhs_number=Candidate(nhs[0], nhs[1]) if nhs else None,
            )
        found.append(match)
    child_ids = [m.child_id for m in found]
    columns: dict[str, list[Any]] = {
        "id": ids, "source": [e.source for e in events], "external_id": [e.external_id for e in events],
        "occurred_at": [e.occurred_at for e in events], "kind": [e.kind for e in events],
        "summary": [e.summary for e in events], "la_child_id": [e.la_child_id for e in events],
        "nhs_number": [e.nhs_number for e in events], "child_id": child_ids,
        "status": ["matched" if m.matched else "review" for m in found],
        "review_reason": [m.review_reason for m in found], "received_at": [now] * len(events),
        "received_by": [e.acting.actor for e in events],
    }
    announced = [(event, event_id, child_id) for event, event_id, child_id in zip(events, ids, child_ids, strict=True)
                 if child_id is not None]
    if announced and rows.folds(len(events)):
        # Announcements and audit rows made for every matched event, kept by the statement only for those it
        # inserts: one round trip, and no transaction around it (receive_many's `one_statement`).
        outbox = uow.outbox_rows("partner.event.received", [_announcement(*a) for a in announced])
        audit = AuditLog.columns(RECEIVED, [(event.acting, child_id) for event, _id, child_id in announced])
        inserted = await rows.insert_announced(columns, [event_id for _e, event_id, _c in announced], outbox, audit)
    else:
        inserted = await rows.insert_new(columns)
        announced = [a for a in announced if a[1] in inserted]
        if announced:
            await uow.publish_many("partner.event.received", [_announcement(*a) for a in announced])
            await rows.audit(AuditLog.columns(RECEIVED, [(event.acting, child_id) for event, _id, child_id in announced]))
    skipped: list[int] = []
    for position, event_id in zip(positions, ids, strict=True):
        if event_id in inserted:
            outcomes[position] = Outcome("accepted", event_id)
        else:
            skipped.append(position)
    return skipped
