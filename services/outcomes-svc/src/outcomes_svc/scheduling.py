"""The follow-up scheduler: mark follow-ups due (publishing `followup.due` exactly once each) and overdue.

Runs periodically (`scheduler_interval_seconds`, as of today) and on demand by ops as of a date.

Exactly once, also when runs overlap (two replicas, or the periodic job and an ops run): each batch is
claimed in one transaction — `SELECT id … WHERE status = 'scheduled' AND due_on <= :as_of ORDER BY due_on
LIMIT :n FOR UPDATE SKIP LOCKED`, then `UPDATE … WHERE id IN (those) AND status = 'scheduled' RETURNING …`
— and the events of exactly the rows that UPDATE returned are written to the outbox in the same
transaction. On PostgreSQL a row another run holds is skipped, and once that run commits the row is no
longer `scheduled` (the lock re-checks the condition on the newest row version). SQLite has no row
locks but runs one writing transaction at a time; the `status = 'scheduled'` condition of the UPDATE
makes a row two runs both selected change (and be published) for one of them only.

The work grows with the number of follow-ups falling due, not with the table: the ids come from a range
scan of the (status, due_on) index, and the UPDATE finds them by primary key.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import structlog
from sqlalchemy import ARRAY, Uuid, any_, bindparam, case, insert, select, update

from eoc_shared.clock import today
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.events.envelope import build_envelope, source_of
from eoc_shared.events.schemas import EventPayload, FollowupDue, spec_for
from eoc_shared.metrics import record_job_run
from outcomes_svc.db.models import Followup, Outbox
from outcomes_svc.domain.outcome_terms import OVERDUE_AFTER_DAYS, FollowupStatus

log = structlog.get_logger("outcomes.scheduler")

SOURCE = source_of("outcomes")
SCHEDULED, DUE, OVERDUE = FollowupStatus.SCHEDULED.value, FollowupStatus.DUE.value, FollowupStatus.OVERDUE.value



def _claimable(uow: UnitOfWork, *conditions: Any, limit: int | None = None) -> Any:
    stmt = select(Followup.id).where(*conditions).order_by(Followup.due_on, Followup.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    if uow.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return stmt


def _among(uow: UnitOfWork, ids: list[uuid.UUID]) -> Any:
    """`id` is one of `ids`: one array parameter on PostgreSQL (an index lookup per id), an IN list elsewhere."""
    if uow.session.get_bind().dialect.name == "postgresql":
        return Followup.id == any_(bindparam("ids", ids, type_=ARRAY(Uuid())))
    return Followup.id.in_(ids)


async def mark_due(uow: UnitOfWork, as_of: date, batch_size: int) -> tuple[int, int, int]:
    """Claim up to `batch_size` follow-ups due by `as_of` and publish `followup.due` for each: how many were
    selected, how many this run marked (and published), and how many of those were already overdue.

    Two statements: the ids (locked on PostgreSQL, skipping rows another run holds), then an UPDATE of
    exactly those ids that are still `scheduled`, RETURNING what it changed — so an id another run
    changed in between (SQLite) is not published twice, and PostgreSQL updates by primary key instead of
    joining the whole table.
    """
    now = utcnow()
    overdue_by = as_of - timedelta(days=OVERDUE_AFTER_DAYS)
    ids = list((await uow.session.execute(
        _claimable(uow, Followup.status == SCHEDULED, Followup.due_on <= as_of, limit=batch_size)
    )).scalars())
    if not ids:
        return 0, 0, 0
    rows = (await uow.session.execute(
        update(Followup)
        .where(_among(uow, ids), Followup.status == SCHEDULED)
        .values(
            status=case((Followup.due_on <= overdue_by, OVERDUE), else_=DUE),
            overdue_as_of=case((Followup.due_on <= overdue_by, as_of), else_=None),
            due_published_at=now, due_as_of=as_of, updated_at=now,
        )
        .returning(Followup.id, Followup.child_id, Followup.intervention_id, Followup.checkpoint_months,
                   Followup.due_on, Followup.status),
        execution_options={"synchronize_session": False},
    )).all()
    # The values come typed from our own table: no need to validate them again, 10,000 times.
    await publish_many(uow, "followup.due", [
        (row.child_id, FollowupDue.model_construct(
            followup_id=row.id, child_id=row.child_id, intervention_id=row.intervention_id,
            checkpoint_months=row.checkpoint_months, due_on=row.due_on))
        for row in rows
    ])
    return len(ids), len(rows), sum(1 for row in rows if row.status == OVERDUE)


async def mark_overdue(uow: UnitOfWork, as_of: date, batch_size: int) -> tuple[int, int]:
    """Due follow-ups still without a result 28 days after they fell due become overdue (no event):
    how many were selected, how many this run changed."""
    overdue_by = as_of - timedelta(days=OVERDUE_AFTER_DAYS)
    ids = list((await uow.session.execute(
        _claimable(uow, Followup.status == DUE, Followup.due_on <= overdue_by, limit=batch_size)
    )).scalars())
    if not ids:
        return 0, 0
    result = await uow.session.execute(
        update(Followup)
        .where(_among(uow, ids), Followup.status == DUE)
        .values(status=OVERDUE, overdue_as_of=as_of, updated_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    return len(ids), int(result.rowcount or 0)


def envelopes(topic: str, items: list[tuple[Any, EventPayload]],
              source: str = SOURCE) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    """CloudEvents envelopes for many events of one topic, as `build_envelope` makes them: the first is built by
    it, the others take its constant attributes (source, type, specversion, time, datacontenttype) with
    their own id, subject (the key) and data. One tick's events share its time."""
    if not items:
        return []
    first = build_envelope(topic, key=str(items[0][0]), data=items[0][1], source=source)
    constant = {k: v for k, v in first.items() if not k.startswith("_") and k not in ("id", "subject", "data")}
    out = [(uuid.UUID(first["id"]), {k: v for k, v in first.items() if not k.startswith("_")})]
    for key, data in items[1:]:
        event_id = uuid.uuid4()
        out.append((event_id, {"id": str(event_id), **constant, "subject": str(key),
                               "data": data.model_dump(mode="json")}))
    return out


async def publish_many(uow: UnitOfWork, topic: str, items: list[tuple[Any, EventPayload]]) -> None:
    """Write many events to the outbox in this transaction, as `uow.publish` would one by one, without an ORM
    object per event — PostgreSQL: one COPY; SQLite: one multi-row INSERT. (10,000 events in a tick.)"""
    if not items:
        return
    now = utcnow()
    spec_topic = spec_for(topic).topic
    rows = [(event_id, spec_topic, env["subject"], env, now, 0) for event_id, env in envelopes(topic, items)]
    columns = ("id", "topic", "key", "payload", "created_at", "attempts")
    connection = await uow.session.connection()
    if connection.dialect.name == "postgresql":
        raw = (await connection.get_raw_connection()).driver_connection
        dumps = json.JSONEncoder(separators=(",", ":")).encode
        await raw.copy_records_to_table(
            Outbox.__tablename__, columns=columns,
            records=[(i, t, k, dumps(p), c, a) for i, t, k, p, c, a in rows],
        )
    else:
        await connection.execute(insert(Outbox), [dict(zip(columns, row)) for row in rows])


async def run(uow_factory: Callable[[], UnitOfWork], as_of: date, batch_size: int = 5000,
              notify: Callable[[], None] | None = None) -> dict[str, Any]:
    """One scheduler run as of `as_of`: batches of claims, each its own transaction, until none is left.
    `notify` wakes the outbox relay after a batch with events commits."""
    due = overdue = 0
    while True:
        async with uow_factory() as uow:
            selected, marked, late = await mark_due(uow, as_of, batch_size)
            await uow.commit()
        if marked and notify is not None:
            notify()
        due, overdue = due + marked, overdue + late
        if selected < batch_size:
            break
    while True:
        async with uow_factory() as uow:
            selected, marked = await mark_overdue(uow, as_of, batch_size)
            await uow.commit()
        overdue += marked
        if selected < batch_size:
            break
    return {"as_of": as_of, "due": due, "overdue": overdue}


async def periodic(runtime: Any, interval_seconds: float, batch_size: int) -> None:
    """The background job: run as of today at start, then every `interval_seconds`."""
    while True:
        try:
            result = await run(runtime.uow, today(), batch_size, runtime.relay.notify)
            record_job_run(runtime.name, "followups", True)
            if result["due"] or result["overdue"]:
                log.info("scheduler.ran", due=result["due"], overdue=result["overdue"])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed run is retried at the next interval
            log.warning("scheduler.run_failed", error=type(exc).__name__)
            record_job_run(runtime.name, "followups", False)
        await asyncio.sleep(interval_seconds)
