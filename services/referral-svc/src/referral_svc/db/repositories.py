"""Queries of referral-svc, kept out of the endpoints."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Table, and_, bindparam, false, func, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from eoc_shared.audit import AccessLogRepository
from eoc_shared.bulk import Dependent, insert_rows, insert_with_dependents
from eoc_shared.db import OutboxRows
from referral_svc.db.models import (
    AuditEntry,
    CareStatusChange,
    Child,
    Family,
    FollowupSeen,
    Intervention,
    Outbox,
    PartnerEvent,
    ProgrammeSetting,
    Referral,
    ReferralChild,
    StatusChange,
    WaitingEntry,
)
from referral_svc.domain.timers import ACTIVE_INTERVENTION, AWAITING_DECISION, OPEN

ACTIVE = "active"
CLOSED = "closed"
WAITING = "waiting"


def consent_overdue_on(as_of: date) -> Any:
    """`domain.timers.consent_overdue` as a condition, so that a filtered page holds what its rows show."""
    return and_(Referral.status.in_(sorted(OPEN)), Referral.consent_signed_on.is_(None),
                Referral.consent_due_on < as_of)


def assessment_overdue_on(as_of: date) -> Any:
    """`domain.timers.assessment_overdue` as a condition."""
    return and_(Referral.status.in_(sorted(AWAITING_DECISION)), Referral.eligibility_decided_at.is_(None),
                Referral.assessment_due_on < as_of)


def past_expected_end_on(as_of: date) -> Any:
    """`domain.timers.past_expected_end` as a condition."""
    return and_(Intervention.status == ACTIVE_INTERVENTION, Intervention.expected_end_on < as_of)


class Who(Protocol):
    """Anyone who acts on a record: a token's principal or the service itself."""

    @property
    def actor(self) -> str: ...

    @property
    def role(self) -> object: ...


def role_name(who: Who) -> str:
    role = who.role
    return str(getattr(role, "value", role))


async def lock_rows(session: AsyncSession, stmt: Any) -> Any:
    """`SELECT … FOR UPDATE` on PostgreSQL. SQLite has no row locks and the driver opens a transaction only
    at the first write, so there a write that changes nothing first takes the database's write lock: the
    rows read next are current and no one else changes them before this transaction ends."""
    await sqlite_write_lock(session)
    return stmt.with_for_update()


_WRITE_LOCK = update(ProgrammeSetting).where(false()).values(capacity=ProgrammeSetting.capacity)


async def sqlite_write_lock(session: AsyncSession) -> None:
    """On SQLite, the first half of `lock_rows`, for a statement built with its FOR UPDATE beforehand."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(_WRITE_LOCK)


_FAMILIES: Table = Family.__table__  # type: ignore[assignment]
_CHILDREN: Table = Child.__table__  # type: ignore[assignment]
_FAMILY_EXISTS = select(_FAMILIES.c.id).where(_FAMILIES.c.id == bindparam("family_id"))


class Families:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_new(self, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
        """Insert the families (all with the same keys, `id` among them) in one statement; answers the ids really
        inserted. A row whose la_reference is held already, also by an earlier row of these, is skipped."""
        return set(await insert_rows(self.session, _FAMILIES, rows, skip_conflicts_on=("la_reference",),
                                     returning="id"))

    async def existing(self, family_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these families are registered."""
        return set((await self.session.execute(select(_FAMILIES.c.id).where(_FAMILIES.c.id.in_(family_ids)))).scalars())

    async def exists(self, family_id: uuid.UUID) -> bool:
        return (await self.session.execute(_FAMILY_EXISTS, {"family_id": family_id})).first() is not None

    async def get(self, family_id: uuid.UUID, *, for_update: bool = False) -> Family | None:
        stmt = select(Family).where(Family.id == family_id)
        if for_update:
            stmt = await lock_rows(self.session, stmt)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_reference(self, la_reference: str) -> Family | None:
        return (await self.session.execute(select(Family).where(Family.la_reference == la_reference))).scalar_one_or_none()

    async def child_ids(self, family_id: uuid.UUID) -> list[uuid.UUID]:
        stmt = select(Child.id).where(Child.family_id == family_id).order_by(Child.created_at, Child.id)
        return list((await self.session.execute(stmt)).scalars())


class ChildOnReferral(NamedTuple):
    """What a referral and its events need of a child: its family, the date of birth its age is taken from, and
    its codes. No names: a referral's decision path has no use for them."""

    id: uuid.UUID
    family_id: uuid.UUID
    date_of_birth: date
    legal_status: str
    placement_type: str | None


_CHILDREN_ON_REFERRAL = (
    select(Child.id, Child.family_id, Child.date_of_birth, Child.legal_status, Child.placement_type)
    .where(Child.id.in_(bindparam("ids", expanding=True))).execution_options(autoflush=False)
)


class Children:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def on_referral(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ChildOnReferral]:
        """Those columns only, not whole Child objects (loading them was a third of applying a decision). No
        autoflush: a transaction that makes or moves a referral never changes a child, so what is pending (the
        referral's own changes) need not be written first — it goes in the one flush at commit."""
        rows = await self.session.execute(_CHILDREN_ON_REFERRAL, {"ids": list(ids)})
        return {row[0]: ChildOnReferral(*row) for row in rows}

    async def insert_new(self, rows: list[dict[str, Any]], audited: Dependent) -> set[uuid.UUID]:
        """Insert the children (all with the same keys, `id` among them) and, for those inserted, their `audited`
        rows, in one statement on PostgreSQL; answers the ids really inserted. A row whose la_child_id or NHS
        number is held already, also by an earlier row of these, is skipped: `taken` tells which."""
        columns = {name: [row[name] for row in rows] for name in rows[0]}
        return set(await insert_with_dependents(self.session, _CHILDREN, columns, [audited], skip_any_conflict=True))

    async def taken(self, la_child_ids: Sequence[str], nhs_numbers: Sequence[str]) -> tuple[set[str], set[str]]:
        """Which of these la_child_ids, and which of these NHS numbers, a child holds."""
        la = set((await self.session.execute(select(Child.la_child_id).where(Child.la_child_id.in_(la_child_ids)))
                  ).scalars()) if la_child_ids else set()
        nhs = set((await self.session.execute(select(Child.nhs_number).where(Child.nhs_number.in_(nhs_numbers)))
                   ).scalars()) if nhs_numbers else set()
        return la, nhs  # type: ignore[return-value]  # nhs_number is not null where it matched

    async def get(self, child_id: uuid.UUID, *, for_update: bool = False) -> Child | None:
        stmt = select(Child).where(Child.id == child_id)
        if for_update:
            stmt = await lock_rows(self.session, stmt)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_la_child_id(self, la_child_id: str) -> Child | None:
        return (await self.session.execute(select(Child).where(Child.la_child_id == la_child_id))).scalar_one_or_none()

    async def by_nhs_number(self, nhs_number: str) -> Child | None:
        return (await self.session.execute(select(Child).where(Child.nhs_number == nhs_number))).scalar_one_or_none()

    async def referral_ids(self, child_id: uuid.UUID) -> list[uuid.UUID]:
        stmt = (
            select(Referral.id).join(ReferralChild, ReferralChild.referral_id == Referral.id)
            .where(ReferralChild.child_id == child_id).order_by(Referral.referred_on, Referral.created_at)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def care_changes(self, child_id: uuid.UUID) -> Sequence[CareStatusChange]:
        stmt = select(CareStatusChange).where(CareStatusChange.child_id == child_id).order_by(CareStatusChange.seq)
        return (await self.session.execute(stmt)).scalars().all()

    async def earliest_referral_date(self, child_id: uuid.UUID):  # noqa: ANN201 - date | None
        stmt = (
            select(func.min(Referral.referred_on)).join(ReferralChild, ReferralChild.referral_id == Referral.id)
            .where(ReferralChild.child_id == child_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()


# The hot reads' statements, built once: building one per call (and its cache key) was a fifth of a small read.
_REFERRAL_WITH_CHILDREN = (
    select(Referral).options(joinedload(Referral.children)).where(Referral.id == bindparam("referral_id"))
)
_REFERRAL_WITH_CHILDREN_FOR_UPDATE = _REFERRAL_WITH_CHILDREN.with_for_update(of=Referral)  # not the joined children


_REFERRALS: Table = Referral.__table__  # type: ignore[assignment]
_REFERRAL_CHILDREN: Table = ReferralChild.__table__  # type: ignore[assignment]
_STATUS_CHANGES: Table = StatusChange.__table__  # type: ignore[assignment]
_OUTBOX: Table = Outbox.__table__  # type: ignore[attr-defined]


class Referrals:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_new(self, referral: Referral, first_status: StatusChange, announced: OutboxRows,
                         audited: Dependent) -> None:
        """A new referral (built, not added to the session: its values are what the answer is made of), with its
        children, its first status, its announcement and its audit rows: one statement on PostgreSQL (no
        transaction needed around it), one INSERT per table in the transaction on SQLite."""
        def values(table: Table, row: Any) -> dict[str, list[Any]]:
            # An unset attribute (None) is left to the table: NULL, or the identity's next value (seq).
            return {column.name: [getattr(row, column.key)] for column in table.columns
                    if getattr(row, column.key, None) is not None}

        links = referral.children
        await insert_with_dependents(self.session, _REFERRALS, values(_REFERRALS, referral), [
            Dependent(_REFERRAL_CHILDREN, {"referral_id": [referral.id] * len(links),
                                           "child_id": [link.child_id for link in links],
                                           "position": [link.position for link in links]}, [referral.id] * len(links)),
            Dependent(_STATUS_CHANGES, values(_STATUS_CHANGES, first_status), [referral.id]),
            Dependent(_OUTBOX, announced.columns(), [referral.id] * announced.count, json_text=True, in_order=True),
            audited,
        ])

    async def get(self, referral_id: uuid.UUID, *, for_update: bool = False) -> Referral | None:
        # Its children in the same statement (one referral: a join, not the second SELECT `selectin` makes).
        stmt = _REFERRAL_WITH_CHILDREN
        if for_update:
            await sqlite_write_lock(self.session)
            stmt = _REFERRAL_WITH_CHILDREN_FOR_UPDATE
        return (await self.session.execute(stmt, {"referral_id": referral_id})).unique().scalar_one_or_none()

    async def of_child(self, child_id: uuid.UUID) -> Sequence[Referral]:
        stmt = (
            select(Referral).join(ReferralChild, ReferralChild.referral_id == Referral.id)
            .where(ReferralChild.child_id == child_id).order_by(Referral.referred_on, Referral.created_at)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def listing(self, *, statuses: Sequence[str] | None = None, team: str | None = None,
                      overdue: Sequence[str] = (), as_of: date | None = None,
                      limit: int = 200, offset: int = 0) -> Sequence[Referral]:
        """Referrals, oldest first; `overdue` (`consent`, `assessment`: all of them) on `as_of`, from the dates."""
        stmt = select(Referral)
        if statuses:
            stmt = stmt.where(Referral.status.in_(list(statuses)))
        if overdue:
            if as_of is None:
                raise ValueError("overdue needs the day it is read on")
            timers = {"consent": consent_overdue_on, "assessment": assessment_overdue_on}
            stmt = stmt.where(*(timers[t](as_of) for t in overdue))
        if team is not None:
            stmt = stmt.where(Referral.team == team)
        stmt = stmt.order_by(Referral.referred_on, Referral.created_at, Referral.id).limit(limit).offset(offset)
        return (await self.session.execute(stmt)).scalars().all()

    async def open_with_timers_due(self, as_of: date) -> Sequence[Referral]:
        """Referrals whose consent or assessment is overdue on `as_of` (the timers' rules, as conditions)."""
        stmt = select(Referral).where(
            or_(consent_overdue_on(as_of), assessment_overdue_on(as_of)),
        ).order_by(Referral.referred_on, Referral.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def status_history(self, referral_ids: Sequence[uuid.UUID]) -> Sequence[StatusChange]:
        stmt = select(StatusChange).where(StatusChange.referral_id.in_(list(referral_ids))).order_by(StatusChange.seq)
        return (await self.session.execute(stmt)).scalars().all()

    async def child_ids_of(self, referral_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
        stmt = (
            select(ReferralChild.referral_id, ReferralChild.child_id)
            .where(ReferralChild.referral_id.in_(list(referral_ids))).order_by(ReferralChild.position)
        )
        out: dict[uuid.UUID, list[uuid.UUID]] = {rid: [] for rid in referral_ids}
        for rid, cid in (await self.session.execute(stmt)).all():
            out[rid].append(cid)
        return out


_INTERVENTIONS_OF_REFERRALS = (
    select(Intervention).where(Intervention.referral_id.in_(bindparam("ids", expanding=True)))
    .order_by(Intervention.started_on, Intervention.created_at, Intervention.id)
)


class Interventions:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, intervention_id: uuid.UUID, *, for_update: bool = False) -> Intervention | None:
        stmt = select(Intervention).where(Intervention.id == intervention_id)
        if for_update:
            stmt = await lock_rows(self.session, stmt)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of_referrals(self, referral_ids: Sequence[uuid.UUID]) -> Sequence[Intervention]:
        return (await self.session.execute(_INTERVENTIONS_OF_REFERRALS, {"ids": list(referral_ids)})).scalars().all()

    async def open_of_family(self, family_id: uuid.UUID) -> Sequence[Intervention]:
        stmt = (
            select(Intervention).where(Intervention.family_id == family_id, Intervention.status == ACTIVE)
            .order_by(Intervention.started_on, Intervention.created_at).with_for_update()
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def open_count_of_referral(self, referral_id: uuid.UUID) -> int:
        stmt = select(func.count()).select_from(Intervention).where(
            Intervention.referral_id == referral_id, Intervention.status == ACTIVE
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def active_families(self, programme: str) -> set[uuid.UUID]:
        stmt = select(Intervention.family_id).where(Intervention.programme == programme, Intervention.status == ACTIVE)
        return set((await self.session.execute(stmt)).scalars())

    async def listing(self, *, practitioner: str | None = None, programme: str | None = None,
                      status: str | None = None, past_expected_end: bool | None = None, as_of: date | None = None,
                      limit: int = 200, offset: int = 0) -> Sequence[Intervention]:
        """Interventions, earliest started first; `past_expected_end` (either way) on `as_of`, from the dates."""
        stmt = select(Intervention)
        if past_expected_end is not None:
            if as_of is None:
                raise ValueError("past_expected_end needs the day it is read on")
            past = past_expected_end_on(as_of)
            stmt = stmt.where(past if past_expected_end else not_(past))
        if practitioner is not None:
            stmt = stmt.where(Intervention.practitioner == practitioner)
        if programme is not None:
            stmt = stmt.where(Intervention.programme == programme)
        if status is not None:
            stmt = stmt.where(Intervention.status == status)
        stmt = stmt.order_by(Intervention.started_on, Intervention.created_at, Intervention.id).limit(limit).offset(offset)
        return (await self.session.execute(stmt)).scalars().all()

    async def practitioner_has(self, practitioner: str, *, referral_id: uuid.UUID | None = None,
                               child_id: uuid.UUID | None = None, family_id: uuid.UUID | None = None) -> bool:
        stmt = select(Intervention.id).where(Intervention.practitioner == practitioner)
        if referral_id is not None:
            stmt = stmt.where(Intervention.referral_id == referral_id)
        if family_id is not None:
            stmt = stmt.where(Intervention.family_id == family_id)
        if child_id is not None:
            stmt = stmt.join(ReferralChild, ReferralChild.referral_id == Intervention.referral_id).where(
                ReferralChild.child_id == child_id
            )
        return (await self.session.execute(stmt.limit(1))).first() is not None


class Programmes:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_all(self) -> dict[str, ProgrammeSetting]:
        """Every programme row, locked in one fixed order: starts, closures and capacity changes take
        turns, so a place is never given twice and concurrent cascades cannot deadlock."""
        stmt = await lock_rows(self.session, select(ProgrammeSetting).order_by(ProgrammeSetting.programme))
        return {p.programme: p for p in (await self.session.execute(stmt)).scalars()}

    async def all(self) -> list[ProgrammeSetting]:
        stmt = select(ProgrammeSetting).order_by(ProgrammeSetting.programme)
        return list((await self.session.execute(stmt)).scalars())


_ENTRIES_OF_REFERRAL = (
    select(WaitingEntry).where(WaitingEntry.referral_id == bindparam("referral_id")).order_by(WaitingEntry.joined_at)
)
_WAITING_OF_REFERRAL = _ENTRIES_OF_REFERRAL.where(WaitingEntry.status == WAITING)


class WaitingList:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def waiting(self, programme: str) -> Sequence[WaitingEntry]:
        stmt = select(WaitingEntry).where(WaitingEntry.programme == programme, WaitingEntry.status == WAITING)
        return (await self.session.execute(stmt)).scalars().all()

    async def of_referral(self, referral_id: uuid.UUID, *, only_waiting: bool = True) -> Sequence[WaitingEntry]:
        stmt = _WAITING_OF_REFERRAL if only_waiting else _ENTRIES_OF_REFERRAL
        return (await self.session.execute(stmt, {"referral_id": referral_id})).scalars().all()

    async def of_referrals(self, referral_ids: Sequence[uuid.UUID]) -> Sequence[WaitingEntry]:
        stmt = select(WaitingEntry).where(WaitingEntry.referral_id.in_(list(referral_ids))).order_by(WaitingEntry.joined_at)
        return (await self.session.execute(stmt)).scalars().all()

    async def counts(self) -> dict[str, int]:
        stmt = select(WaitingEntry.programme, func.count()).where(WaitingEntry.status == WAITING).group_by(
            WaitingEntry.programme
        )
        return {p: int(n) for p, n in (await self.session.execute(stmt)).all()}


class PartnerEvents:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, event_id: uuid.UUID, *, for_update: bool = False) -> PartnerEvent | None:
        stmt = select(PartnerEvent).where(PartnerEvent.id == event_id)
        if for_update:
            stmt = await lock_rows(self.session, stmt)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_external_id(self, source: str, external_id: str) -> PartnerEvent | None:
        stmt = select(PartnerEvent).where(PartnerEvent.source == source, PartnerEvent.external_id == external_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of_child(self, child_id: uuid.UUID) -> Sequence[PartnerEvent]:
        stmt = select(PartnerEvent).where(PartnerEvent.child_id == child_id).order_by(PartnerEvent.occurred_at)
        return (await self.session.execute(stmt)).scalars().all()

    async def by_status(self, status: str, *, source: str | None = None, limit: int = 200,
                        offset: int = 0) -> Sequence[PartnerEvent]:
        stmt = select(PartnerEvent).where(PartnerEvent.status == status)
        if source is not None:
            stmt = stmt.where(PartnerEvent.source == source)
        stmt = stmt.order_by(PartnerEvent.received_at, PartnerEvent.id).limit(limit).offset(offset)
        return (await self.session.execute(stmt)).scalars().all()


class Followups:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_child(self, child_id: uuid.UUID) -> Sequence[FollowupSeen]:
        stmt = select(FollowupSeen).where(FollowupSeen.child_id == child_id).order_by(FollowupSeen.due_on)
        return (await self.session.execute(stmt)).scalars().all()


class AuditLog(AccessLogRepository[AuditEntry]):
    """Writes and reads only: the audit log is append-only by construction (and by a database trigger)."""

    model = AuditEntry
