"""`GET /outcomes/reports/followups`: follow-ups due and overdue per programme, counts only (no child id),
for the team managers and ops who chase them."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from eoc_shared.auth import Principal, Role, Scope, requires
from eoc_shared.clock import today
from eoc_shared.errors import Forbidden, Invalid
from eoc_shared.service import UoW
from outcomes_svc import pulse

router = APIRouter(prefix="/outcomes/reports", tags=["reports"])
ROLES = frozenset({Role.TEAM_MANAGER, Role.OPS})


class ProgrammeFollowupsOut(BaseModel):
    programme: str
    due: int
    overdue: int
    oldest_overdue_due_on: date | None


class FollowupsPulseOut(BaseModel):
    as_of: date
    due: int
    overdue: int
    programmes: list[ProgrammeFollowupsOut]


@router.get("/followups", response_model=FollowupsPulseOut)
async def followups_pulse(
    uow: UoW, principal: Annotated[Principal, Depends(requires(Scope.OUTCOMES_READ, Scope.OPS))],
    as_of: Annotated[date | None, Query(description="the day statuses are computed for; default today")] = None,
) -> FollowupsPulseOut:
    """Follow-ups without a result that are due (from their date) or overdue (28 days after), per programme."""
    if principal.role not in ROLES:
        raise Forbidden(f"the role {principal.role.value} may not read this report (roles: ops, team_manager)")
    day = as_of or today()
    if day > today():
        raise Invalid("is after today; statuses are computed only for days that have come", field="as_of")
    rows = await pulse.followups_pulse(uow.session, day)
    return FollowupsPulseOut(as_of=day, due=sum(r.due for r in rows), overdue=sum(r.overdue for r in rows),
                             programmes=[ProgrammeFollowupsOut(**vars(r)) for r in rows])
