"""Queries of eligibility-svc."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility_svc.db.models import AccessEntry, CasePractitioner, DecisionRecord, RuleSetRecord
from eoc_shared.audit import AccessLogRepository

# Asked for every referral decided: built once, with the day as a bound parameter.
_IN_FORCE_KEY = (
    select(RuleSetRecord.version, RuleSetRecord.created_at)
    .where(RuleSetRecord.effective_from <= bindparam("as_of"))
    .order_by(RuleSetRecord.effective_from.desc(), RuleSetRecord.version.desc())
    .limit(1)
)


class RuleSets:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> Sequence[RuleSetRecord]:
        return (await self.session.execute(select(RuleSetRecord).order_by(RuleSetRecord.version))).scalars().all()

    async def get(self, version: int) -> RuleSetRecord | None:
        return await self.session.get(RuleSetRecord, version)

    async def many(self, versions: Iterable[int]) -> dict[int, RuleSetRecord]:
        wanted = sorted(set(versions))
        if not wanted:
            return {}
        rows = (await self.session.execute(select(RuleSetRecord).where(RuleSetRecord.version.in_(wanted)))).scalars()
        return {r.version: r for r in rows}

    async def in_force(self, as_of: date) -> RuleSetRecord | None:
        """The latest effective date on or before `as_of`; on the same date, the higher version."""
        stmt = (
            select(RuleSetRecord)
            .where(RuleSetRecord.effective_from <= as_of)
            .order_by(RuleSetRecord.effective_from.desc(), RuleSetRecord.version.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def in_force_key(self, as_of: date) -> tuple[int, datetime] | None:
        """As `in_force`, but only (version, created_at): enough to find an already parsed rule set."""
        row = (await self.session.execute(_IN_FORCE_KEY, {"as_of": as_of})).first()
        return None if row is None else (row.version, row.created_at)


class Decisions:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def latest(self, referral_id: uuid.UUID) -> DecisionRecord | None:
        stmt = (
            select(DecisionRecord)
            .where(DecisionRecord.referral_id == referral_id)
            .order_by(DecisionRecord.decided_at.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def history(self, referral_id: uuid.UUID) -> Sequence[DecisionRecord]:
        stmt = select(DecisionRecord).where(DecisionRecord.referral_id == referral_id).order_by(DecisionRecord.decided_at)
        return (await self.session.execute(stmt)).scalars().all()

    async def latest_per_referral(self, referred_from: date, referred_to: date) -> list[DecisionRecord]:
        """The latest decision of each referral whose latest decision is dated (by referral date) in the period."""
        latest = (
            select(DecisionRecord.referral_id, func.max(DecisionRecord.decided_at).label("at"))
            .group_by(DecisionRecord.referral_id)
            .subquery()
        )
        stmt = (
            select(DecisionRecord)
            .join(latest, and_(DecisionRecord.referral_id == latest.c.referral_id, DecisionRecord.decided_at == latest.c.at))
            .where(DecisionRecord.referred_on >= referred_from, DecisionRecord.referred_on <= referred_to)
            .order_by(DecisionRecord.referral_id, DecisionRecord.id)
        )
        one_each: dict[uuid.UUID, DecisionRecord] = {}
        for record in (await self.session.execute(stmt)).scalars():
            one_each.setdefault(record.referral_id, record)  # two decisions in the same microsecond: keep one
        return list(one_each.values())


class AccessLog(AccessLogRepository[AccessEntry]):
    """Appends and reads only (eoc_shared.audit); the table refuses UPDATE and DELETE."""

    model = AccessEntry


class CasePractitioners:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def works(self, practitioner: str, referral_id: uuid.UUID) -> bool:
        stmt = select(CasePractitioner.referral_id).where(
            CasePractitioner.referral_id == referral_id, CasePractitioner.practitioner == practitioner)
        return (await self.session.execute(stmt)).first() is not None

    async def add(self, referral_id: uuid.UUID, practitioner: str, at: datetime) -> None:
        if not await self.works(practitioner, referral_id):
            self.session.add(CasePractitioner(referral_id=referral_id, practitioner=practitioner, learned_at=at))
