"""Application operations of referral-svc for families, children and referrals: each takes a unit of work,
changes state, records events and audit entries.

They know nothing of HTTP or Kafka; endpoints and event handlers call them and commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from eoc_shared.acting import Acting
from eoc_shared.clock import today
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.errors import Conflict, Invalid, NotFound
from eoc_shared.events.schemas import (
    ChildFacts,
    ChildUpdated,
    EligibilityDecided,
    FollowupDue,
    ReferralCreated,
    ReferralUpdated,
)
from eoc_shared.vocab import Programme
from referral_svc import pre_proceedings
from referral_svc.access import ensure_may_read
from referral_svc.api.schemas import ChildIn, ChildPatch, FamilyIn, FamilyPatch, ReferralIn
from referral_svc.db.models import (
    CareStatusChange,
    Child,
    Family,
    FollowupSeen,
    Intervention,
    Referral,
    ReferralChild,
    StatusChange,
    WaitingEntry,
)
from referral_svc.db.repositories import AuditLog, Children, Families, Interventions, Referrals, WaitingList
from referral_svc.domain.ages import age_in_whole_years
from referral_svc.domain.children import CareStatus, after_change, effective_on_problem, is_care_change, placement_problem
from referral_svc.domain.interventions import days_waiting, order_waiting_list
from referral_svc.domain.status import IllegalTransition, is_terminal, transition
from referral_svc.domain.timeline import start_of
from referral_svc.domain.timers import assessment_overdue, consent_overdue, overdue_timers, past_expected_end
from referral_svc.domain.vocab import ReferralStatus
from referral_svc.domain.working_days import assessment_due_on, consent_due_on

# --------------------------------------------------------------------------------------------- families


async def register_family(uow: UnitOfWork, data: FamilyIn, acting: Acting) -> Family:
    families = Families(uow.session)
    if await families.by_reference(data.la_reference) is not None:
        raise Conflict(f"a family with la_reference {data.la_reference!r} is already registered", field="la_reference")
    now = utcnow()
    family = Family(id=uuid.uuid4(), created_at=now, created_by=acting.actor, updated_at=now, **data.model_dump())
    uow.session.add(family)
    await _flush_unique(uow, "la_reference", "a family with this la_reference is already registered")
    return family


async def read_family(uow: UnitOfWork, family_id: uuid.UUID, acting: Acting) -> tuple[Family, list[uuid.UUID]]:
    family = await Families(uow.session).get(family_id)
    if family is None:
        raise NotFound(f"there is no family {family_id}")
    await ensure_may_read(uow.session, acting, family_id=family_id)
    child_ids = await Families(uow.session).child_ids(family_id)
    AuditLog(uow.session).record(acting, "family.read", child_ids)
    return family, child_ids


async def update_family(
    uow: UnitOfWork, family_id: uuid.UUID, data: FamilyPatch, acting: Acting
) -> tuple[Family, list[uuid.UUID]]:
    families = Families(uow.session)
    family = await families.get(family_id, for_update=True)
    if family is None:
        raise NotFound(f"there is no family {family_id}")
    changes = data.model_dump(exclude_unset=True)
    if "la_reference" in changes and changes["la_reference"] != family.la_reference:
        if await families.by_reference(changes["la_reference"]) is not None:
            raise Conflict(f"a family with la_reference {changes['la_reference']!r} is already registered",
                           field="la_reference")
    for name, value in changes.items():
        setattr(family, name, value)
    family.updated_at = utcnow()
    await _flush_unique(uow, "la_reference", "a family with this la_reference is already registered")
    child_ids = await families.child_ids(family_id)
    AuditLog(uow.session).record(acting, "family.updated", child_ids)
    return family, child_ids


# --------------------------------------------------------------------------------------------- children


async def add_child(uow: UnitOfWork, family_id: uuid.UUID, data: ChildIn, acting: Acting) -> Child:
    family = await Families(uow.session).get(family_id)
    if family is None:
        raise NotFound(f"there is no family {family_id}")
    _check_date_of_birth(data.date_of_birth)
    problem = placement_problem(CareStatus(data.legal_status.value, data.placement_type))
    if problem:
        raise Invalid(problem, field="placement_type")
    children = Children(uow.session)
    if await children.by_la_child_id(data.la_child_id) is not None:
        raise Conflict(f"a child with la_child_id {data.la_child_id!r} is already registered", field="la_child_id")
    if data.nhs_number and await children.by_nhs_number(data.nhs_number) is not None:
        raise Conflict("a child with this NHS number is already registered", field="nhs_number")
    now = utcnow()
    child = Child(id=uuid.uuid4(), family_id=family.id, created_at=now, updated_at=now, **data.model_dump())
    uow.session.add(child)
    await _flush_unique(uow, "la_child_id", "a child with this la_child_id or NHS number is already registered")
    AuditLog(uow.session).record(acting, "child.created", [child.id])
    return child


def _check_date_of_birth(date_of_birth: date) -> None:
    if date_of_birth > today():
        raise Invalid("is in the future", field="date_of_birth")
    if age_in_whole_years(date_of_birth, today()) > 25:
        raise Invalid("gives an age over 25; this service is for children and young people", field="date_of_birth")


async def read_child(uow: UnitOfWork, child_id: uuid.UUID, acting: Acting) -> tuple[Child, list[uuid.UUID]]:
    child = await Children(uow.session).get(child_id)
    if child is None:
        raise NotFound(f"there is no child {child_id}")
    await ensure_may_read(uow.session, acting, child_id=child_id)
    AuditLog(uow.session).record(acting, "child.read", [child.id])
    return child, await Children(uow.session).referral_ids(child_id)


async def update_child(
    uow: UnitOfWork, child_id: uuid.UUID, data: ChildPatch, acting: Acting
) -> tuple[Child, list[uuid.UUID]]:
    """Change a child's details. A change of legal status or placement is kept in the child's history
    and published as `child.updated`, effective on `effective_on` (default today)."""
    children = Children(uow.session)
    child = await children.get(child_id, for_update=True)
    if child is None:
        raise NotFound(f"there is no child {child_id}")
    changes = data.model_dump(exclude_unset=True)
    effective_on = changes.pop("effective_on", None) or today()

    if "date_of_birth" in changes:
        _check_date_of_birth(changes["date_of_birth"])
        first_referral = await children.earliest_referral_date(child_id)
        if first_referral is not None and changes["date_of_birth"] > first_referral:
            raise Invalid(f"is after the child's referral on {first_referral.isoformat()}", field="date_of_birth")
    if "la_child_id" in changes and changes["la_child_id"] != child.la_child_id:
        if await children.by_la_child_id(changes["la_child_id"]) is not None:
            raise Conflict(f"a child with la_child_id {changes['la_child_id']!r} is already registered",
                           field="la_child_id")
    if changes.get("nhs_number") and changes["nhs_number"] != child.nhs_number:
        if await children.by_nhs_number(changes["nhs_number"]) is not None:
            raise Conflict("a child with this NHS number is already registered", field="nhs_number")

    before = CareStatus(child.legal_status, child.placement_type)
    legal = changes.get("legal_status")
    after = after_change(
        before,
        legal_status=legal.value if legal is not None else None,
        placement_type=changes.get("placement_type"),
        placement_given="placement_type" in changes,
    )
    problem = placement_problem(after)
    if problem:
        raise Invalid(problem, field="placement_type")
    care_changed = is_care_change(before, after)
    if care_changed:
        problem = effective_on_problem(effective_on, today=today(), date_of_birth=changes.get("date_of_birth",
                                                                                              child.date_of_birth))
        if problem:
            raise Invalid(problem, field="effective_on")
    elif "effective_on" in data.model_fields_set:
        raise Invalid("applies only to a change of legal_status or placement_type", field="effective_on")

    for name, value in changes.items():
        if name not in ("legal_status", "placement_type"):
            setattr(child, name, value.value if hasattr(value, "value") else value)
    child.legal_status, child.placement_type = after.legal_status, after.placement_type
    now = utcnow()
    child.updated_at = now
    await _flush_unique(uow, "la_child_id", "a child with this la_child_id or NHS number is already registered")

    if care_changed:
        uow.session.add(CareStatusChange(
            child_id=child.id, effective_on=effective_on, legal_status_before=before.legal_status,
            legal_status=after.legal_status, placement_type_before=before.placement_type,
            placement_type=after.placement_type, recorded_at=now, recorded_by=acting.actor,
        ))
        uow.publish("child.updated", key=child.id, data=ChildUpdated(
            child_id=child.id, family_id=child.family_id, legal_status_before=before.legal_status,
            legal_status=after.legal_status, placement_type_before=before.placement_type,
            placement_type=after.placement_type, effective_on=effective_on,
        ))
    AuditLog(uow.session).record(acting, "child.updated", [child.id])
    return child, await children.referral_ids(child_id)


# --------------------------------------------------------------------------------------------- referrals


async def make_referral(uow: UnitOfWork, data: ReferralIn, acting: Acting) -> Referral:
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
        team=data.team,
        status=ReferralStatus.RECEIVED.value,
        consent_due_on=consent_due_on(data.referred_on),
        assessment_due_on=assessment_due_on(data.referred_on),
        created_at=now,
        created_by=acting.actor,
        updated_at=now,
        children=[ReferralChild(child_id=cid, position=i) for i, cid in enumerate(data.child_ids)],
    )
    uow.session.add(referral)
    uow.session.add(StatusChange(
        referral_id=referral.id, at=start_of(referral.referred_on), from_status=None,
        to_status=referral.status, cause="referral.created", actor=acting.actor, recorded_at=now,
    ))
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
    AuditLog(uow.session).record(acting, "referral.created", data.child_ids)
    return referral


def _child_facts(child: Child, on: date) -> ChildFacts:
    return ChildFacts(
        child_id=child.id,
        age_years=age_in_whole_years(child.date_of_birth, on),
        legal_status=child.legal_status,
        placement_type=child.placement_type,
    )


async def get_referral(uow: UnitOfWork, referral_id: uuid.UUID, *, for_update: bool = False) -> Referral:
    referral = await Referrals(uow.session).get(referral_id, for_update=for_update)
    if referral is None:
        raise NotFound(f"there is no referral {referral_id}")
    return referral


async def read_referral(uow: UnitOfWork, referral_id: uuid.UUID, acting: Acting) -> dict[str, Any]:
    referral = await get_referral(uow, referral_id)
    await ensure_may_read(uow.session, acting, referral_id=referral_id)
    AuditLog(uow.session).record(acting, "referral.read", referral.child_ids)
    return await full_view(uow, referral)


async def move_status(
    uow: UnitOfWork, referral: Referral, target: ReferralStatus, *, at: datetime, cause: str, acting: Acting
) -> bool:
    """Move a referral along the status machine (409 naming the current status when not allowed),
    keep the move in its history and publish `referral.updated`. False when the status stays the same."""
    current = ReferralStatus(referral.status)
    try:
        new = transition(current, target)
    except IllegalTransition as exc:
        raise Conflict(str(exc), current_status=current.value) from exc
    if new == current:
        return False
    now = utcnow()
    referral.status = new.value
    referral.updated_at = now
    uow.session.add(StatusChange(
        referral_id=referral.id, at=at, from_status=current.value, to_status=new.value, cause=cause,
        actor=acting.actor, recorded_at=now,
    ))
    await publish_referral_updated(uow, referral, ["status"])
    return True


async def publish_referral_updated(uow: UnitOfWork, referral: Referral, changed: list[str]) -> None:
    children = await Children(uow.session).many(referral.child_ids)
    uow.publish("referral.updated", key=referral.id, data=ReferralUpdated(
        referral_id=referral.id, family_id=referral.family_id, status=referral.status, changed=changed,
        referred_on=referral.referred_on, risk_factors=referral.risk_factors,
        threshold_for_removal_met=referral.threshold_for_removal_met,
        children=[_child_facts(children[cid], referral.referred_on) for cid in referral.child_ids],
    ))


async def record_consent(uow: UnitOfWork, referral_id: uuid.UUID, signed_on: date, acting: Acting) -> dict[str, Any]:
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
    return await full_view(uow, referral)


async def withdraw_referral(uow: UnitOfWork, referral_id: uuid.UUID, reason: str, acting: Acting) -> dict[str, Any]:
    """Withdraw a referral: refused while an intervention is open (close it first); leaves any waiting list."""
    referral = await get_referral(uow, referral_id, for_update=True)
    if not is_terminal(referral.status) and await Interventions(uow.session).open_count_of_referral(referral.id):
        raise Conflict("the referral has an open intervention; close it before withdrawing the referral",
                       current_status=referral.status)
    await move_status(uow, referral, ReferralStatus.WITHDRAWN, at=utcnow(), cause="referral.withdrawn", acting=acting)
    referral.withdrawn_reason = reason
    now = utcnow()
    for entry in await WaitingList(uow.session).of_referral(referral.id):
        entry.status, entry.left_at, entry.left_reason = "cancelled", now, "referral withdrawn"
    AuditLog(uow.session).record(acting, "referral.withdrawn", referral.child_ids)
    return await full_view(uow, referral)


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


async def record_followup_due(uow: UnitOfWork, payload: FollowupDue) -> None:
    """A follow-up fell due (outcomes-svc): shown on the child's timeline; a repeat changes nothing."""
    if await uow.session.get(FollowupSeen, payload.followup_id) is not None:
        return
    uow.session.add(FollowupSeen(
        followup_id=payload.followup_id, child_id=payload.child_id, intervention_id=payload.intervention_id,
        checkpoint_months=payload.checkpoint_months, due_on=payload.due_on, received_at=utcnow(),
    ))


# --------------------------------------------------------------------------------------------- work lists


async def list_referrals(
    uow: UnitOfWork, acting: Acting, *, statuses: Sequence[str] | None, team: str | None, limit: int, offset: int,
    overdue: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """A page of referrals; `overdue` timers as of today, filtered in the query so that paging holds."""
    referrals = await Referrals(uow.session).listing(statuses=statuses, team=team, overdue=overdue, as_of=today(),
                                                     limit=limit, offset=offset)
    AuditLog(uow.session).record(acting, "worklist.read", [c for r in referrals for c in r.child_ids])
    return [summary_view(r) for r in referrals]


async def referrals_by_status(uow: UnitOfWork, acting: Acting, *, team: str | None) -> dict[str, Any]:
    referrals = await Referrals(uow.session).listing(team=team, limit=10_000)
    grouped: dict[str, list[dict[str, Any]]] = {s.value: [] for s in ReferralStatus}
    for r in referrals:
        grouped[r.status].append(summary_view(r))
    AuditLog(uow.session).record(acting, "worklist.read", [c for r in referrals for c in r.child_ids])
    return {"team": team, "counts": {s: len(v) for s, v in grouped.items()}, "referrals": grouped}


async def overdue_worklist(uow: UnitOfWork, acting: Acting, *, as_of: date, team: str | None) -> list[dict[str, Any]]:
    """Open referrals whose consent or assessment is overdue on `as_of`, longest overdue first."""
    rows = []
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
        rows.append({
            "referral_id": r.id, "family_id": r.family_id, "status": r.status, "referred_on": r.referred_on,
            "team": r.team, "child_ids": r.child_ids,
            "overdue": [{"timer": t.timer, "due_on": t.due_on, "days_overdue": t.days_overdue,
                         "escalated_on": escalated[t.timer]} for t in timers],
        })
    await pre_proceedings.add_offer_timers(uow, rows, as_of=as_of, team=team)
    rows.sort(key=lambda row: (-max(t["days_overdue"] for t in row["overdue"]), row["referred_on"]))  # type: ignore[attr-defined]
    AuditLog(uow.session).record(acting, "worklist.read", [c for row in rows for c in row["child_ids"]])  # type: ignore[attr-defined]
    return rows


# --------------------------------------------------------------------------------------------- views


def timers_view(referral: Referral, as_of: date) -> dict[str, bool]:
    """Consent and assessment overdue on `as_of`, from the dates: never the escalation run's stored days."""
    return {
        "consent_overdue": consent_overdue(status=referral.status, consent_due_on=referral.consent_due_on,
                                           consent_signed_on=referral.consent_signed_on, as_of=as_of),
        "assessment_overdue": assessment_overdue(status=referral.status, assessment_due_on=referral.assessment_due_on,
                                                 decided=referral.eligibility_decided_at is not None, as_of=as_of),
    }


def summary_view(referral: Referral) -> dict[str, Any]:
    return {
        "id": referral.id, "status": referral.status, "family_id": referral.family_id, "child_ids": referral.child_ids,
        "referred_on": referral.referred_on, "team": referral.team, "consent_due_on": referral.consent_due_on,
        "consent_signed_on": referral.consent_signed_on, "assessment_due_on": referral.assessment_due_on,
        "recommended": (referral.eligibility or {}).get("recommended"), **timers_view(referral, today()),
    }


def intervention_view(iv: Intervention) -> dict[str, Any]:
    return {
        "id": iv.id, "referral_id": iv.referral_id, "family_id": iv.family_id, "programme": iv.programme,
        "status": iv.status, "started_on": iv.started_on, "expected_end_on": iv.expected_end_on,
        "past_expected_end": past_expected_end(status=iv.status, expected_end_on=iv.expected_end_on, as_of=today()),
        "practitioner": iv.practitioner, "from_waiting_list": iv.from_waiting_list, "closed_on": iv.closed_on,
        "reason": iv.reason, "child_outcomes": iv.child_outcomes, "superseded_by": iv.superseded_by,
        "created_at": iv.created_at,
    }


def waiting_view(entry: WaitingEntry, position: int | None) -> dict[str, Any]:
    return {
        "id": entry.id, "status": entry.status, "referral_id": entry.referral_id, "family_id": entry.family_id,
        "programme": entry.programme, "position": position, "referred_on": entry.referred_on,
        "joined_on": entry.joined_at.date(),
        "days_waiting": days_waiting(entry.joined_at.date(), today()) if entry.status == "waiting" else
        days_waiting(entry.joined_at.date(), (entry.left_at or entry.joined_at).date()),
        "requested_started_on": entry.requested_started_on, "intervention_id": entry.intervention_id,
    }


async def waiting_position(uow: UnitOfWork, entry: WaitingEntry) -> int | None:
    if entry.status != "waiting":
        return None
    ordered = order_waiting_list(await WaitingList(uow.session).waiting(entry.programme))
    return next((i + 1 for i, e in enumerate(ordered) if e.id == entry.id), None)


async def full_view(uow: UnitOfWork, referral: Referral) -> dict[str, Any]:
    interventions = await Interventions(uow.session).of_referrals([referral.id])
    waiting = []
    for entry in await WaitingList(uow.session).of_referral(referral.id):
        waiting.append(waiting_view(entry, await waiting_position(uow, entry)))
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
        "team": referral.team,
        "consent_due_on": referral.consent_due_on,
        "assessment_due_on": referral.assessment_due_on,
        "consent_signed_on": referral.consent_signed_on,
        **timers_view(referral, today()),
        "consent_overdue_escalated_on": referral.consent_overdue_as_of,
        "assessment_overdue_escalated_on": referral.assessment_overdue_as_of,
        "eligibility": referral.eligibility,
        "interventions": [intervention_view(i) for i in interventions],
        "waiting": waiting,
        "withdrawn_reason": referral.withdrawn_reason,
        "created_at": referral.created_at,
        "updated_at": referral.updated_at,
    }


def referral_view(referral: Referral) -> dict[str, Any]:
    """The view of a referral just made: nothing has started or waited yet."""
    return {**summary_view(referral), **{
        "source": referral.source, "risk_factors": referral.risk_factors,
        "threshold_for_removal_met": referral.threshold_for_removal_met,
        "requested_programme": referral.requested_programme, "eligibility": referral.eligibility,
        "interventions": [], "waiting": [], "created_at": referral.created_at, "updated_at": referral.updated_at,
    }}


async def _flush_unique(uow: UnitOfWork, field: str, message: str) -> None:
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        await uow.rollback()
        raise Conflict(message, field=field) from exc

