"""Queries of eligibility-svc."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility_svc.db.models import DecisionRecord, RuleSetRecord


class RuleSets:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> Sequence[RuleSetRecord]:
        return (await self.session.execute(select(RuleSetRecord).order_by(RuleSetRecord.version))).scalars().all()

    async def get(self, version: int) -> RuleSetRecord | None:
        return await self.session.get(RuleSetRecord, version)

    async def in_force(self, as_of: date) -> RuleSetRecord | None:
        stmt = (
            select(RuleSetRecord)
            .where(RuleSetRecord.effective_from <= as_of)
            .order_by(RuleSetRecord.effective_from.desc(), RuleSetRecord.version.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()


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
