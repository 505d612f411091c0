"""Queries of outcomes-svc: closures, follow-ups, signals, the access log, per-child locks."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from eoc_shared.audit import AccessLogRepository
from eoc_shared.locks import is_postgres, lock_ids
from outcomes_svc.db.models import AccessLog, Closure, Followup, Signal
from outcomes_svc.domain.followup_dates import due_on_window
from outcomes_svc.domain.outcome_terms import FollowupStatus

RECORDED = FollowupStatus.RECORDED.value
#: What the stored column may hold before a result: the scheduler's bookkeeping, never read as the status.
UNRECORDED = [s.value for s in FollowupStatus if s is not FollowupStatus.RECORDED]


async def lock_children(session: AsyncSession, child_ids: Iterable[uuid.UUID]) -> None:
    """Serialise the work on each child's outcome record for the rest of the transaction.

    A closure and a detection for the same child, handled at the same time by two consumers, would
    otherwise each miss the other (the closure does not see the uncommitted signal, the signal does not
    see the uncommitted closure). PostgreSQL: transaction-scoped advisory locks taken in one order (no
    deadlock). SQLite serialises writing transactions by itself.
    """
    await lock_ids(session, child_ids)


# Asked for every detection (every new referral's children among them): built once, with bound parameters.
_CLOSURES_OF_CHILD = (
    select(Closure).where(Closure.child_id == bindparam("child_id")).order_by(Closure.closed_on, Closure.intervention_id)
)
_SIGNAL_SEEN = select(Signal.id).where(
    Signal.source == bindparam("source"), Signal.source_ref == bindparam("source_ref"),
    Signal.child_id == bindparam("child_id"),
)


class Closures:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, closure_id: uuid.UUID) -> Closure | None:
        return await self.session.get(Closure, closure_id)

    async def of_intervention_child(self, intervention_id: uuid.UUID, child_id: uuid.UUID) -> Closure | None:
        stmt = select(Closure).where(Closure.intervention_id == intervention_id, Closure.child_id == child_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of_child(self, child_id: uuid.UUID) -> Sequence[Closure]:
        return (await self.session.execute(_CLOSURES_OF_CHILD, {"child_id": child_id})).scalars().all()

    async def of_year(self, financial_year: int) -> Sequence[Closure]:
        stmt = select(Closure).where(Closure.financial_year == financial_year)
        return (await self.session.execute(stmt)).scalars().all()

    async def cohort(self, *, programme: str | None, financial_year: int | None, living_situation: str | None,
                     closed_by: date) -> Sequence[Closure]:
        stmt = select(Closure).where(Closure.closed_on <= closed_by)
        if programme is not None:
            stmt = stmt.where(Closure.programme == programme)
        if financial_year is not None:
            stmt = stmt.where(Closure.financial_year == financial_year)
        if living_situation is not None:
            stmt = stmt.where(Closure.living_situation == living_situation)
        return (await self.session.execute(stmt)).scalars().all()


class Followups:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, followup_id: uuid.UUID) -> Followup | None:
        return await self.session.get(Followup, followup_id)

    async def of_child(self, child_id: uuid.UUID) -> Sequence[Followup]:
        stmt = (select(Followup).where(Followup.child_id == child_id)
                .order_by(Followup.due_on, Followup.checkpoint_months, Followup.id))
        return (await self.session.execute(stmt)).scalars().all()

    async def of_closure(self, closure_id: uuid.UUID, *, for_update: bool = False) -> Sequence[Followup]:
        stmt = select(Followup).where(Followup.closure_id == closure_id).order_by(Followup.checkpoint_months)
        if for_update and is_postgres(self.session):
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalars().all()

    async def of_closures(self, closure_ids: Sequence[uuid.UUID]) -> Sequence[Followup]:
        found: list[Followup] = []
        ids = list(closure_ids)
        for start in range(0, len(ids), 1000):
            stmt = select(Followup).where(Followup.closure_id.in_(ids[start:start + 1000]))
            found.extend((await self.session.execute(stmt)).scalars().all())
        return found

    async def by_status(self, statuses: Sequence[FollowupStatus], *, as_of: date, programme: str | None, limit: int,
                        offset: int, practitioner: str | None = None) -> Sequence[tuple[Followup, Closure]]:
        """Follow-ups in these statuses on `as_of`, longest waiting first; only one practitioner's, when named.

        Due, overdue and scheduled are conditions on `due_on` (the stored column says only whether a result
        is recorded), so the page and its order are those of the statuses the rows then show."""
        stmt = (select(Followup, Closure).join(Closure, Closure.id == Followup.closure_id)
                .where(or_(*(_in_status(s, as_of) for s in statuses)))
                .order_by(Followup.due_on, Followup.child_id, Followup.checkpoint_months)
                .limit(limit).offset(offset))
        if programme is not None:
            stmt = stmt.where(Closure.programme == programme)
        if practitioner is not None:
            stmt = stmt.where(Closure.practitioner == practitioner)
        return [(f, c) for f, c in (await self.session.execute(stmt)).all()]


def _in_status(status: FollowupStatus, as_of: date) -> Any:
    if status is FollowupStatus.RECORDED:
        return Followup.status == RECORDED
    earliest, latest = due_on_window(status, as_of)
    conditions: list[Any] = [Followup.status.in_(UNRECORDED)]
    if earliest is not None:
        conditions.append(Followup.due_on >= earliest)
    if latest is not None:
        conditions.append(Followup.due_on <= latest)
    return and_(*conditions)


class Signals:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def seen(self, source: str, source_ref: str, child_id: uuid.UUID) -> bool:
        params = {"source": source, "source_ref": source_ref, "child_id": child_id}
        return (await self.session.execute(_SIGNAL_SEEN, params)).first() is not None

    async def of_children(self, child_ids: Iterable[uuid.UUID]) -> Sequence[Signal]:
        ids = sorted(set(child_ids))
        found: list[Signal] = []
        for start in range(0, len(ids), 1000):
            stmt = (select(Signal).where(Signal.child_id.in_(ids[start:start + 1000]))
                    .order_by(Signal.occurred_on, Signal.received_at))
            found.extend((await self.session.execute(stmt)).scalars().all())
        return found


class AccessLogRepo(AccessLogRepository[AccessLog]):
    """Appends and reads only (eoc_shared.audit); the table refuses UPDATE and DELETE."""

    model = AccessLog
