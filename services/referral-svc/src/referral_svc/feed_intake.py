"""Partner feed events taken in by the set, not one at a time: the batch endpoint, and the single endpoint's
group commit (many concurrent single events, one transaction).

The rules of a single partner event, applied to many events with a fixed number of statements:
accepted once per (source, external_id) — also when the same id comes twice in one batch, or when another
transaction stores it meanwhile (ON CONFLICT DO NOTHING, then answered as the duplicate it is); an event
that cannot be accepted refuses only itself; matched events are announced (`partner.event.received`, in
the outbox, in bulk) and audited. Nothing is answered before its transaction has committed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import structlog

from eoc_shared.acting import Acting
from eoc_shared.db import UnitOfWork, new_ids, utcnow
from eoc_shared.events.schemas import PartnerEventReceived
from referral_svc.db.feed_rows import FeedRows
from referral_svc.domain.feeds import Candidate, match_child
from referral_svc.partner_feeds import CLOCK_SKEW

log = structlog.get_logger("eoc.referral.feeds")

Status = Literal["accepted", "duplicate", "invalid"]


@dataclass(frozen=True)
class IncomingEvent:
    """One partner event, already shaped (validated by the API's model)."""

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
    """Store the events not seen before; one outcome per event, in order. The caller commits."""
    rows = FeedRows(uow.session)
    now = utcnow()
    known = await rows.existing([(e.source, e.external_id) for e in events])
    outcomes: list[Outcome | None] = [None] * len(events)
    first_of: dict[tuple[str, str], int] = {}
    repeats: list[tuple[int, int]] = []
    fresh: list[int] = []
    ids = new_ids(len(events))
    for i, event in enumerate(events):
        key = (event.source, event.external_id)
        if key in known:  # a repeat changes nothing, whatever else it says
            outcomes[i] = Outcome("duplicate", known[key])
        elif key in first_of:  # again within these events: answered as the first one turns out
            repeats.append((i, first_of[key]))
        elif event.occurred_at > now + CLOCK_SKEW:
            outcomes[i] = Outcome("invalid", errors=(FieldError("occurred_at", "is in the future"),))
        else:
            first_of[key] = i
            fresh.append(i)
    if fresh:
        await _store(uow, rows, [events[i] for i in fresh], [ids[i] for i in fresh], now, outcomes, fresh)
    for i, first in repeats:
        # The first was stored here, or found stored by a transaction that won the race: the same id either way.
        settled = outcomes[first]
        outcomes[i] = Outcome("duplicate", settled.id if settled is not None else None)
    return [o if o is not None else Outcome("invalid") for o in outcomes]


async def _store(uow: UnitOfWork, rows: FeedRows, events: list[IncomingEvent], ids: list[uuid.UUID],
                 now: datetime, outcomes: list[Outcome | None], positions: list[int]) -> None:
    by_la = await rows.children_by("la_child_id", [e.la_child_id for e in events if e.la_child_id])
    by_nhs = await rows.children_by("nhs_number", [e.nhs_number for e in events if e.nhs_number])
    records: list[dict[str, Any]] = []
    for event, event_id in zip(events, ids, strict=True):
        la, nhs = by_la.get(event.la_child_id or ""), by_nhs.get(event.nhs_number or "")
        match = match_child(
            la_child_id=event.la_child_id, nhs_number=event.nhs_number,
            by_la_child_id=Candidate(la[0], la[1]) if la else None,
            by_nhs_number=Candidate(nhs[0], nhs[1]) if nhs else None,
        )
        records.append({
            "id": event_id, "source": event.source, "external_id": event.external_id,
            "occurred_at": event.occurred_at, "kind": event.kind, "summary": event.summary,
            "la_child_id": event.la_child_id, "nhs_number": event.nhs_number, "child_id": match.child_id,
            "status": "matched" if match.matched else "review", "review_reason": match.review_reason,
            "received_at": now, "received_by": event.acting.actor, "resolved_at": None, "resolved_by": None,
            "resolution_note": None,
        })
    inserted = await rows.insert_new(records)
    raced = [r for r in records if r["id"] not in inserted]
    winners = await rows.existing([(r["source"], r["external_id"]) for r in raced]) if raced else {}
    announce: list[tuple[uuid.UUID, PartnerEventReceived]] = []
    audit: list[dict[str, Any]] = []
    for position, event, record in zip(positions, events, records, strict=True):
        if record["id"] not in inserted:
            # Stored by another transaction after we looked: this one is its repeat.
            outcomes[position] = Outcome("duplicate", winners.get((record["source"], record["external_id"])))
            continue
        outcomes[position] = Outcome("accepted", record["id"])
        if record["child_id"] is not None:
            # Built from values already checked: construct, not validate again (a tenth of a batch's time).
            announce.append((record["child_id"], PartnerEventReceived.model_construct(
                partner_event_id=record["id"], child_id=record["child_id"], source=record["source"],
                kind=record["kind"], occurred_at=record["occurred_at"],
            )))
            audit.append({"at": now, "actor": event.acting.actor, "role": event.acting.role,
                          "action": "partner_event.received", "child_id": record["child_id"],
                          "request_id": event.acting.request_id})
    if announce:
        await uow.publish_many("partner.event.received", announce)
        await rows.audit(audit)


class GroupCommit:
    """Single feed events from concurrent requests, written together: while a transaction commits, the
    events that arrive queue up and go in the next one. Each request is answered only after the
    transaction holding its event committed (a 202 still means committed, outbox included). When a
    group's transaction fails, its events are retried one by one, so one event's failure is its own.

    `writers` transactions may be in flight at once: 1 on SQLite (one writer there anyway); on PostgreSQL a
    few, so that one group's round trips to the server overlap the next group's instead of queueing behind
    them. A second writer starts only when events are waiting and every writer is busy.
    """

    def __init__(self, uow_factory: Callable[[], UnitOfWork], max_group: int = 500, writers: int = 1) -> None:
        self._uow_factory = uow_factory
        self._max_group = max_group
        self._writers = max(1, writers)
        self._queue: list[tuple[IncomingEvent, asyncio.Future[Outcome]]] = []
        self._active = 0  # writers between their start and their last look at the queue
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, event: IncomingEvent) -> Outcome:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((event, future))
        if self._active < self._writers:
            self._active += 1
            task = asyncio.create_task(self._drain(), name="referral-feed-group-commit")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        try:
            # One turn of the event loop first: requests parsed in the same turn join this group rather than
            # wait for the next one.
            await asyncio.sleep(0)
            await self._write_queued()
        finally:
            # No await between the last empty look at the queue and this: a submit either sees this writer
            # still active (and its event taken by the loop) or starts another.
            self._active -= 1

    async def _write_queued(self) -> None:
        while self._queue:
            group, self._queue = self._queue[:self._max_group], self._queue[self._max_group:]
            try:
                outcomes = await self._write([e for e, _ in group])
            except Exception as exc:  # noqa: BLE001 - answered per event below
                if len(group) == 1:
                    _settle(group[0][1], exc)
                    continue
                log.warning("feed.group_failed", events=len(group), error=type(exc).__name__)
                for event, future in group:
                    try:
                        _settle(future, (await self._write([event]))[0])
                    except Exception as one:  # noqa: BLE001
                        _settle(future, one)
                continue
            for (_event, future), outcome in zip(group, outcomes, strict=True):
                _settle(future, outcome)

    async def _write(self, events: list[IncomingEvent]) -> list[Outcome]:
        async with self._uow_factory() as uow:
            outcomes = await receive_many(uow, events)
            await uow.commit()
        return outcomes


def _settle(future: asyncio.Future[Outcome], result: Outcome | BaseException) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
