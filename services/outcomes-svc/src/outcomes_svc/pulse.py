"""Follow-ups that need work, per programme, as counts only: what a team manager or ops acts on.

Statuses depend on the day, so they are computed from `due_on` when read, as every read does (the stored
status is the scheduler's as of its last run): due from `due_on`, overdue 28 days after it, until a result is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes_svc.db.models import Closure, Followup
from outcomes_svc.domain.followup_dates import status_as_of
from outcomes_svc.domain.outcome_terms import FollowupStatus


@dataclass(frozen=True)
class ProgrammeFollowups:
    programme: str
    due: int
    overdue: int
    oldest_overdue_due_on: date | None


async def followups_pulse(session: AsyncSession, as_of: date) -> list[ProgrammeFollowups]:
    rows = (await session.execute(
        select(Closure.programme, Followup.due_on)
        .join(Closure, Closure.id == Followup.closure_id)
        .where(Followup.status != FollowupStatus.RECORDED.value, Followup.due_on <= as_of)
    )).all()
    tally: dict[str, list[date]] = {}
    due: dict[str, int] = {}
    for programme, due_on in rows:
        status = status_as_of(due_on, as_of, recorded=False)
        if status is FollowupStatus.OVERDUE:
            tally.setdefault(programme, []).append(due_on)
        elif status is FollowupStatus.DUE:
            due[programme] = due.get(programme, 0) + 1
    return [
        ProgrammeFollowups(p, due.get(p, 0), len(tally.get(p, [])), min(tally[p]) if p in tally else None)
        for p in sorted(set(tally) | set(due))
    ]
