"""The equity funnel and the operations pulse: aggregate reports of referral-svc (contract v1.1).

The 12-month stage comes from outcomes-svc's `followup.recorded` events, kept per child and intervention
in `twelve_month_outcomes` (referral-svc never reads outcomes-svc's database). Nothing here returns a
child id: every figure is a count, suppressed where the contract says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eoc_shared import finyear
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.events.bus import Consumers
from eoc_shared.events.envelope import Envelope
from eoc_shared.events.schemas import FollowupRecorded
from eoc_shared.vocab import Programme
from referral_svc.db.models import (
    Child,
    Family,
    Intervention,
    PartnerEvent,
    ProgrammeSetting,
    Referral,
    ReferralChild,
    TwelveMonthOutcome,
    WaitingEntry,
)
from referral_svc.domain.funnel import ChildJourney, FunnelRow, funnel
from referral_svc.domain.groupings import AGE_BANDS, ETHNIC_GROUPS, group_of
from referral_svc.domain.timers import overdue_timers, past_expected_end

NOT_INTENSIVE = Programme.OTHER_PREVENTION.value
SUPERSEDED = "superseded"
AT_HOME = "at_home"
TWELVE_MONTHS = 12

# Groups listed even when empty, so a page shows a zero rather than leaving a group out.
KNOWN_GROUPS: dict[str, tuple[str, ...]] = {
    "ethnic_group": tuple(dict.fromkeys(ETHNIC_GROUPS.values())),
    "age_band": AGE_BANDS,
    "sex": ("F", "M", "U"),
    "interpreter_needed": ("true", "false"),
}


# --------------------------------------------------------------------------------------------- consuming


def keeps_followup(payload: FollowupRecorded) -> bool:
    """Other checkpoints are not ours to keep: the consumer settles them without a transaction."""
    return payload.checkpoint_months == TWELVE_MONTHS and payload.intervention_id is not None


async def on_followup_recorded(uow: UnitOfWork, _event: Envelope, payload: FollowupRecorded) -> None:
    """Keep the latest 12-month result per child and intervention (`keeps_followup`)."""
    key = (payload.child_id, payload.intervention_id)
    row = await uow.session.get(TwelveMonthOutcome, key, with_for_update=True)
    if row is None:
        uow.session.add(TwelveMonthOutcome(
            child_id=payload.child_id, intervention_id=payload.intervention_id, followup_id=payload.followup_id,
            living_situation=payload.living_situation, re_referred=payload.re_referred,
            observed_on=payload.observed_on, received_at=utcnow(),
        ))
    elif payload.observed_on >= row.observed_on:
        row.followup_id = payload.followup_id
        row.living_situation = payload.living_situation
        row.re_referred = payload.re_referred
        row.observed_on = payload.observed_on
        row.received_at = utcnow()


def register(consumers: Consumers) -> None:
    consumers.subscribe("followup.recorded", on_followup_recorded, relevant=keeps_followup)


# --------------------------------------------------------------------------------------------- the funnel


@dataclass(frozen=True)
class EquityReport:
    financial_year: int
    by: str
    groups: list[FunnelRow]
    total: FunnelRow

    @property
    def label(self) -> str:
        return finyear.label(self.financial_year)


@dataclass
class _Child:
    group: str
    eligible: bool = False
    started: bool = False
    closed_at_home: bool = False
    at_home_12m: bool = False


def _eligible(decision: dict[str, object] | None) -> bool:
    programmes = (decision or {}).get("programmes")
    if not isinstance(programmes, list):
        return False
    return any(isinstance(p, dict) and p.get("eligible") and p.get("programme") != NOT_INTENSIVE for p in programmes)


async def equity(session: AsyncSession, financial_year: int, by: str) -> EquityReport:
    """Children of the referrals received in the year, through each stage, grouped by `by`.

    A child referred twice in the year counts once, grouped as at their first referral of the year, and
    reaches a stage when any of their referrals in the year did."""
    referrals = (await session.execute(
        select(Referral)
        .where(Referral.referred_on >= finyear.year_start(financial_year),
               Referral.referred_on <= finyear.year_end(financial_year))
        .order_by(Referral.referred_on, Referral.id)
    )).scalars().all()
    referral_ids = [r.id for r in referrals]
    links = (await session.execute(
        select(ReferralChild.referral_id, Child, Family)
        .join(Child, Child.id == ReferralChild.child_id).join(Family, Family.id == Child.family_id)
        .where(ReferralChild.referral_id.in_(referral_ids))
    )).all() if referral_ids else []
    interventions = (await session.execute(
        select(Intervention).where(Intervention.referral_id.in_(referral_ids), Intervention.programme != NOT_INTENSIVE)
    )).scalars().all() if referral_ids else []
    child_ids = list({child.id for _r, child, _f in links})
    outcomes = {
        (o.child_id, o.intervention_id): o
        for o in (await session.execute(
            select(TwelveMonthOutcome).where(TwelveMonthOutcome.child_id.in_(child_ids))
        )).scalars().all()
    } if child_ids else {}

    by_referral: dict[uuid.UUID, list[tuple[Child, Family]]] = {}
    for referral_id, child, family in links:
        by_referral.setdefault(referral_id, []).append((child, family))
    ivs_of: dict[uuid.UUID, list[Intervention]] = {}
    for iv in interventions:
        ivs_of.setdefault(iv.referral_id, []).append(iv)

    children: dict[uuid.UUID, _Child] = {}
    for referral in referrals:
        eligible = _eligible(referral.eligibility)
        for child, family in by_referral.get(referral.id, []):
            c = children.get(child.id)
            if c is None:
                c = children[child.id] = _Child(group_of(
                    by, ethnicity=child.ethnicity, sex=child.sex, date_of_birth=child.date_of_birth,
                    referred_on=referral.referred_on, primary_language=family.primary_language,
                    interpreter_needed=family.interpreter_needed,
                ))
            c.eligible |= eligible
            for iv in ivs_of.get(referral.id, []):
                c.started = True
                if iv.status != "closed" or iv.reason == SUPERSEDED:
                    continue
                home = any(str(o.get("child_id")) == str(child.id) and o.get("living_situation") == AT_HOME
                           for o in iv.child_outcomes or [])
                if not home:
                    continue
                c.closed_at_home = True
                twelve = outcomes.get((child.id, iv.id))
                if twelve is not None and twelve.living_situation == AT_HOME and not twelve.re_referred:
                    c.at_home_12m = True
    journeys = [ChildJourney(c.group, c.eligible, c.started, c.closed_at_home, c.at_home_12m) for c in children.values()]
    rows, total = funnel(journeys, KNOWN_GROUPS.get(by, ()))
    return EquityReport(financial_year, by, rows, total)


# --------------------------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class ProgrammeQueue:
    programme: str
    capacity: int | None
    active_families: int
    waiting: int
    longest_wait_days: int | None
    median_wait_days: int | None
    past_expected_end: int = 0


@dataclass(frozen=True)
class OperationsReport:
    """Today's pulse of referral-svc as counts only: what a team manager or ops acts on."""

    as_of: date
    financial_year: int
    consent_overdue: int
    consent_escalated: int
    assessments_due: int
    assessments_breached: int
    assessments_escalated: int
    decided_in_year: int
    decided_within_10_days: int
    share_within_10_days: Decimal | None
    interventions_past_expected_end: int = 0
    queues: list[ProgrammeQueue] = field(default_factory=list)
    feed_review: dict[str, int] = field(default_factory=dict)


def _median(values: Sequence[int]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


async def operations(session: AsyncSession, as_of: date) -> OperationsReport:
    """Consent and assessment timers as of `as_of`, assessments decided in time this financial year, the
    waiting list per programme and the partner feed review queue."""
    fy = finyear.financial_year_of(as_of)
    open_referrals = (await session.execute(
        select(Referral).where(Referral.status.not_in(["closed", "withdrawn"]))
    )).scalars().all()
    consent_overdue = consent_escalated = due = breached = assessment_escalated = 0
    for r in open_referrals:
        timers = {t.timer for t in overdue_timers(
            status=r.status, consent_due_on=r.consent_due_on, consent_signed_on=r.consent_signed_on,
            assessment_due_on=r.assessment_due_on, decided=r.eligibility_decided_at is not None, as_of=as_of,
        )}
        if "consent" in timers:
            consent_overdue += 1
            consent_escalated += r.consent_overdue_sent_at is not None
        if "assessment" in timers:
            breached += 1
            assessment_escalated += r.assessment_overdue_sent_at is not None
        elif r.eligibility_decided_at is None and r.status in ("received", "assessing"):
            due += 1
    decided = (await session.execute(
        select(Referral.assessment_due_on, Referral.eligibility_decided_at)
        .where(Referral.referred_on >= finyear.year_start(fy), Referral.referred_on <= finyear.year_end(fy),
               Referral.eligibility_decided_at.is_not(None))
    )).all()
    in_time = sum(1 for due_on, at in decided if at is not None and at.date() <= due_on)

    settings = {p.programme: p for p in (await session.execute(select(ProgrammeSetting))).scalars().all()}
    active = (await session.execute(
        select(Intervention.programme, Intervention.family_id, Intervention.status, Intervention.expected_end_on)
        .where(Intervention.status == "active")
    )).all()
    overrunning = [p for p, _, st, end in active if past_expected_end(status=st, expected_end_on=end, as_of=as_of)]
    waiting = (await session.execute(
        select(WaitingEntry.programme, WaitingEntry.joined_at).where(WaitingEntry.status == "waiting")
    )).all()
    queues = []
    for programme in Programme:
        waits = [(as_of - joined.date()).days for p, joined in waiting if p == programme.value]
        setting = settings.get(programme.value)
        queues.append(ProgrammeQueue(
            programme=programme.value, capacity=setting.capacity if setting else None,
            active_families=len({fam for p, fam, _, _ in active if p == programme.value}), waiting=len(waits),
            longest_wait_days=max(waits) if waits else None, median_wait_days=_median(waits),
            past_expected_end=overrunning.count(programme.value),
        ))
    review: dict[str, int] = {}
    for (source,) in (await session.execute(select(PartnerEvent.source).where(PartnerEvent.status == "review"))).all():
        review[source] = review.get(source, 0) + 1
    return OperationsReport(
        as_of=as_of, financial_year=fy, consent_overdue=consent_overdue, consent_escalated=consent_escalated,
        assessments_due=due, assessments_breached=breached, assessments_escalated=assessment_escalated,
        decided_in_year=len(decided), decided_within_10_days=in_time,
        share_within_10_days=(Decimal(in_time) / Decimal(len(decided))).quantize(Decimal("0.0001")) if decided else None,
        interventions_past_expected_end=len(overrunning), queues=queues, feed_review=dict(sorted(review.items())),
    )

