"""Queries of the pre-proceedings record, kept out of the operations and the endpoints."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from referral_svc.db.models import Child, Family, Referral, ReferralChild
from referral_svc.db.pre_proceedings_models import (
    CareApplication,
    FgdmException,
    FgdmMeeting,
    FgdmOffer,
    PreProceedings,
    PreProceedingsParty,
)
from referral_svc.db.repositories import lock_rows


@dataclass(frozen=True)
class Loaded:
    """One record with everything recorded on it, oldest first."""

    record: PreProceedings
    parties: list[PreProceedingsParty]
    offers: list[FgdmOffer]
    meetings: list[FgdmMeeting]
    exceptions: list[FgdmException]
    application: CareApplication | None


class PreProceedingsRecords:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, record_id: uuid.UUID, *, for_update: bool = False) -> PreProceedings | None:
        stmt = select(PreProceedings).where(PreProceedings.id == record_id)
        if for_update:
            stmt = await lock_rows(self.session, stmt)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def open_of_referral(self, referral_id: uuid.UUID) -> PreProceedings | None:
        stmt = select(PreProceedings).where(PreProceedings.referral_id == referral_id, PreProceedings.status == "open")
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def offer(self, offer_id: uuid.UUID) -> FgdmOffer | None:
        return (await self.session.execute(select(FgdmOffer).where(FgdmOffer.id == offer_id))).scalar_one_or_none()

    async def load(self, record: PreProceedings) -> Loaded:
        return (await self.load_many([record]))[record.id]

    async def load_many(self, records: Sequence[PreProceedings]) -> dict[uuid.UUID, Loaded]:
        ids = [r.id for r in records]
        if not ids:
            return {}

        async def rows(model, order):  # noqa: ANN001, ANN202
            stmt = select(model).where(model.pre_proceedings_id.in_(ids)).order_by(*order)
            return (await self.session.execute(stmt)).scalars().all()

        parties = await rows(PreProceedingsParty, [PreProceedingsParty.created_at, PreProceedingsParty.id])
        offers = await rows(FgdmOffer, [FgdmOffer.offered_on, FgdmOffer.created_at, FgdmOffer.id])
        meetings = await rows(FgdmMeeting, [FgdmMeeting.held_on, FgdmMeeting.created_at, FgdmMeeting.id])
        exceptions = await rows(FgdmException, [FgdmException.decided_on, FgdmException.created_at, FgdmException.id])
        applications = await rows(CareApplication, [CareApplication.applied_on])
        return {
            r.id: Loaded(
                r,
                [p for p in parties if p.pre_proceedings_id == r.id],
                [o for o in offers if o.pre_proceedings_id == r.id],
                [m for m in meetings if m.pre_proceedings_id == r.id],
                [e for e in exceptions if e.pre_proceedings_id == r.id],
                next((a for a in applications if a.pre_proceedings_id == r.id), None),
            )
            for r in records
        }

    async def of_referrals(self, referral_ids: Sequence[uuid.UUID]) -> Sequence[PreProceedings]:
        stmt = (select(PreProceedings).where(PreProceedings.referral_id.in_(list(referral_ids)))
                .order_by(PreProceedings.started_on, PreProceedings.created_at))
        return (await self.session.execute(stmt)).scalars().all()

    async def started_between(self, start: date, end: date) -> Sequence[PreProceedings]:
        stmt = (select(PreProceedings).where(PreProceedings.started_on >= start, PreProceedings.started_on <= end)
                .order_by(PreProceedings.started_on, PreProceedings.id))
        return (await self.session.execute(stmt)).scalars().all()

    async def open_offer_due_before(self, as_of: date) -> Sequence[PreProceedings]:
        """Open records whose offers were due before `as_of`: candidates for the overdue-offer timer."""
        stmt = (select(PreProceedings)
                .where(PreProceedings.status == "open", PreProceedings.offer_due_on < as_of)
                .order_by(PreProceedings.offer_due_on, PreProceedings.id))
        return (await self.session.execute(stmt)).scalars().all()

    async def claim_offer_escalation(self, record_id: uuid.UUID, as_of: date, now) -> bool:  # noqa: ANN001
        """Mark the overdue-offer escalation sent, once: a concurrent run that got there first wins."""
        stmt = (update(PreProceedings)
                .where(PreProceedings.id == record_id, PreProceedings.offer_overdue_sent_at.is_(None))
                .values(offer_overdue_as_of=as_of, offer_overdue_sent_at=now)
                .returning(PreProceedings.id)
                .execution_options(synchronize_session=False))
        return (await self.session.execute(stmt)).first() is not None

    async def referral_children(self, referral_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[tuple[Child, Family]]]:
        """The children of each referral with their family, for the equity groupings."""
        stmt = (select(ReferralChild.referral_id, Child, Family)
                .join(Child, Child.id == ReferralChild.child_id).join(Family, Family.id == Child.family_id)
                .where(ReferralChild.referral_id.in_(list(referral_ids))).order_by(ReferralChild.position))
        out: dict[uuid.UUID, list[tuple[Child, Family]]] = {rid: [] for rid in referral_ids}
        for rid, child, family in (await self.session.execute(stmt)).all():
            out[rid].append((child, family))
        return out

    async def referrals(self, referral_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Referral]:
        stmt = select(Referral).where(Referral.id.in_(list(referral_ids)))
        return {r.id: r for r in (await self.session.execute(stmt)).scalars()}
