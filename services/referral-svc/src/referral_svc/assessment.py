"""Consent and assessment of a referral: consent signed, and the eligibility decision that ends the assessment."""

from __future__ import annotations

import uuid
from datetime import date

from eoc_shared.acting import Acting
from eoc_shared.clock import today
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.errors import Conflict, Invalid
from eoc_shared.events.schemas import EligibilityDecided
from eoc_shared.vocab import Programme
from referral_svc.db.repositories import AuditLog, Referrals
from referral_svc.domain.status import is_terminal
from referral_svc.domain.timeline import start_of
from referral_svc.domain.vocab import ReferralStatus
from referral_svc.referrals import ReferralView, get_referral, move_status, view_of


async def record_consent(uow: UnitOfWork, referral_id: uuid.UUID, signed_on: date, acting: Acting) -> ReferralView:
    """Consent signed: a received referral moves to assessing; later statuses keep theirs."""
    referral = await get_referral(uow, referral_id, for_update=True)
    if signed_on > today():
        raise Invalid("is after today; record consent once it has been signed", field="signed_on")
    if signed_on < referral.referred_on:
        raise Invalid(f"is before the referral date {referral.referred_on.isoformat()}", field="signed_on")
    if is_terminal(referral.status):
        raise Conflict(f"the referral is {referral.status}; consent can no longer be recorded",
                       current_status=referral.status)
    if referral.consent_signed_on is not None:
        raise Conflict(f"consent was already recorded as signed on {referral.consent_signed_on.isoformat()}",
                       current_status=referral.status)
    referral.consent_signed_on = signed_on
    referral.updated_at = utcnow()
    if referral.status == ReferralStatus.RECEIVED:
        await move_status(uow, referral, ReferralStatus.ASSESSING, at=start_of(signed_on), cause="consent.signed",
                          acting=acting)
    AuditLog(uow.session).record(acting, "consent.recorded", referral.child_ids)
    return await view_of(uow, referral)


INTENSIVE_OR_FGC = {p.value for p in Programme} - {Programme.OTHER_PREVENTION.value}


async def apply_eligibility_decision(uow: UnitOfWork, decision: EligibilityDecided, source: str) -> None:
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
    referral.updated_at = utcnow()
    eligible = any(p.eligible and p.programme in INTENSIVE_OR_FGC for p in decision.programmes)
    target = ReferralStatus.ELIGIBLE if eligible else ReferralStatus.INELIGIBLE
    by = Acting.system(_service_of(source))
    try:
        await move_status(uow, referral, target, at=decision.decided_at, cause="eligibility.decided", acting=by)
    except Conflict:
        pass  # the case has moved on (active, closed, withdrawn, waitlisted): keep the decision for the record only
    AuditLog(uow.session).record(by, "eligibility.decided", referral.child_ids)


def _service_of(source: str) -> str:
    return source.rsplit(":", 1)[-1] + "-svc" if source.startswith("urn:eoc:") else source[:200]
