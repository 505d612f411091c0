"""Social workers' work lists: referrals by status or team, and those whose timers are overdue."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from eoc_shared.acting import Acting
from eoc_shared.clock import today
from eoc_shared.db import UnitOfWork
from referral_svc import pre_proceedings
from referral_svc.db.models import Referral
from referral_svc.db.repositories import AuditLog, Referrals
from referral_svc.domain.timers import overdue_timers
from referral_svc.domain.vocab import ReferralStatus


async def list_referrals(
    uow: UnitOfWork, acting: Acting, *, statuses: Sequence[str] | None, team: str | None, limit: int, offset: int,
    overdue: Sequence[str] = (),
) -> Sequence[Referral]:
    """A page of referrals; `overdue` timers as of today, filtered in the query so that paging holds."""
    referrals = await Referrals(uow.session).listing(statuses=statuses, team=team, overdue=overdue, as_of=today(),
                                                     limit=limit, offset=offset)
    AuditLog(uow.session).record(acting, "worklist.read", [c for r in referrals for c in r.child_ids])
    return referrals


@dataclass(frozen=True)
class ByStatus:
    """Every status, in the status machine's order, with its referrals (possibly none)."""

    team: str | None
    referrals: dict[str, list[Referral]]

    @property
    def counts(self) -> dict[str, int]:
        return {status: len(found) for status, found in self.referrals.items()}


async def referrals_by_status(uow: UnitOfWork, acting: Acting, *, team: str | None) -> ByStatus:
    referrals = await Referrals(uow.session).listing(team=team, limit=10_000)
    grouped: dict[str, list[Referral]] = {s.value: [] for s in ReferralStatus}
    for r in referrals:
        grouped[r.status].append(r)
    AuditLog(uow.session).record(acting, "worklist.read", [c for r in referrals for c in r.child_ids])
    return ByStatus(team, grouped)


@dataclass(frozen=True)
class OverdueTimer:
    timer: str  # consent | assessment | fgdm_offer
    due_on: date
    days_overdue: int
    escalated_on: date | None


@dataclass
class OverdueReferral:
    referral_id: uuid.UUID
    family_id: uuid.UUID
    status: str
    referred_on: date
    team: str | None
    child_ids: list[uuid.UUID]
    overdue: list[OverdueTimer] = field(default_factory=list)


async def overdue_worklist(uow: UnitOfWork, acting: Acting, *, as_of: date, team: str | None) -> list[OverdueReferral]:
    """Open referrals whose consent, assessment or FGDM offers are overdue on `as_of`, longest overdue first."""
    rows: dict[uuid.UUID, OverdueReferral] = {}
    for r in await Referrals(uow.session).open_with_timers_due(as_of):
        if team is not None and r.team != team:
            continue
        timers = overdue_timers(
            status=r.status, consent_due_on=r.consent_due_on, consent_signed_on=r.consent_signed_on,
            assessment_due_on=r.assessment_due_on, decided=r.eligibility_decided_at is not None, as_of=as_of,
        )
        if not timers:
            continue
        escalated = {"consent": r.consent_overdue_as_of, "assessment": r.assessment_overdue_as_of}
        rows[r.id] = OverdueReferral(
            r.id, r.family_id, r.status, r.referred_on, r.team, r.child_ids,
            [OverdueTimer(t.timer, t.due_on, t.days_overdue, escalated[t.timer]) for t in timers],
        )
    for o in await pre_proceedings.find_overdue_offers(uow, as_of=as_of, team=team):
        if o.referral_id not in rows:
            rows[o.referral_id] = OverdueReferral(
                o.referral_id, o.family_id, o.referral_status, o.referred_on, o.team, o.child_ids)
        rows[o.referral_id].overdue.append(OverdueTimer("fgdm_offer", o.offer_due_on, o.days_overdue, o.escalated_on))
    found = sorted(rows.values(), key=lambda row: (-max(t.days_overdue for t in row.overdue), row.referred_on))
    AuditLog(uow.session).record(acting, "worklist.read", [c for row in found for c in row.child_ids])
    return found
