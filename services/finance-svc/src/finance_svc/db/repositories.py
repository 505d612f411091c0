"""Queries of finance-svc, kept out of the endpoints and the operations."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, bindparam, delete, false, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from eoc_shared.audit import AccessLogRepository
from eoc_shared.db import utcnow
from eoc_shared.locks import advisory_lock, lock_ids
from finance_svc.db.models import (
    AccessEntry,
    FollowupFact,
    InterventionChild,
    InterventionFact,
    LedgerEntry,
    LedgerFamily,
    LedgerProgramme,
    LedgerState,
    LedgerYear,
    PlacementRuleVersion,
    ProgrammeCost,
    Projection,
    ProjectionVersion,
    Rate,
    Target,
)
from finance_svc.domain import savings
from finance_svc.domain.ledger import ChildPosition, ProgrammeActivity, ProgrammeTotals, YearTotals
from finance_svc.domain.savings import Breakdown

IN_CHUNK = 1000  # ids per IN (...) list: well under either driver's parameter limit


def is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def insert_ignoring_duplicates(session: AsyncSession, model: type) -> Any:
    """INSERT … ON CONFLICT DO NOTHING on either database."""
    builder = sqlite_insert if is_sqlite(session) else pg_insert
    return builder(model)


def keep_first_insert(session: AsyncSession, model: type) -> Any:
    """`insert_ignoring_duplicates(...).on_conflict_do_nothing()` into the model's table, built once per kind of
    database and executed with the row as parameters: for the hot paths."""
    return _keep_first_insert(is_sqlite(session), getattr(model, "__table__"))  # noqa: B009 - any mapped class


@functools.cache
def _keep_first_insert(sqlite: bool, table: Any) -> Any:
    return (sqlite_insert if sqlite else pg_insert)(table).on_conflict_do_nothing()


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------------------------- locks

_LEDGER_KEY = 0x46494E4C45444752  # "FINLEDGR"
_RATE_KEY = 0x52415445 << 32  # "RATE" << 32 | fy


# Statements of the hot paths (every new referral's projection), built once with bound parameters: building one
# and its cache key per call cost as much as a small read.
_WRITE_LOCK = update(LedgerState).where(false()).values(rebuilt_by=LedgerState.rebuilt_by)


async def lock_ledger(
    session: AsyncSession,
    *,
    children: Iterable[uuid.UUID] = (),
    rate_years: Iterable[int] = (),
    exclusive: bool = False,
) -> None:
    """Serialise changes to the ledger before reading the facts a recomputation rests on.

    PostgreSQL: transaction-scoped advisory locks, always in one order — the whole ledger (shared; a
    rebuild takes it exclusively), then rate cards by year, then children by id — so two transactions
    never wait on each other in a circle. Totals rows are locked last (SELECT … FOR UPDATE, by year).
    SQLite: a write that changes nothing takes the database's write lock, so what is read next is current
    and nobody changes it before this transaction ends.
    """
    if is_sqlite(session):
        await session.execute(_WRITE_LOCK)
        return
    await advisory_lock(session, _LEDGER_KEY, shared=not exclusive)
    for fy in sorted(set(rate_years)):
        await advisory_lock(session, _RATE_KEY | fy)
    await lock_ids(session, children)


def for_update(stmt: Select[Any]) -> Select[Any]:
    return stmt.with_for_update().execution_options(populate_existing=True)


# --------------------------------------------------------------------------------------------- settings


_RATES_OF_YEAR = select(Rate).where(Rate.fy == bindparam("fy")).order_by(Rate.placement_type)


class Rates:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_year(self, fy: int) -> list[Rate]:
        return list((await self.session.execute(_RATES_OF_YEAR, {"fy": fy})).scalars())

    async def card(self, fy: int) -> dict[str, Decimal]:
        return {r.placement_type: r.daily_rate for r in await self.of_year(fy)}

    async def replace(self, fy: int, rates: dict[str, Decimal], actor: str) -> None:
        await self.session.execute(delete(Rate).where(Rate.fy == fy))
        now = utcnow()
        self.session.add_all(
            Rate(fy=fy, placement_type=t, daily_rate=r, set_by=actor, set_at=now) for t, r in sorted(rates.items())
        )
        await self.session.flush()


class Targets:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, fy: int) -> Target | None:
        return await self.session.get(Target, fy, populate_existing=True)

    async def of_years(self, first: int, last: int) -> dict[int, Target]:
        stmt = select(Target).where(Target.fy.between(first, last))
        return {t.fy: t for t in (await self.session.execute(stmt)).scalars()}

    async def put(self, fy: int, children_diverted: int, gross_savings: Decimal, actor: str) -> Target:
        target = await self.get(fy)
        if target is None:
            target = Target(fy=fy)
            self.session.add(target)
        target.children_diverted = children_diverted
        target.gross_savings = gross_savings
        target.set_by = actor
        target.set_at = utcnow()
        await self.session.flush()
        return target


def domain_targets(target: Target | None) -> savings.Targets | None:
    if target is None:
        return None
    return savings.Targets(children_diverted=target.children_diverted, gross_savings=target.gross_savings)


class ProgrammeCosts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_year(self, fy: int) -> list[ProgrammeCost]:
        stmt = select(ProgrammeCost).where(ProgrammeCost.fy == fy).order_by(ProgrammeCost.programme)
        return list((await self.session.execute(stmt)).scalars())

    async def replace(self, fy: int, costs: dict[str, Decimal], actor: str) -> None:
        await self.session.execute(delete(ProgrammeCost).where(ProgrammeCost.fy == fy))
        now = utcnow()
        self.session.add_all(
            ProgrammeCost(fy=fy, programme=p, cost=c, set_by=actor, set_at=now) for p, c in sorted(costs.items())
        )
        await self.session.flush()


_CURRENT_RULE_KEY = (
    select(PlacementRuleVersion.version, PlacementRuleVersion.created_at)
    .order_by(PlacementRuleVersion.version.desc()).limit(1)
)


class PlacementRules:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self) -> PlacementRuleVersion | None:
        stmt = select(PlacementRuleVersion).order_by(PlacementRuleVersion.version.desc()).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def current_key(self) -> tuple[int, datetime] | None:
        """The highest version and when it was stored, without the document."""
        row = (await self.session.execute(_CURRENT_RULE_KEY)).first()
        return None if row is None else (row[0], row[1])

    async def get(self, version: int) -> PlacementRuleVersion | None:
        return await self.session.get(PlacementRuleVersion, version)

    async def add(self, version: int, rules: dict[str, Any], actor: str) -> PlacementRuleVersion:
        row = PlacementRuleVersion(version=version, rules=rules, created_by=actor, created_at=utcnow())
        self.session.add(row)
        await self.session.flush()
        return row


# --------------------------------------------------------------------------------------------- projections


_PROJECTIONS_OF = (
    select(Projection).where(Projection.child_id.in_(bindparam("ids", expanding=True)))
    .execution_options(populate_existing=True)
)


class Projections:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, child_id: uuid.UUID) -> Projection | None:
        return await self.session.get(Projection, child_id, populate_existing=True)

    async def of_children(self, child_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Projection]:
        found: dict[uuid.UUID, Projection] = {}
        for part in chunks(list(child_ids)):
            found.update({p.child_id: p for p in (await self.session.execute(_PROJECTIONS_OF, {"ids": part})).scalars()})
        return found

    async def proposed_of_rate_year(self, fy: int) -> list[uuid.UUID]:
        stmt = select(Projection.child_id).where(Projection.rate_fy == fy, Projection.status == "proposed")
        return list((await self.session.execute(stmt)).scalars())

    async def history(self, child_id: uuid.UUID) -> list[ProjectionVersion]:
        stmt = select(ProjectionVersion).where(ProjectionVersion.child_id == child_id).order_by(ProjectionVersion.version)
        return list((await self.session.execute(stmt)).scalars())


# --------------------------------------------------------------------------------------------- facts


@dataclass
class ChildFacts:
    """Everything a child's ledger positions rest on, as domain objects (ids as strings)."""

    interventions: list[savings.Intervention] = field(default_factory=list)
    projection: savings.Projection | None = None
    followups: list[savings.FollowUp] = field(default_factory=list)

    @property
    def years(self) -> set[int]:
        from eoc_shared.finyear import financial_year_of

        return {financial_year_of(i.started_on) for i in self.interventions}


def _intervention(row: Any) -> savings.Intervention:
    child = str(row.child_id)
    closed = row.closed_on is not None
    outcomes = {child: row.living_situation} if closed and row.living_situation is not None else {}
    return savings.Intervention(
        id=str(row.id), family_id=str(row.family_id), child_ids=(child,), programme=row.programme,
        started_on=row.started_on, closed_on=row.closed_on, reason=row.reason if closed else None,
        child_outcomes=outcomes,
    )


_INTERVENTIONS_OF_CHILDREN = (
    select(InterventionChild.child_id, InterventionChild.living_situation, InterventionFact.id,
           InterventionFact.family_id, InterventionFact.programme, InterventionFact.started_on,
           InterventionFact.closed_on, InterventionFact.reason)
    .join(InterventionFact, InterventionFact.id == InterventionChild.intervention_id)
    .where(InterventionChild.child_id.in_(bindparam("ids", expanding=True)))
)


async def interventions_of(session: AsyncSession, child_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ChildFacts]:
    """Each child's interventions, as far as that child is concerned: the first of the facts a position rests on
    (add_projections_and_followups reads the rest, when there is a position to compute)."""
    facts: dict[uuid.UUID, ChildFacts] = {c: ChildFacts() for c in child_ids}
    for part in chunks(list(child_ids)):
        for row in await session.execute(_INTERVENTIONS_OF_CHILDREN, {"ids": part}):
            facts[row.child_id].interventions.append(_intervention(row))
    return facts


async def add_projections_and_followups(session: AsyncSession, facts: dict[uuid.UUID, ChildFacts]) -> None:
    """Each child's rated projection and follow-ups, into the facts interventions_of made."""
    for part in chunks(list(facts)):
        stmt2 = select(Projection.child_id, Projection.placement_type, Projection.daily_rate).where(
            Projection.child_id.in_(part), Projection.daily_rate.is_not(None)
        )
        for rate in await session.execute(stmt2):
            facts[rate.child_id].projection = savings.Projection(str(rate.child_id), rate.placement_type, rate.daily_rate)
        stmt3 = select(FollowupFact.child_id, FollowupFact.observed_on, FollowupFact.living_situation).where(
            FollowupFact.child_id.in_(part)
        )
        for seen in await session.execute(stmt3):
            facts[seen.child_id].followups.append(savings.FollowUp(str(seen.child_id), seen.observed_on,
                                                                   seen.living_situation))


class Interventions:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, intervention_id: uuid.UUID) -> InterventionFact | None:
        return await self.session.get(InterventionFact, intervention_id, populate_existing=True)

    async def children(self, intervention_id: uuid.UUID) -> dict[uuid.UUID, InterventionChild]:
        stmt = select(InterventionChild).where(InterventionChild.intervention_id == intervention_id)
        rows = (await self.session.execute(stmt.execution_options(populate_existing=True))).scalars()
        return {r.child_id: r for r in rows}

    async def family_served(self, fy: int, family_id: uuid.UUID) -> bool:
        stmt = select(InterventionFact.id).where(InterventionFact.fy == fy, InterventionFact.family_id == family_id)
        return (await self.session.execute(stmt.limit(1))).first() is not None

    async def activity(self, fy: int) -> dict[str, ProgrammeActivity]:
        """Distinct families and children per programme among the interventions started in the year."""
        stmt = (
            select(InterventionFact.programme, func.count(func.distinct(InterventionFact.family_id)),
                   func.count(func.distinct(InterventionChild.child_id)))
            .join(InterventionChild, InterventionChild.intervention_id == InterventionFact.id)
            .where(InterventionFact.fy == fy)
            .group_by(InterventionFact.programme)
        )
        return {p: ProgrammeActivity(int(f), int(c)) for p, f, c in await self.session.execute(stmt)}


# --------------------------------------------------------------------------------------------- the ledger


def position_of(row: LedgerEntry | None) -> ChildPosition | None:
    if row is None:
        return None
    return ChildPosition(
        fy=row.fy,
        child_id=str(row.child_id),
        closed=row.closed,
        diverted=row.diverted,
        credited_intervention=None if row.credited_intervention_id is None else str(row.credited_intervention_id),
        credited_programme=row.credited_programme,
        credited_started_on=row.credited_started_on,
        daily_rate=row.daily_rate,
        annual_cost_avoided=row.annual_cost_avoided,
        full_year=row.full_year,
        in_year=row.in_year,
        high_cost=row.high_cost,
        breakdown_on=row.breakdown_on,
        breakdown_situation=row.breakdown_situation,
    )


def entry_values(position: ChildPosition) -> dict[str, Any]:
    return {
        "fy": position.fy,
        "child_id": uuid.UUID(position.child_id),
        "closed": position.closed,
        "diverted": position.diverted,
        "credited_intervention_id": (
            None if position.credited_intervention is None else uuid.UUID(position.credited_intervention)
        ),
        "credited_programme": position.credited_programme,
        "credited_started_on": position.credited_started_on,
        "daily_rate": position.daily_rate,
        "annual_cost_avoided": position.annual_cost_avoided,
        "full_year": position.full_year,
        "in_year": position.in_year,
        "high_cost": position.high_cost,
        "breakdown_on": position.breakdown_on,
        "breakdown_situation": position.breakdown_situation,
        "updated_at": utcnow(),
    }


_ENTRIES_OF = (
    select(LedgerEntry).where(LedgerEntry.child_id.in_(bindparam("ids", expanding=True)))
    .execution_options(populate_existing=True)
)


class Ledger:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def entries_of(self, child_ids: Sequence[uuid.UUID]) -> dict[tuple[int, uuid.UUID], LedgerEntry]:
        found: dict[tuple[int, uuid.UUID], LedgerEntry] = {}
        for part in chunks(list(child_ids)):
            entries = (await self.session.execute(_ENTRIES_OF, {"ids": part})).scalars()
            found.update({(e.fy, e.child_id): e for e in entries})
        return found

    async def has_family(self, fy: int, family_id: uuid.UUID) -> bool:
        return await self.session.get(LedgerFamily, (fy, family_id)) is not None

    async def apply(self, years: dict[int, YearTotals], programmes: dict[tuple[int, str], ProgrammeTotals]) -> None:
        """Move the totals by the deltas, locking each totals row (years, then programmes, in order)."""
        now = utcnow()
        for fy in sorted(years):
            delta = years[fy]
            if delta.is_zero():
                continue
            row = await self._row(LedgerYear, LedgerYear.fy == fy, {"fy": fy})
            for name, value in delta.as_dict().items():
                setattr(row, name, getattr(row, name) + value)
            row.updated_at = now
        for (fy, programme) in sorted(programmes):
            part = programmes[(fy, programme)]
            if part.is_zero():
                continue
            row = await self._row(LedgerProgramme, (LedgerProgramme.fy == fy) & (LedgerProgramme.programme == programme),
                                  {"fy": fy, "programme": programme})
            row.children_diverted += part.children_diverted
            row.full_year += part.full_year
            row.in_year += part.in_year
            row.updated_at = now
        await self.session.flush()

    async def _row(self, model: type, where: Any, key: dict[str, Any]) -> Any:
        row = (await self.session.execute(for_update(select(model).where(where)))).scalar_one_or_none()
        if row is None:
            zero = {"full_year": Decimal(0), "in_year": Decimal(0), "children_diverted": 0, "updated_at": utcnow()}
            if model is LedgerYear:
                zero |= {"families_served": 0, "children_served": 0, "children_closed": 0, "costed_children": 0,
                         "costed_annual": Decimal(0), "high_cost_children": 0, "breakdowns": 0}
            await self.session.execute(insert_ignoring_duplicates(self.session, model).values(**key, **zero)
                                       .on_conflict_do_nothing())
            row = (await self.session.execute(for_update(select(model).where(where)))).scalar_one()
        return row

    async def year(self, fy: int) -> YearTotals:
        row = await self.session.get(LedgerYear, fy, populate_existing=True)
        return totals_of(row)

    async def years(self, first: int, last: int) -> dict[int, YearTotals]:
        stmt = select(LedgerYear).where(LedgerYear.fy.between(first, last))
        return {r.fy: totals_of(r) for r in (await self.session.execute(stmt)).scalars()}

    async def programmes(self, fy: int) -> dict[str, ProgrammeTotals]:
        stmt = select(LedgerProgramme).where(LedgerProgramme.fy == fy)
        return {
            r.programme: ProgrammeTotals(r.children_diverted, r.full_year, r.in_year)
            for r in (await self.session.execute(stmt)).scalars()
        }

    async def breakdowns(self, fy: int) -> list[Breakdown]:
        stmt = (
            select(LedgerEntry.child_id, LedgerEntry.breakdown_on, LedgerEntry.breakdown_situation)
            .where(LedgerEntry.fy == fy, LedgerEntry.breakdown_on.is_not(None))
            .order_by(LedgerEntry.breakdown_on, LedgerEntry.child_id)
        )
        # both columns are set on every row the WHERE clause keeps
        return [Breakdown(str(c), d, s) for c, d, s in await self.session.execute(stmt)]  # type: ignore[arg-type]

    async def high_cost(self, fy: int, limit: int, offset: int) -> tuple[int, list[Any]]:
        where = (LedgerEntry.fy == fy) & LedgerEntry.high_cost.is_(True)
        total = (await self.session.execute(select(func.count()).select_from(LedgerEntry).where(where))).scalar_one()
        stmt = (
            select(LedgerEntry, Projection)
            .join(Projection, Projection.child_id == LedgerEntry.child_id)
            .where(where)
            .order_by(Projection.daily_rate.desc(), LedgerEntry.child_id)
            .limit(limit)
            .offset(offset)
        )
        return int(total), list(await self.session.execute(stmt))


def totals_of(row: LedgerYear | None) -> YearTotals:
    if row is None:
        return YearTotals()
    return YearTotals(
        families_served=row.families_served, children_served=row.children_served,
        children_closed=row.children_closed, children_diverted=row.children_diverted, full_year=row.full_year,
        in_year=row.in_year, costed_children=row.costed_children, costed_annual=row.costed_annual,
        high_cost_children=row.high_cost_children, breakdowns=row.breakdowns,
    )


# --------------------------------------------------------------------------------------------- access log


class AccessLog(AccessLogRepository[AccessEntry]):
    """Appends and reads only (eoc_shared.audit); the table refuses UPDATE and DELETE."""

    model = AccessEntry
