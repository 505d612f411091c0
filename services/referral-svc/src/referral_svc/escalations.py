"""The consent and assessment timers: escalate each overdue referral once.

Run periodically by the service (interval from settings) and on demand by ops as of a given date.
Each escalation is claimed with one UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)
RETURNING, only for rows not yet escalated, so concurrent runs on PostgreSQL — two replicas, or the
periodic job and an ops run — never send the same escalation twice: a row one run holds is skipped
by the other, and once committed it no longer matches.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import structlog
from sqlalchemy import select, update

from eoc_shared.acting import Acting
from eoc_shared.clock import today
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.events.schemas import AssessmentOverdue, ConsentOverdue
from referral_svc import pre_proceedings
from referral_svc.db.models import Referral
from referral_svc.db.repositories import AuditLog, Referrals
from referral_svc.domain.timers import AWAITING_DECISION, OPEN

log = structlog.get_logger("referral.timers")


def _claim(*conditions: Any) -> Any:
    """The referrals to escalate, skipping rows another transaction holds: a concurrent run has them (or a
    case change does, and the next run will see them). Never waiting on a row lock, a run cannot deadlock."""
    return select(Referral.id).where(*conditions).with_for_update(skip_locked=True).scalar_subquery()


@dataclass(frozen=True)
class TimersRun:
    """The referrals one run escalated, each list in id order."""

    as_of: date
    consent_overdue: list[uuid.UUID]
    assessment_overdue: list[uuid.UUID]


async def run_timers(uow: UnitOfWork, as_of: date, acting: Acting) -> TimersRun:
    now = utcnow()
    open_statuses = [s.value for s in OPEN]
    consent_rows = (await uow.session.execute(
        update(Referral)
        .where(Referral.id.in_(_claim(
            Referral.status.in_(open_statuses),
            Referral.consent_signed_on.is_(None),
            Referral.consent_due_on < as_of,
            Referral.consent_overdue_sent_at.is_(None),
        )))
        .values(consent_overdue_as_of=as_of, consent_overdue_sent_at=now)
        .returning(Referral.id, Referral.family_id, Referral.consent_due_on),
        execution_options={"synchronize_session": False},
    )).all()
    assessment_rows = (await uow.session.execute(
        update(Referral)
        .where(Referral.id.in_(_claim(
            Referral.status.in_([s.value for s in AWAITING_DECISION]),
            Referral.eligibility_decided_at.is_(None),
            Referral.assessment_due_on < as_of,
            Referral.assessment_overdue_sent_at.is_(None),
        )))
        .values(assessment_overdue_as_of=as_of, assessment_overdue_sent_at=now)
        .returning(Referral.id, Referral.family_id, Referral.assessment_due_on),
        execution_options={"synchronize_session": False},
    )).all()
    children = await Referrals(uow.session).child_ids_of(
        list({r.id for r in consent_rows} | {r.id for r in assessment_rows})
    )
    audit = AuditLog(uow.session)
    for row in consent_rows:
        uow.publish("consent.overdue", key=row.id, data=ConsentOverdue(
            referral_id=row.id, family_id=row.family_id, consent_due_on=row.consent_due_on, as_of=as_of))
        audit.record(acting, "consent.overdue_escalated", children[row.id])
    for row in assessment_rows:
        uow.publish("assessment.overdue", key=row.id, data=AssessmentOverdue(
            referral_id=row.id, family_id=row.family_id, assessment_due_on=row.assessment_due_on, as_of=as_of))
        audit.record(acting, "assessment.overdue_escalated", children[row.id])
    return TimersRun(
        as_of,
        consent_overdue=sorted((r.id for r in consent_rows), key=str),
        assessment_overdue=sorted((r.id for r in assessment_rows), key=str),
    )


async def run_today(runtime: Any) -> None:
    """The background job (registered on the runtime): run the timers as of today."""
    async with runtime.uow() as uow:
        result = await run_timers(uow, today(), Acting.system("referral-svc"))
        await pre_proceedings.run_offer_timers(uow, today(), Acting.system("referral-svc"))
        await uow.commit()
    if result.consent_overdue or result.assessment_overdue:
        log.info("timers.escalated", consent=len(result.consent_overdue), assessment=len(result.assessment_overdue))
