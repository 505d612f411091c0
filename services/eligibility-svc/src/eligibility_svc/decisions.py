"""Application operations of eligibility-svc: keep rule sets, decide referrals, answer what-ifs, report.

The rule set that decides a referral is the one in force on its referral date (`as_of`); a what-if
uses the one in force on its `as_of` (default today). Decisions are never changed: a referral whose
children or risk factors change is decided again and the new decision is added to its history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError

from eligibility_svc.db.models import DecisionRecord, RuleSetRecord
from eligibility_svc.db.repositories import AccessLog, CasePractitioners, Decisions, RuleSets
from eligibility_svc.domain import engine
from eligibility_svc.domain.ruleset import MAX_VERSION, FieldPath
from eoc_shared import finyear
from eoc_shared.acting import Acting
from eoc_shared.clock import today
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.errors import Conflict, Forbidden, NotFound
from eoc_shared.events.envelope import Envelope
from eoc_shared.events.schemas import EligibilityDecided, ProgrammeDecision, ReferralCreated, ReferralUpdated

NOT_THEIR_CASE = "a practitioner may read only the cases of their own interventions"

#: `referral.updated` is decided again only when one of these facts changed.
DECISIVE_CHANGES = frozenset({"children", "risk_factors", "threshold_for_removal_met"})


class NoRuleSetInForce(LookupError):
    def __init__(self, as_of: date) -> None:
        super().__init__(f"no rule set is in force on {as_of.isoformat()}")
        self.as_of = as_of


class RuleSetRejected(Exception):
    """A rule set that is well shaped but wrong as a whole; each problem names the field at fault."""

    def __init__(self, problems: list[tuple[FieldPath, str]]) -> None:
        super().__init__("; ".join(f"{engine.path_text(p)}: {m}" for p, m in problems))
        self.problems = problems


# ------------------------------------------------------------------------------------------ rule sets

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
    try:
        await uow.commit()
    except IntegrityError:  # another instance seeded it first
        await uow.rollback()


def _rule_set(record: RuleSetRecord) -> engine.RuleSet:
    return engine.RuleSet.model_validate(record.document)


# Rule sets are never changed once stored, so each is parsed once per process. Keyed by version and the moment it
# was stored: another database (a test's, a re-created one) holding the same version is another key.
_PARSED: dict[tuple[int, datetime], engine.RuleSet] = {}


async def rule_set_in_force(uow: UnitOfWork, as_of: date) -> engine.RuleSet:
    """The rule set in force on `as_of`. Asked of the database every time (another replica may have added one),
    but only its key: deciding a referral need not load and validate the whole document again."""
    rule_sets = RuleSets(uow.session)
    key = await rule_sets.in_force_key(as_of)
    if key is None:
        raise NoRuleSetInForce(as_of)
    parsed = _PARSED.get(key)
    if parsed is None:
        record = await rule_sets.get(key[0])
        if record is None:  # removed between the two reads: rule sets are never removed, but be exact
            raise NoRuleSetInForce(as_of)
        parsed = _PARSED[key] = _rule_set(record)
    return parsed


async def rule_set_version(uow: UnitOfWork, version: int) -> engine.RuleSet:
    record = None
    if 1 <= version <= MAX_VERSION:
        record = await RuleSets(uow.session).get(version)
    if record is None:
        raise NotFound(f"there is no rule set version {version}", field="version")
    return _rule_set(record)


@dataclass(frozen=True)
class StoredRuleSet:
    """A rule set version as listed: when and by whom it was added, and whether it is the one in force today."""

    version: int
    effective_from: date
    description: str | None
    programmes: list[str]
    created_at: datetime
    created_by: str
    in_force: bool


async def list_rule_sets(uow: UnitOfWork) -> list[StoredRuleSet]:
    records = await RuleSets(uow.session).all()
    current = await RuleSets(uow.session).in_force(today())
    return [
        StoredRuleSet(r.version, r.effective_from, r.document.get("description"),
                      [p["code"] for p in r.document["programmes"]], r.created_at, r.created_by,
                      current is not None and r.version == current.version)
        for r in records
    ]


async def add_rule_set(uow: UnitOfWork, document: engine.RuleSetDocument, actor: str) -> engine.RuleSet:
    """Store a new rule set version; it takes effect from its `effective_from` date. Nothing is stored
    when it is inconsistent (`RuleSetRejected`) or the version exists (409)."""
    found = engine.problems(document)
    if found:
        raise RuleSetRejected(found)
    rule_set = engine.RuleSet.model_validate(document.model_dump())
    if await RuleSets(uow.session).get(rule_set.version) is not None:
        raise Conflict(f"rule set version {rule_set.version} already exists; rule sets are never changed, "
                       "add a new version", field="version")
    uow.session.add(
        RuleSetRecord(
            version=rule_set.version, effective_from=rule_set.effective_from,
            document=rule_set.model_dump(mode="json"), created_at=utcnow(), created_by=actor[:200],
        )
    )
    try:
        await uow.commit()
    except IntegrityError as exc:  # the same version added at the same moment
        await uow.rollback()
        raise Conflict(f"rule set version {rule_set.version} already exists", field="version") from exc
    return rule_set


# ------------------------------------------------------------------------------------------ decisions

def assess(rule_set: engine.RuleSet, children: list[tuple[int, str]], risk_factors: list[str],
           threshold: bool) -> engine.Decision:
    return engine.decide(
        rule_set,
        [engine.ChildFacts(age_years=age, legal_status=status) for age, status in children],
        risk_factors,
        threshold,
    )


def should_decide_again(update: ReferralUpdated) -> bool:
    return bool(DECISIVE_CHANGES.intersection(update.changed))


async def decide_referral(
    uow: UnitOfWork, event: Envelope, referral: ReferralCreated | ReferralUpdated
) -> DecisionRecord:
    """Decide a referral with the rule set in force on its referral date, keep the inputs, version,
    result and reasons, and publish `eligibility.decided` in the same transaction."""
    rule_set = await rule_set_in_force(uow, referral.referred_on)
    children = [(c.age_years, c.legal_status) for c in referral.children]
    result = assess(rule_set, children, list(referral.risk_factors), referral.threshold_for_removal_met)
    record = DecisionRecord(
        id=uuid.uuid4(),
        referral_id=referral.referral_id,
        rule_version=result.rule_version,
        inputs={
            "children": [{"age_years": a, "legal_status": s} for a, s in children],
            "risk_factors": list(referral.risk_factors),
            "threshold_for_removal_met": referral.threshold_for_removal_met,
            "as_of": referral.referred_on.isoformat(),
        },
        recommended=result.recommended,
        programmes=[{"programme": p.programme, "eligible": p.eligible, "reasons": list(p.reasons)}
                    for p in result.programmes],
        decided_at=utcnow(),
        referred_on=referral.referred_on,
        child_ids=[str(c.child_id) for c in referral.children],
        trigger_event_id=event.id,
        trigger=event.topic,
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


async def latest_decision(uow: UnitOfWork, referral_id: uuid.UUID, acting: Acting) -> DecisionRecord:
    await ensure_may_read(uow, acting, referral_id)
    record = await Decisions(uow.session).latest(referral_id)
    if record is None:
        raise NotFound(f"no eligibility decision has been made for referral {referral_id}")
    _audit_read(uow, acting, [record])
    return record


async def decision_history(uow: UnitOfWork, referral_id: uuid.UUID, acting: Acting) -> list[DecisionRecord]:
    await ensure_may_read(uow, acting, referral_id)
    records = list(await Decisions(uow.session).history(referral_id))
    if not records:
        raise NotFound(f"no eligibility decision has been made for referral {referral_id}")
    _audit_read(uow, acting, records)
    return records


# ------------------------------------------------------------------------------------------ who may read

async def ensure_may_read(uow: UnitOfWork, acting: Acting, referral_id: uuid.UUID) -> None:
    """A practitioner reads only the decisions of cases they work (as referral-svc scopes its cases):
    decisions name factors such as sexual_abuse_active or psychosis."""
    if acting.is_practitioner and not await CasePractitioners(uow.session).works(acting.actor, referral_id):
        raise Forbidden(NOT_THEIR_CASE)


async def note_practitioner(uow: UnitOfWork, referral_id: uuid.UUID, practitioner: str | None) -> None:
    """`intervention.started` / `intervention.closed` name who works the case; kept to scope their reads."""
    if practitioner:
        await CasePractitioners(uow.session).add(referral_id, practitioner, utcnow())


def _audit_read(uow: UnitOfWork, acting: Acting, records: list[DecisionRecord]) -> None:
    children = [uuid.UUID(c) for r in records for c in (r.child_ids or [])]
    AccessLog(uow.session).record(acting, "decision.read", children)


# ------------------------------------------------------------------------------------------ report

@dataclass(frozen=True)
class NoIntensive:
    referrals: int
    share: float | None
    reasons: dict[str, int]
    by_programme: dict[str, dict[str, int]]


@dataclass(frozen=True)
class YearReport:
    """A financial year's decided referrals (`GET /eligibility/report`)."""

    financial_year: int
    label: str
    period_start: date
    period_end: date
    referrals_decided: int
    eligible_per_programme: dict[str, int]
    recommended: dict[str, int]
    intensive_programmes: list[str]
    no_intensive_programme: NoIntensive
    rule_versions: dict[str, int]


async def rejection_report(uow: UnitOfWork, fy: int) -> YearReport:
    """Referrals decided in a financial year (by referral date; latest decision per referral), eligible per
    programme, and those no intensive programme could take, with counts per reason."""
    start, end = finyear.year_start(fy), finyear.year_end(fy)
    latest = await Decisions(uow.session).latest_per_referral(start, end)
    rule_sets = RuleSets(uow.session)
    versions = {r.rule_version for r in latest}
    shown = await rule_sets.in_force(min(end, max(start, today())))
    if shown is not None:
        versions.add(shown.version)
    documents = {v: _rule_set(r) for v, r in (await rule_sets.many(versions)).items()}
    intensive = {v: rs.intensive for v, rs in documents.items()}
    catalogue: list[str] = []
    for version in ([shown.version] if shown is not None else []) + sorted(versions):
        for programme in documents[version].programmes if version in documents else ():
            if programme.code not in catalogue:
                catalogue.append(programme.code)
    counted = engine.summarise(
        (engine.DecidedReferral.from_stored(r.rule_version, r.recommended, r.programmes) for r in latest),
        intensive, catalogue,
    )
    return YearReport(
        financial_year=fy,
        label=finyear.label(fy),
        period_start=start,
        period_end=end,
        referrals_decided=counted.referrals_decided,
        eligible_per_programme=counted.eligible_per_programme,
        recommended=counted.recommended,
        intensive_programmes=[c for c in catalogue if any(c in s for s in intensive.values())],
        no_intensive_programme=NoIntensive(counted.no_intensive_referrals, counted.no_intensive_share,
                                           counted.reasons, counted.reasons_by_programme),
        rule_versions=counted.rule_versions,
    )
