"""Application operations of eligibility-svc: decide a referral, answer a what-if, keep rule sets."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.errors import NotFound
from eoc_shared.events.envelope import Envelope
from eoc_shared.events.schemas import EligibilityDecided, ProgrammeDecision, ReferralCreated, ReferralUpdated
from eligibility_svc.db.models import DecisionRecord, RuleSetRecord
from eligibility_svc.db.repositories import Decisions, RuleSets
from eligibility_svc.domain import engine


async def seed_rule_sets(uow: UnitOfWork) -> None:
    """Version 1 (the contract's rules) is stored as data on first start."""
    rule_sets = RuleSets(uow.session)
    for rule_set in engine.builtin_rule_sets():
        if await rule_sets.get(rule_set.version) is None:
            uow.session.add(
                RuleSetRecord(
                    version=rule_set.version, effective_from=rule_set.effective_from,
                    document=rule_set.model_dump(mode="json"), created_at=utcnow(), created_by="system",
                )
            )
    await uow.commit()


async def rule_set_in_force(uow: UnitOfWork, as_of: date) -> engine.RuleSet:
    record = await RuleSets(uow.session).in_force(as_of)
    if record is None:
        raise NotFound(f"no rule set is in force on {as_of.isoformat()}", field="as_of")
    return engine.RuleSet.model_validate(record.document)


def assess(rule_set: engine.RuleSet, children: list[tuple[int, str]], risk_factors: list[str], threshold: bool) -> dict[str, Any]:
    decision = engine.decide(
        rule_set,
        [engine.ChildFacts(age_years=age, legal_status=status) for age, status in children],
        risk_factors,
        threshold,
    )
    return {
        "rule_version": decision.rule_version,
        "recommended": decision.recommended,
        "programmes": [
            {"programme": p.programme, "eligible": p.eligible, "reasons": list(p.reasons)} for p in decision.programmes
        ],
    }


async def decide_referral(uow: UnitOfWork, event: Envelope, referral: ReferralCreated | ReferralUpdated) -> DecisionRecord:
    rule_set = await rule_set_in_force(uow, referral.referred_on)
    children = [(c.age_years, c.legal_status) for c in referral.children]
    result = assess(rule_set, children, list(referral.risk_factors), referral.threshold_for_removal_met)
    record = DecisionRecord(
        id=uuid.uuid4(),
        referral_id=referral.referral_id,
        rule_version=result["rule_version"],
        inputs={
            "children": [{"age_years": a, "legal_status": s} for a, s in children],
            "risk_factors": list(referral.risk_factors),
            "threshold_for_removal_met": referral.threshold_for_removal_met,
            "as_of": referral.referred_on.isoformat(),
        },
        recommended=result["recommended"],
        programmes=result["programmes"],
        decided_at=utcnow(),
        referred_on=referral.referred_on,
        trigger_event_id=event.id,
    )
    uow.session.add(record)
    uow.publish(
        "eligibility.decided",
        key=referral.referral_id,
        data=EligibilityDecided(
            referral_id=record.referral_id,
            decision_id=record.id,
            rule_version=record.rule_version,
            recommended=record.recommended,
            programmes=[ProgrammeDecision(**p) for p in record.programmes],
            decided_at=record.decided_at,
        ),
    )
    return record


async def latest_decision(uow: UnitOfWork, referral_id: uuid.UUID) -> DecisionRecord:
    record = await Decisions(uow.session).latest(referral_id)
    if record is None:
        raise NotFound(f"no eligibility decision has been made for referral {referral_id}")
    return record


def decision_view(record: DecisionRecord) -> dict[str, Any]:
    return {
        "referral_id": record.referral_id,
        "decision_id": record.id,
        "decided_at": record.decided_at,
        "rule_version": record.rule_version,
        "recommended": record.recommended,
        "programmes": record.programmes,
    }
