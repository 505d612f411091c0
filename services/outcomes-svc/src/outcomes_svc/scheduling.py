"""The follow-up scheduler: mark follow-ups due (publishing `followup.due` exactly once each) and overdue.

Runs periodically (`scheduler_interval_seconds`, as of today) and on demand by ops as of a date. What it
stores is its own bookkeeping (which follow-ups it has published, as of which day): no read shows it, every
read derives due and overdue from the dates (`domain.followup_dates.status_as_of`), so a follow-up is what
its dates say whether or not a run has reached it.

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

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import structlog
from sqlalchemy import ARRAY, Uuid, any_, bindparam, case, select, update

from eoc_shared.clock import today
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.events.schemas import FollowupDue
from outcomes_svc.db.models import Followup
from outcomes_svc.domain.outcome_terms import OVERDUE_AFTER_DAYS, FollowupStatus

log = structlog.get_logger("outcomes.scheduler")

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
    await uow.publish_many("followup.due", [
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
    return len(ids), int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class SchedulerRun:
    """What one run did: follow-ups it marked due (and published), and those it marked overdue."""

    as_of: date
    due: int
    overdue: int


async def run(uow_factory: Callable[[], UnitOfWork], as_of: date, batch_size: int = 5000) -> SchedulerRun:
    """One scheduler run as of `as_of`: batches of claims, each its own transaction, until none is left
    (committing a batch with events wakes the outbox relay)."""
    due = overdue = 0
    while True:
        async with uow_factory() as uow:
            selected, marked, late = await mark_due(uow, as_of, batch_size)
            await uow.commit()
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
    return SchedulerRun(as_of, due, overdue)


async def run_today(runtime: Any, batch_size: int) -> None:
    """The background job (registered on the runtime): run as of today."""
    result = await run(runtime.uow, today(), batch_size)
    if result.due or result.overdue:
        log.info("scheduler.ran", due=result.due, overdue=result.overdue)
