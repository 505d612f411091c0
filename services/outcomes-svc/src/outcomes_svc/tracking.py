"""Closures and follow-ups: the outcome at closure (checkpoint 0), the schedule to five years, results.

`intervention.closed` (not `superseded`) records each child's closure and creates the follow-ups at
6, 12, 18, 24, 36, 48 and 60 months; signals already seen for the child (events of other topics may
arrive first) are applied at once. A practitioner records each result once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import update

from eoc_shared.acting import Acting
from eoc_shared.clock import today
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.errors import Conflict, Forbidden, Invalid, NotFound
from eoc_shared.events.schemas import FollowupRecorded, InterventionClosed
from eoc_shared.finyear import financial_year_of
from eoc_shared.vocab import LivingSituation
from outcomes_svc import care_applications
from outcomes_svc.db.models import Closure, Followup, Signal
from outcomes_svc.db.repositories import AccessLogRepo, Closures, Followups, Signals, lock_children
from outcomes_svc.domain.followup_dates import schedule, status_as_of
from outcomes_svc.domain.outcome_terms import SUPERSEDED, FollowupStatus
from outcomes_svc.domain.signals import PRACTITIONER

LIVING = {s.value for s in LivingSituation}
NOT_THEIRS = "a practitioner may read and record only the follow-ups of their own interventions"


def _theirs(acting: Acting, closures: list[Closure]) -> list[Closure]:
    """The closures this person may see: all of them, or a practitioner's own (refused when none is)."""
    if not acting.is_practitioner:
        return closures
    own = [c for c in closures if c.practitioner == acting.actor]
    if not own:
        raise Forbidden(NOT_THEIRS)
    return own


def publish_recorded(uow: UnitOfWork, *, child_id: uuid.UUID, followup: Followup | None,
                     intervention_id: uuid.UUID | None, living_situation: str, re_referred: bool,
                     observed_on: date) -> None:
    """`followup.recorded`, thin: ids, checkpoint, living situation, re-referred, the date."""
    uow.publish("followup.recorded", key=child_id, data=FollowupRecorded(
        followup_id=followup.id if followup else None, child_id=child_id, intervention_id=intervention_id,
        checkpoint_months=followup.checkpoint_months if followup else None,
        living_situation=living_situation, re_referred=re_referred, observed_on=observed_on,
    ))


async def record_closure(uow: UnitOfWork, payload: InterventionClosed) -> list[Closure]:
    """Checkpoint 0 and the follow-up schedule of every child of a closed intervention (once)."""
    if payload.reason == SUPERSEDED:
        return []
    for outcome in payload.child_outcomes:
        if outcome.living_situation not in LIVING:
            # Not retryable and not ours to guess: the consumer dead-letters the event with this reason.
            raise ValueError(f"child_outcomes: unknown living_situation {outcome.living_situation!r}")
    outcomes = {o.child_id: o for o in payload.child_outcomes}
    await lock_children(uow.session, outcomes)
    closures_repo = Closures(uow.session)
    now = utcnow()
    created: list[Closure] = []
    for child_id in sorted(outcomes):
        if await closures_repo.of_intervention_child(payload.intervention_id, child_id) is not None:
            continue
        outcome = outcomes[child_id]
        closure = Closure(
            id=uuid.uuid4(), intervention_id=payload.intervention_id, referral_id=payload.referral_id,
            family_id=payload.family_id, child_id=child_id, programme=payload.programme,
            started_on=payload.started_on, closed_on=payload.closed_on,
            financial_year=financial_year_of(payload.closed_on), reason=payload.reason,
            living_situation=outcome.living_situation, placement_type=outcome.placement_type,
            practitioner=payload.practitioner, created_at=now,
        )
        uow.session.add(closure)
        for months, due_on in schedule(payload.closed_on):
            uow.session.add(Followup(
                id=uuid.uuid4(), closure_id=closure.id, child_id=child_id, intervention_id=payload.intervention_id,
                checkpoint_months=months, due_on=due_on, status=FollowupStatus.SCHEDULED.value, updated_at=now,
            ))
        created.append(closure)
    if not created:
        return []
    await uow.session.flush()
    # Signals seen before this closure arrived (another topic's consumer got there first).
    from outcomes_svc import detecting

    stored = await Signals(uow.session).of_children(c.child_id for c in created)
    for closure in created:
        for row in stored:
            if row.child_id == closure.child_id:
                await detecting.apply_to_closure(uow, closure, detecting.signal_of(row))
    return created


@dataclass(frozen=True)
class FollowupView:
    """A follow-up as the record shows it on `as_of` (today when read): its status from the dates, the result
    only once recorded; the closure's programme and date."""

    followup: Followup
    closure: Closure | None = None
    days_since_due: int | None = None
    care_application_on: date | None = None
    as_of: date = field(default_factory=today)

    def __getattr__(self, name: str) -> Any:
        """The follow-up's own columns (id, due_on, observed_on, …) read through."""
        return getattr(self.followup, name)

    @property
    def status(self) -> str:
        """Never the stored column for due or overdue: that is the scheduler's, as of its last run."""
        return status_as_of(self.followup.due_on, self.as_of, recorded=self.recorded).value

    @property
    def living_situation(self) -> str | None:
        return self.followup.living_situation if self.recorded else None

    @property
    def re_referred(self) -> bool | None:
        return self.followup.re_referred if self.recorded else None

    @property
    def recorded(self) -> bool:
        return self.followup.status == FollowupStatus.RECORDED.value

    @property
    def programme(self) -> str | None:
        return None if self.closure is None else self.closure.programme

    @property
    def closed_on(self) -> date | None:
        return None if self.closure is None else self.closure.closed_on


@dataclass(frozen=True)
class ChildRecord:
    """The child's outcome record: closures (checkpoint 0), follow-ups, the signals detected."""

    child_id: uuid.UUID
    closures: list[Closure]
    followups: list[FollowupView]
    signals: list[Signal]


async def child_followups(uow: UnitOfWork, child_id: uuid.UUID, acting: Acting) -> list[FollowupView]:
    """Every follow-up of the child (all their closed interventions), earliest due first. A child with no
    closed intervention has none: an empty list, not an error (outcomes-svc knows children only by
    their closures)."""
    closures = {c.id: c for c in _theirs(acting, list(await Closures(uow.session).of_child(child_id)))}
    followups = [f for f in await Followups(uow.session).of_child(child_id) if f.closure_id in closures]
    if followups:
        AccessLogRepo(uow.session).record(acting, "outcomes.followups_read", [child_id])
    views = [FollowupView(f, closures[f.closure_id]) for f in followups]
    return await care_applications.annotate(uow, child_id, views, closures)


async def child_record(uow: UnitOfWork, child_id: uuid.UUID, acting: Acting) -> ChildRecord:
    """The child's outcome record: closures (checkpoint 0), follow-ups and the signals detected."""
    closures = _theirs(acting, list(await Closures(uow.session).of_child(child_id)))
    if not closures:
        raise NotFound(f"outcomes-svc has no closed intervention for child {child_id}")
    by_id = {c.id: c for c in closures}
    followups = [f for f in await Followups(uow.session).of_child(child_id) if f.closure_id in by_id]
    signals = await Signals(uow.session).of_children([child_id])
    AccessLogRepo(uow.session).record(acting, "outcomes.record_read", [child_id])
    return ChildRecord(child_id, closures, [FollowupView(f, by_id.get(f.closure_id)) for f in followups], list(signals))


async def read_followup(uow: UnitOfWork, followup_id: uuid.UUID, acting: Acting) -> FollowupView:
    followup = await Followups(uow.session).get(followup_id)
    if followup is None:
        raise NotFound(f"there is no follow-up {followup_id}")
    closure = await Closures(uow.session).get(followup.closure_id)
    assert closure is not None
    _theirs(acting, [closure])
    AccessLogRepo(uow.session).record(acting, "outcomes.followup_read", [followup.child_id])
    return FollowupView(followup, closure)


async def record_result(uow: UnitOfWork, followup_id: uuid.UUID, *, observed_on: date, living_situation: str,
                        re_referred: bool, acting: Acting) -> FollowupView:
    """A practitioner's result, once. Nothing is stored or published unless every check passes."""
    followups = Followups(uow.session)
    followup = await followups.get(followup_id)
    if followup is None:
        raise NotFound(f"there is no follow-up {followup_id}")
    closure = await Closures(uow.session).get(followup.closure_id)
    assert closure is not None
    _theirs(acting, [closure])
    if observed_on < closure.closed_on:
        raise Invalid(f"is before the intervention closed ({closure.closed_on.isoformat()})", field="observed_on")
    if observed_on > today():
        raise Invalid("is in the future: record what was observed, on the day it was observed", field="observed_on")
    await lock_children(uow.session, [followup.child_id])
    await uow.session.refresh(followup)
    if followup.status == FollowupStatus.RECORDED.value:
        how = ("by a practitioner" if followup.recorded_source == PRACTITIONER
               else "by detection: " + _detected_what(followup))
        raise Conflict(
            f"the {followup.checkpoint_months}-month follow-up is already recorded "
            f"(observed {followup.observed_on.isoformat() if followup.observed_on else 'earlier'}, {how})",
            followup_status=followup.status,
        )
    now = utcnow()
    # Conditional, so that of two concurrent results (or a result and a detection) only one records.
    claimed = (await uow.session.execute(
        update(Followup)
        .where(Followup.id == followup.id, Followup.status != FollowupStatus.RECORDED.value)
        .values(status=FollowupStatus.RECORDED.value, observed_on=observed_on, living_situation=living_situation,
                re_referred=re_referred, recorded_source=PRACTITIONER, recorded_at=now, recorded_by=acting.actor,
                updated_at=now)
        .returning(Followup.id),
        execution_options={"synchronize_session": False},
    )).first()
    if claimed is None:
        raise Conflict(f"the {followup.checkpoint_months}-month follow-up was recorded a moment ago",
                       followup_status=FollowupStatus.RECORDED.value)
    await uow.session.refresh(followup)
    publish_recorded(uow, child_id=followup.child_id, followup=followup, intervention_id=followup.intervention_id,
                     living_situation=living_situation, re_referred=re_referred, observed_on=observed_on)
    AccessLogRepo(uow.session).record(acting, "outcomes.result_recorded", [followup.child_id])
    return FollowupView(followup, closure)


def _detected_what(f: Followup) -> str:
    parts = []
    if f.re_referred_on:
        parts.append(f"re-referred on {f.re_referred_on.isoformat()}")
    if f.care_entry_on:
        parts.append(f"{(f.care_entry_kind or 'in_care').replace('_', ' ')} from {f.care_entry_on.isoformat()}")
    return ", ".join(parts) or "a break of the outcome"


async def worklist(uow: UnitOfWork, statuses: list[FollowupStatus], *, programme: str | None, limit: int,
                   offset: int, acting: Acting) -> list[FollowupView]:
    """Follow-ups by status today (the weekly case review reads `overdue`), longest waiting first."""
    day = today()
    rows = await Followups(uow.session).by_status(
        statuses, as_of=day, programme=programme, practitioner=acting.actor if acting.is_practitioner else None,
        limit=limit, offset=offset)
    AccessLogRepo(uow.session).record(acting, "outcomes.worklist_read", [f.child_id for f, _ in rows])
    return [FollowupView(f, c, days_since_due=max(0, (day - f.due_on).days), as_of=day) for f, c in rows]
