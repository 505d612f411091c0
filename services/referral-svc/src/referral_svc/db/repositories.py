"""Queries of referral-svc, kept out of the endpoints."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eoc_shared.auth import Principal
from eoc_shared.db import utcnow
from referral_svc.db.models import AuditEntry, Child, Family, Referral


class Families:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, family_id: uuid.UUID) -> Family | None:
        return await self.session.get(Family, family_id)

    async def by_reference(self, la_reference: str) -> Family | None:
        return (await self.session.execute(select(Family).where(Family.la_reference == la_reference))).scalar_one_or_none()


class Children:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, child_id: uuid.UUID) -> Child | None:
        return await self.session.get(Child, child_id)

    async def many(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Child]:
        rows = (await self.session.execute(select(Child).where(Child.id.in_(list(ids))))).scalars()
        return {c.id: c for c in rows}

    async def by_la_child_id(self, la_child_id: str) -> Child | None:
        return (await self.session.execute(select(Child).where(Child.la_child_id == la_child_id))).scalar_one_or_none()

    async def by_nhs_number(self, nhs_number: str) -> Child | None:
        return (await self.session.execute(select(Child).where(Child.nhs_number == nhs_number))).scalar_one_or_none()


class Referrals:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, referral_id: uuid.UUID, *, for_update: bool = False) -> Referral | None:
        stmt = select(Referral).where(Referral.id == referral_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()


class AuditLog:
    """Writes only: the audit log is append-only by construction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(self, principal: Principal, action: str, child_ids: Sequence[uuid.UUID], request_id: str | None) -> None:
        now = utcnow()
        for child_id in child_ids:
            self.session.add(
                AuditEntry(at=now, actor=principal.actor, role=principal.role.value, action=action,
                           child_id=child_id, request_id=request_id)
            )

    async def for_child(self, child_id: uuid.UUID) -> Sequence[AuditEntry]:
        stmt = select(AuditEntry).where(AuditEntry.child_id == child_id).order_by(AuditEntry.seq)
        return (await self.session.execute(stmt)).scalars().all()
