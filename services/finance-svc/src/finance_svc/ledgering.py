"""The savings ledger: facts learnt from events, and each child's position computed again from them.

Every change that moves a figure ends in `recompute(children)`: the children's ledger positions are
computed again from the facts stored (domain.ledger.child_position) and the year and programme totals
move by the difference. `rebuild_ledger` throws the ledger away and computes it again from the same
facts, one child at a time; a test proves both ways agree. Locks are taken first (repositories.lock_ledger)
so concurrent consumers and requests never compute from facts another transaction is changing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select

from eoc_shared.acting import Acting
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.events.envelope import Envelope
from eoc_shared.events.schemas import (
    FollowupRecorded,
    InterventionClosed,
    InterventionStarted,
)
from eoc_shared.finyear import financial_year_of
from finance_svc.db.models import (
    FollowupFact,
    InterventionChild,
    InterventionFact,
    LedgerEntry,
    LedgerFamily,
    LedgerProgramme,
    LedgerState,
    LedgerYear,
)
from finance_svc.db.repositories import (
    Interventions,
    Ledger,
    add_projections_and_followups,
    chunks,
    entry_values,
    insert_ignoring_duplicates,
    interventions_of,
    lock_ledger,
    position_of,
)
from finance_svc.domain.ledger import (
    ProgrammeTotals,
    YearTotals,
    child_position,
    programme_delta,
)

REBUILD_CHUNK = 2000


async def _note_family(session: Any, fy: int, family_id: uuid.UUID) -> YearTotals:
    result = await session.execute(
        insert_ignoring_duplicates(session, LedgerFamily).values(fy=fy, family_id=family_id).on_conflict_do_nothing()
    )
    return YearTotals.family() if result.rowcount == 1 else YearTotals()


async def _intervention(
    session: Any, payload: InterventionStarted | InterventionClosed
) -> tuple[InterventionFact, dict[uuid.UUID, InterventionChild]]:
    """The intervention as known so far (either event may come first), with one row per child."""
    repo = Interventions(session)
    fact = await repo.get(payload.intervention_id)
    if fact is None:
        fact = InterventionFact(
            id=payload.intervention_id, referral_id=payload.referral_id, family_id=payload.family_id,
            programme=payload.programme, started_on=payload.started_on, fy=financial_year_of(payload.started_on),
            started_seen=False, closed_seen=False, updated_at=utcnow(),
        )
        session.add(fact)
        await session.flush()
        delta = await _note_family(session, fact.fy, fact.family_id)
        await Ledger(session).apply({fact.fy: delta}, {})
    children = await repo.children(fact.id)
    for child_id in payload.child_ids:
        if child_id not in children:
            children[child_id] = InterventionChild(intervention_id=fact.id, child_id=child_id)
            session.add(children[child_id])
    return fact, children


async def intervention_started(uow: UnitOfWork, event: Envelope, payload: InterventionStarted) -> None:
    session = uow.session
    await lock_ledger(session, children=payload.child_ids)
    fact, _children = await _intervention(session, payload)
    fact.started_seen = True
    fact.expected_end_on = payload.expected_end_on
    fact.updated_at = utcnow()
    await session.flush()
    await recompute(session, payload.child_ids)


async def intervention_closed(uow: UnitOfWork, event: Envelope, payload: InterventionClosed) -> None:
    session = uow.session
    everyone = list(payload.child_ids) + [o.child_id for o in payload.child_outcomes]
    await lock_ledger(session, children=everyone)
    fact, children = await _intervention(session, payload)
    fact.closed_seen = True
    fact.closed_on = payload.closed_on
    fact.reason = payload.reason
    fact.updated_at = utcnow()
    for outcome in payload.child_outcomes:
        row = children.get(outcome.child_id)
        if row is None:
            row = children[outcome.child_id] = InterventionChild(intervention_id=fact.id, child_id=outcome.child_id)
            session.add(row)
        row.living_situation = outcome.living_situation
        row.placement_type = outcome.placement_type
    await session.flush()
    await recompute(session, everyone)


async def followup_recorded(uow: UnitOfWork, event: Envelope, payload: FollowupRecorded) -> None:
    session = uow.session
    await lock_ledger(session, children=[payload.child_id])
    key = payload.followup_id or event.id
    row = await session.get(FollowupFact, key)
    if row is None:
        row = FollowupFact(id=key)
        session.add(row)
    row.child_id = payload.child_id
    row.intervention_id = payload.intervention_id
    row.checkpoint_months = payload.checkpoint_months
    row.living_situation = payload.living_situation
    row.re_referred = payload.re_referred
    row.observed_on = payload.observed_on
    row.recorded_at = utcnow()
    await session.flush()
    await recompute(session, [payload.child_id])


async def recompute(session: Any, child_ids: Iterable[uuid.UUID]) -> None:
    """Compute the children's positions again and move the totals by the difference (callers hold the locks)."""
    ids = sorted(set(child_ids))
    if not ids:
        return
    ledger = Ledger(session)
    old = await ledger.entries_of(ids)
    facts = await interventions_of(session, ids)
    if not old and not any(f.interventions for f in facts.values()):
        # No intervention and no position yet (every new referral's children): there is nothing to move, and
        # the projections and follow-ups need not be read.
        return
    await add_projections_and_followups(session, facts)
    old_years: dict[uuid.UUID, set[int]] = defaultdict(set)
    for fy, child in old:
        old_years[child].add(fy)
    years: dict[int, YearTotals] = defaultdict(YearTotals)
    programmes: dict[tuple[int, str], ProgrammeTotals] = defaultdict(ProgrammeTotals)
    added: list[dict[str, Any]] = []
    for child in ids:
        mine = facts[child]
        for fy in sorted(mine.years | old_years[child]):
            row = old.get((fy, child))
            before = position_of(row)
            after = child_position(fy, str(child), mine.interventions, mine.projection, mine.followups)
            if before == after:
                continue
            years[fy] += YearTotals.of(after) - YearTotals.of(before)
            for programme, part in programme_delta(before, after).items():
                programmes[(fy, programme)] += part
            if after is None:
                await session.delete(row)
            elif row is None:
                added.append(entry_values(after))
            else:
                for name, value in entry_values(after).items():
                    setattr(row, name, value)
    await session.flush()
    if added:  # one bulk INSERT (new keys only: a row is deleted or updated only where one existed)
        await session.execute(insert(LedgerEntry), added)
    await ledger.apply(dict(years), dict(programmes))


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild went through: children and families, financial years, and when."""

    children: int
    families: int
    financial_years: int
    rebuilt_at: datetime


async def rebuild_ledger(uow: UnitOfWork, acting: Acting) -> Rebuilt:
    """Throw the ledger away and build it again from the facts learnt from events and the projections."""
    session = uow.session
    await lock_ledger(session, exclusive=True)
    for model in (LedgerEntry, LedgerFamily, LedgerProgramme, LedgerYear):
        await session.execute(delete(model))
    served = select(InterventionFact.fy, InterventionFact.family_id).distinct()
    await session.execute(insert(LedgerFamily).from_select(["fy", "family_id"], served))
    per_year = {
        fy: YearTotals.family(int(count))
        for fy, count in await session.execute(
            select(LedgerFamily.fy, func.count()).group_by(LedgerFamily.fy))
    }
    families = sum(t.families_served for t in per_year.values())
    await Ledger(session).apply(per_year, {})
    children = list((await session.execute(select(InterventionChild.child_id).distinct())).scalars())
    for part in chunks(sorted(children), REBUILD_CHUNK):
        await recompute(session, part)
        session.expunge_all()
    state = await session.get(LedgerState, 1)
    if state is None:
        state = LedgerState(id=1)
        session.add(state)
    state.rebuilt_at = utcnow()
    state.rebuilt_by = acting.actor
    await session.flush()
    years = (await session.execute(select(func.count()).select_from(LedgerYear))).scalar_one()
    return Rebuilt(len(children), families, int(years), state.rebuilt_at)
