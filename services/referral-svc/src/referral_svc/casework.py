"""Application operations of referral-svc: each takes a unit of work, changes state, records events.

They know nothing of HTTP or Kafka; endpoints and event handlers call them and commit.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from eoc_shared.auth import Principal
from eoc_shared.clock import today
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.errors import Conflict, Invalid, NotFound
from eoc_shared.events.schemas import ChildFacts, EligibilityDecided, ReferralCreated
from referral_svc.api.schemas import ChildIn, FamilyIn, ReferralIn
from referral_svc.db.models import Child, Family, Referral, ReferralChild
from referral_svc.db.repositories import AuditLog, Children, Families, Referrals
from referral_svc.domain.ages import age_in_whole_years
from referral_svc.domain.status import IllegalTransition, transition
from referral_svc.domain.vocab import LegalStatus, Programme, ReferralStatus
from referral_svc.domain.working_days import assessment_due_on, consent_due_on


async def register_family(uow: UnitOfWork, data: FamilyIn, principal: Principal) -> Family:
    families = Families(uow.session)
    if await families.by_reference(data.la_reference) is not None:
        raise Conflict(f"a family with la_reference {data.la_reference!r} is already registered", field="la_reference")
    family = Family(id=uuid.uuid4(), created_at=utcnow(), created_by=principal.actor, **data.model_dump())
    uow.session.add(family)
    await _flush_unique(uow, "la_reference", "a family with this la_reference is already registered")
    return family


async def add_child(
    uow: UnitOfWork, family_id: uuid.UUID, data: ChildIn, principal: Principal, request_id: str | None
) -> Child:
    family = await Families(uow.session).get(family_id)
    if family is None:
        raise NotFound(f"there is no family {family_id}")
    if data.date_of_birth > today():
        raise Invalid("is in the future", field="date_of_birth")
    if age_in_whole_years(data.date_of_birth, today()) > 25:
        raise Invalid("gives an age over 25; this service is for children and young people", field="date_of_birth")
    if data.legal_status == LegalStatus.LAC and data.placement_type is None:
        raise Invalid("is required when legal_status is LAC (looked after)", field="placement_type")
    children = Children(uow.session)
    if await children.by_la_child_id(data.la_child_id) is not None:
        raise Conflict(f"a child with la_child_id {data.la_child_id!r} is already registered", field="la_child_id")
    if data.nhs_number and await children.by_nhs_number(data.nhs_number) is not None:
        raise Conflict("a child with this NHS number is already registered", field="nhs_number")
    now = utcnow()
    child = Child(id=uuid.uuid4(), family_id=family.id, created_at=now, updated_at=now, **data.model_dump())
    uow.session.add(child)
    await _flush_unique(uow, "la_child_id", "a child with this la_child_id or NHS number is already registered")
    AuditLog(uow.session).record(principal, "child.created", [child.id], request_id)
    return child


async def make_referral(uow: UnitOfWork, data: ReferralIn, principal: Principal, request_id: str | None) -> Referral:
    family = await Families(uow.session).get(data.family_id)
    if family is None:
        raise Invalid(f"there is no family {data.family_id}", field="family_id")
    if data.referred_on > today():
        raise Invalid("is in the future", field="referred_on")
    children = await Children(uow.session).many(data.child_ids)
    for position, child_id in enumerate(data.child_ids):
        child = children.get(child_id)
        if child is None:
            raise Invalid(f"there is no child {child_id}", field=f"child_ids.{position}")
        if child.family_id != family.id:
            raise Invalid(f"child {child_id} belongs to another family", field=f"child_ids.{position}")
        if child.date_of_birth > data.referred_on:
            raise Invalid(f"is before the date of birth of child {child_id}", field="referred_on")
    now = utcnow()
    referral = Referral(
        id=uuid.uuid4(),
        family_id=family.id,
        referred_on=data.referred_on,
        source=data.source.value,
        risk_factors=[f.value for f in data.risk_factors],
        threshold_for_removal_met=data.threshold_for_removal_met,
        requested_programme=data.requested_programme.value if data.requested_programme else None,
        status=ReferralStatus.RECEIVED.value,
        consent_due_on=consent_due_on(data.referred_on),
        assessment_due_on=assessment_due_on(data.referred_on),
        created_at=now,
        created_by=principal.actor,
        updated_at=now,
        children=[ReferralChild(child_id=cid, position=i) for i, cid in enumerate(data.child_ids)],
    )
    uow.session.add(referral)
    uow.publish(
        "referral.created",
        key=referral.id,
        data=ReferralCreated(
            referral_id=referral.id,
            family_id=family.id,
            referred_on=referral.referred_on,
            source=referral.source,
            risk_factors=referral.risk_factors,
            threshold_for_removal_met=referral.threshold_for_removal_met,
            requested_programme=referral.requested_programme,
            children=[_child_facts(children[cid], referral.referred_on) for cid in data.child_ids],
        ),
    )
    AuditLog(uow.session).record(principal, "referral.created", data.child_ids, request_id)
    return referral


def _child_facts(child: Child, on: date) -> ChildFacts:
    return ChildFacts(
        child_id=child.id,
        age_years=age_in_whole_years(child.date_of_birth, on),
        legal_status=child.legal_status,
        placement_type=child.placement_type,
    )


async def read_referral(uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal, request_id: str | None) -> Referral:
    referral = await Referrals(uow.session).get(referral_id)
    if referral is None:
        raise NotFound(f"there is no referral {referral_id}")
    AuditLog(uow.session).record(principal, "referral.read", referral.child_ids, request_id)
    return referral


INTENSIVE_OR_FGC = {p.value for p in Programme} - {Programme.OTHER_PREVENTION.value}


async def apply_eligibility_decision(uow: UnitOfWork, decision: EligibilityDecided, decided_event_time: datetime) -> None:
    """Show the latest decision on the referral; an older decision arriving late never overwrites a newer one."""
    referral = await Referrals(uow.session).get(decision.referral_id, for_update=True)
    if referral is None:
        raise LookupError(f"eligibility decided for unknown referral {decision.referral_id}")
    if referral.eligibility_decided_at is not None and referral.eligibility_decided_at >= decision.decided_at:
        return
    referral.eligibility = {
        "recommended": decision.recommended,
        "rule_version": decision.rule_version,
        "decided_at": decision.decided_at.isoformat(),
        "programmes": [p.model_dump() for p in decision.programmes],
    }
    referral.eligibility_decided_at = decision.decided_at
    eligible = any(p.eligible and p.programme in INTENSIVE_OR_FGC for p in decision.programmes)
    target = ReferralStatus.ELIGIBLE if eligible else ReferralStatus.INELIGIBLE
    try:
        referral.status = transition(ReferralStatus(referral.status), target).value
    except IllegalTransition:
        pass  # the case has moved on (active, closed, withdrawn): keep the decision for the record only
    referral.updated_at = utcnow()


def referral_view(referral: Referral) -> dict[str, Any]:
    return {
        "id": referral.id,
        "status": referral.status,
        "family_id": referral.family_id,
        "child_ids": referral.child_ids,
        "referred_on": referral.referred_on,
        "source": referral.source,
        "risk_factors": referral.risk_factors,
        "threshold_for_removal_met": referral.threshold_for_removal_met,
        "requested_programme": referral.requested_programme,
        "consent_due_on": referral.consent_due_on,
        "assessment_due_on": referral.assessment_due_on,
        "consent_signed_on": referral.consent_signed_on,
        "eligibility": referral.eligibility,
        "interventions": [],
        "created_at": referral.created_at,
        "updated_at": referral.updated_at,
    }


async def _flush_unique(uow: UnitOfWork, field: str, message: str) -> None:
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        await uow.rollback()
        raise Conflict(message, field=field) from exc
