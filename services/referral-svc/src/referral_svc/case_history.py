"""A child's timeline (follow-ups due included, as outcomes-svc announces them) and the access audit log."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from eoc_shared.acting import Acting
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.errors import NotFound
from eoc_shared.events.schemas import FollowupDue
from referral_svc import pre_proceedings
from referral_svc.access import ensure_may_read
from referral_svc.db.models import FollowupSeen
from referral_svc.db.repositories import (
    AuditLog,
    Children,
    Followups,
    Interventions,
    PartnerEvents,
    Referrals,
    WaitingList,
)
from referral_svc.domain.timeline import TimelineItem, ordered, start_of

OWN = "referral-svc"


async def timeline(uow: UnitOfWork, child_id: uuid.UUID, acting: Acting) -> list[TimelineItem]:
    """The child's referrals, status changes, escalations, interventions, care status changes, follow-ups
    and partner events, oldest first."""
    children = Children(uow.session)
    child = await children.get(child_id)
    if child is None:
        raise NotFound(f"there is no child {child_id}")
    await ensure_may_read(uow.session, acting, child_id=child_id)
    items: list[TimelineItem] = []
    referrals = await Referrals(uow.session).of_child(child_id)
    ids = [r.id for r in referrals]
    for r in referrals:
        ref = str(r.id)
        items.append(TimelineItem(start_of(r.referred_on), "referral.received", OWN, ref,
                                  f"referred by {r.source.replace('_', ' ')}; risk factors: "
                                  f"{', '.join(r.risk_factors) or 'none'}"))
        if r.eligibility_decided_at is not None and r.eligibility:
            items.append(TimelineItem(r.eligibility_decided_at, "eligibility.decided", "eligibility-svc", ref,
                                      f"recommended {r.eligibility.get('recommended') or 'none'}"))
        if r.consent_signed_on is not None:
            items.append(TimelineItem(start_of(r.consent_signed_on), "consent.signed", OWN, ref, None))
        if r.consent_overdue_as_of is not None:
            items.append(TimelineItem(start_of(r.consent_overdue_as_of), "consent.overdue", OWN, ref,
                                      f"consent due {r.consent_due_on.isoformat()} not signed: escalated"))
        if r.assessment_overdue_as_of is not None:
            items.append(TimelineItem(start_of(r.assessment_overdue_as_of), "assessment.overdue", OWN, ref,
                                      f"assessment due {r.assessment_due_on.isoformat()} not decided: escalated"))
    for change in await Referrals(uow.session).status_history(ids):
        if change.from_status is None:
            continue  # the referral itself
        source = "eligibility-svc" if change.cause == "eligibility.decided" else OWN
        items.append(TimelineItem(change.at, "referral.status_changed", source, str(change.referral_id),
                                  f"{change.from_status} → {change.to_status}"))
    for entry in await WaitingList(uow.session).of_referrals(ids):
        items.append(TimelineItem(entry.joined_at, "intervention.waitlisted", OWN, str(entry.referral_id),
                                  f"waiting for a place in {entry.programme}"))
    for iv in await Interventions(uow.session).of_referrals(ids):
        items.append(TimelineItem(start_of(iv.started_on), "intervention.started", OWN, str(iv.id),
                                  f"{iv.programme}, expected to end {iv.expected_end_on.isoformat()}"))
        if iv.closed_on is not None:
            mine = next((o for o in iv.child_outcomes or [] if o.get("child_id") == str(child_id)), None)
            living = f"; {mine['living_situation'].replace('_', ' ')}" if mine else ""
            items.append(TimelineItem(start_of(iv.closed_on), "intervention.closed", OWN, str(iv.id),
                                      f"{iv.programme} closed: {iv.reason}{living}"))
    for day, kind, ref, summary in await pre_proceedings.timeline_of(uow, ids, child_id):
        items.append(TimelineItem(start_of(day), kind, OWN, ref, summary))
    for care in await children.care_changes(child_id):
        placement = f" ({care.placement_type})" if care.placement_type else ""
        items.append(TimelineItem(start_of(care.effective_on), "child.care_status_changed", OWN,
                                  str(child_id), f"{care.legal_status_before} → {care.legal_status}{placement}"))
    for followup in await Followups(uow.session).of_child(child_id):
        items.append(TimelineItem(start_of(followup.due_on), "followup.due", "outcomes-svc",
                                  str(followup.followup_id), f"{followup.checkpoint_months}-month follow-up due"))
    for event in await PartnerEvents(uow.session).of_child(child_id):
        if event.status in ("matched", "resolved"):
            items.append(TimelineItem(event.occurred_at, event.kind, event.source, str(event.id), event.summary))
    AuditLog(uow.session).record(acting, "timeline.read", [child_id])
    return ordered(items)


async def record_followup_due(uow: UnitOfWork, payload: FollowupDue) -> None:
    """A follow-up fell due (outcomes-svc): shown on the child's timeline; a repeat changes nothing."""
    if await uow.session.get(FollowupSeen, payload.followup_id) is not None:
        return
    uow.session.add(FollowupSeen(
        followup_id=payload.followup_id, child_id=payload.child_id, intervention_id=payload.intervention_id,
        checkpoint_months=payload.checkpoint_months, due_on=payload.due_on, received_at=utcnow(),
    ))


async def child_known(session: AsyncSession, child_id: uuid.UUID) -> bool:
    """The audit endpoint answers 404 for a child this service has never had."""
    return await Children(session).get(child_id) is not None
