"""Application operations of finance-svc: rates, projections, targets, programme costs, the savings ledger.

Every change that moves a figure ends in `_recompute(children)`: the children's ledger positions are
computed again from the facts stored (domain.ledger.child_position) and the year and programme totals
move by the difference. `rebuild_ledger` throws the ledger away and computes it again from the same
facts, one child at a time; a test proves both ways agree. Locks are taken first (repositories.lock_ledger)
so concurrent consumers and requests never compute from facts another transaction is changing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select

from eoc_shared.auth import Principal
from eoc_shared.db import UnitOfWork, utcnow
from eoc_shared.errors import Invalid, NotFound
from eoc_shared.events.envelope import Envelope
from eoc_shared.events.schemas import (
    FollowupRecorded,
    InterventionClosed,
    InterventionStarted,
    ProjectionUpdated,
    ReferralCreated,
)
from eoc_shared.finyear import financial_year_of, label
from finance_svc.db.models import (
    FollowupFact,
    InterventionChild,
    InterventionFact,
    LedgerEntry,
    LedgerFamily,
    LedgerProgramme,
    LedgerState,
    LedgerYear,
    Projection,
    ProjectionVersion,
    ReferralSeen,
)
from finance_svc.db.repositories import (
    AccessLog,
    Interventions,
    Ledger,
    PlacementRules,
    ProgrammeCosts,
    Projections,
    Rates,
    Targets,
    chunks,
    domain_targets,
    entry_values,
    insert_ignoring_duplicates,
    load_facts,
    lock_ledger,
    position_of,
)
from finance_svc.domain import projection as rules
from finance_svc.domain.ledger import (
    ProgrammeTotals,
    YearTotals,
    child_position,
    programme_delta,
    summary_from_totals,
    value_rows,
)
from finance_svc.domain.money import share
from finance_svc.domain.savings import HIGH_COST_DAILY_RATE
from finance_svc.domain.vocab import RISK_FACTORS

SERVICE_ACTOR = "finance-svc"
REBUILD_CHUNK = 2000


@dataclass(frozen=True)
class Acting:
    """Who is acting (a person's token, or the service itself for events), for the records and the access log."""

    actor: str
    role: str
    request_id: str | None = None

    @classmethod
    def of(cls, principal: Principal, request_id: str | None) -> Acting:
        return cls(principal.actor, principal.role.value, request_id)


SYSTEM = Acting(SERVICE_ACTOR, "service")


# --------------------------------------------------------------------------------------------- the rule, as data


async def seed_placement_rule(uow: UnitOfWork) -> None:
    """Default rule v1 is stored as data on first start; later versions are added through the API."""
    from sqlalchemy.exc import IntegrityError

    repo = PlacementRules(uow.session)
    if await repo.current() is None:
        await repo.add(rules.DEFAULT_RULE_V1.version, rules.DEFAULT_RULE_V1.as_dict(), "system")
        try:
            await uow.commit()
        except IntegrityError:  # another instance seeded it first
            await uow.rollback()


async def rule_in_force(uow: UnitOfWork) -> rules.PlacementRuleSet:
    row = await PlacementRules(uow.session).current()
    return rules.DEFAULT_RULE_V1 if row is None else rules.PlacementRuleSet.from_dict(row.rules)


async def add_rule_version(uow: UnitOfWork, document: Mapping[str, Any], acting: Acting) -> rules.PlacementRuleSet:
    repo = PlacementRules(uow.session)
    current = await repo.current()
    version = 1 if current is None else current.version + 1
    try:
        rule_set = rules.PlacementRuleSet.from_dict({"version": version, "rules": document["rules"]})
    except (ValueError, TypeError, KeyError) as exc:
        raise Invalid(str(exc), field="rules") from exc
    if any(r.placement_type is None and r.legal_statuses != frozenset({"LAC"}) for r in rule_set.rules):
        raise Invalid("only a rule for looked-after children (legal_statuses [\"LAC\"]) may keep the current "
                      "placement (placement_type null)", field="rules")
    last = rule_set.rules[-1]
    if any(v is not None for v in (last.legal_statuses, last.min_age_years, last.max_age_years,
                                    last.any_risk_factors)) or last.placement_type is None:
        raise Invalid("the last rule must match every child: no conditions and a placement_type", field="rules")
    await repo.add(version, rule_set.as_dict(), acting.actor)
    return rule_set


# --------------------------------------------------------------------------------------------- projections


def _state(p: Projection) -> dict[str, Any]:
    return {
        "placement_type": p.placement_type,
        "daily_rate": None if p.daily_rate is None else str(p.daily_rate),
        "status": p.status,
        "basis": p.basis,
    }


def _change(
    uow: UnitOfWork,
    projection: Projection,
    *,
    placement_type: str,
    daily_rate: Decimal | None,
    status: str,
    basis: str,
    changed_by: str,
    recorded_by: str,
    rule_version: int | None = None,
) -> None:
    """Apply a change to a stored projection: a new version with before and after, and the event."""
    before = _state(projection) if projection.version else None
    now = utcnow()
    projection.placement_type = placement_type
    projection.daily_rate = daily_rate
    projection.status = status
    projection.basis = basis
    projection.rule_version = rule_version
    projection.changed_by = changed_by
    projection.changed_at = now
    projection.version = (projection.version or 0) + 1
    uow.session.add(
        ProjectionVersion(
            child_id=projection.child_id, version=projection.version, changed_by=changed_by, recorded_by=recorded_by,
            changed_at=now, basis=basis, before=before, after=_state(projection),
        )
    )
    if daily_rate is not None:
        uow.publish(
            "projection.updated",
            key=projection.child_id,
            data=ProjectionUpdated(
                child_id=projection.child_id, placement_type=placement_type, daily_rate=daily_rate,
                annual_cost_avoided=rules.annual_cost_avoided(daily_rate), status=status, version=projection.version,
            ),
        )


async def referral_created(uow: UnitOfWork, event: Envelope, payload: ReferralCreated) -> None:
    """Propose a projection for every child of a new referral (the rule in force, the referral year's rates)."""
    session = uow.session
    fy = financial_year_of(payload.referred_on)
    children = [c.child_id for c in payload.children]
    await lock_ledger(session, children=children, rate_years=[fy])
    if await session.get(ReferralSeen, payload.referral_id) is None:
        session.add(
            ReferralSeen(
                id=payload.referral_id, family_id=payload.family_id, referred_on=payload.referred_on,
                risk_factors=list(payload.risk_factors),
                children=[c.model_dump(mode="json") for c in payload.children], received_at=utcnow(),
            )
        )
    rule_set = await rule_in_force(uow)
    card = await Rates(session).card(fy)
    known = await Projections(session).of_children(children)
    factors = [f for f in payload.risk_factors if f in RISK_FACTORS]  # a newer producer's codes play no part
    changed: list[uuid.UUID] = []
    for child in payload.children:
        placement, matched = rules.explain_placement(
            rule_set, child.age_years, child.legal_status, child.placement_type, factors
        )
        basis = rules.basis_for(rule_set, matched)
        rate = card.get(placement)
        current = known.get(child.child_id)
        if current is not None and current.status == rules.VERIFIED:
            continue  # the placements team's word stands until they change it
        if current is not None and (current.placement_type, current.daily_rate, current.rate_fy) == (placement, rate, fy):
            continue
        if current is None:
            current = Projection(child_id=child.child_id, version=0)
            session.add(current)
        current.referral_id = payload.referral_id
        current.family_id = payload.family_id
        current.rate_fy = fy
        _change(uow, current, placement_type=placement, daily_rate=rate, status=rules.PROPOSED, basis=basis,
                changed_by=rules.SYSTEM_ACTOR, recorded_by=SERVICE_ACTOR, rule_version=rule_set.version)
        changed.append(child.child_id)
    await session.flush()
    await _recompute(session, changed)


async def read_projection(uow: UnitOfWork, child_id: uuid.UUID, acting: Acting) -> Projection:
    projection = await Projections(uow.session).get(child_id)
    if projection is None:
        raise NotFound(f"finance has no projection for child {child_id}: projections are made when a referral "
                       "for the child arrives", field="child_id")
    AccessLog(uow.session).record(acting, "projection.read", [child_id])
    return projection


async def projection_history(uow: UnitOfWork, child_id: uuid.UUID, acting: Acting) -> list[ProjectionVersion]:
    await read_projection(uow, child_id, acting)
    return await Projections(uow.session).history(child_id)


async def verify_projection(
    uow: UnitOfWork,
    child_id: uuid.UUID,
    *,
    placement_type: str,
    daily_rate: Decimal | None,
    basis: str,
    verified_by: str,
    acting: Acting,
) -> Projection:
    """The placements team confirms or changes a projection; it becomes `verified`, the old one is kept."""
    session = uow.session
    found = await Projections(session).get(child_id)
    if found is None:
        raise NotFound(f"finance has no projection for child {child_id}: projections are made when a referral "
                       "for the child arrives", field="child_id")
    await lock_ledger(session, children=[child_id], rate_years=[found.rate_fy])
    projection = await Projections(session).get(child_id)
    assert projection is not None
    if daily_rate is None:
        daily_rate = (await Rates(session).card(projection.rate_fy)).get(placement_type)
        if daily_rate is None:
            raise Invalid(
                f"there is no {label(projection.rate_fy)} daily rate for {placement_type}: set it with PUT "
                f"/finance/rates/{projection.rate_fy}, or give daily_rate", field="daily_rate",
            )
    _change(uow, projection, placement_type=placement_type, daily_rate=daily_rate, status=rules.VERIFIED,
            basis=basis, changed_by=verified_by, recorded_by=acting.actor)
    AccessLog(session).record(acting, "projection.verify", [child_id])
    await session.flush()
    await _recompute(session, [child_id])
    return projection


# --------------------------------------------------------------------------------------------- settings


def _unique(items: Sequence[tuple[str, Any]], what: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for index, (key, value) in enumerate(items):
        if key in seen:
            raise Invalid(f"{key} is given twice; give each {what} once", field=f"{index}.{what}")
        seen[key] = value
    return seen


async def set_rates(uow: UnitOfWork, fy: int, items: Sequence[tuple[str, Decimal]], acting: Acting) -> int:
    """Replace the year's rate card; proposed projections of that year take the new rates. Returns how many moved."""
    card = _unique(items, "placement_type")
    session = uow.session
    await lock_ledger(session, rate_years=[fy])
    await Rates(session).replace(fy, card, acting.actor)
    waiting = await Projections(session).proposed_of_rate_year(fy)
    moved = 0
    for part in chunks(sorted(waiting)):
        await lock_ledger(session, children=part)
        changed: list[uuid.UUID] = []
        for projection in (await Projections(session).of_children(part)).values():
            if projection.status != rules.PROPOSED:
                continue
            rate = card.get(projection.placement_type)
            if rate == projection.daily_rate:
                continue
            _change(uow, projection, placement_type=projection.placement_type, daily_rate=rate,
                    status=rules.PROPOSED, basis=f"{projection.basis.split('; ')[0]}; {label(fy)} rate card changed",
                    changed_by=acting.actor, recorded_by=acting.actor, rule_version=projection.rule_version)
            changed.append(projection.child_id)
        await session.flush()
        await _recompute(session, changed)
        moved += len(changed)
    return moved


async def rate_card(uow: UnitOfWork, fy: int) -> dict[str, Decimal]:
    return await Rates(uow.session).card(fy)


async def set_targets(uow: UnitOfWork, fy: int, children_diverted: int, gross_savings: Decimal, acting: Acting) -> Any:
    return await Targets(uow.session).put(fy, children_diverted, gross_savings, acting.actor)


async def targets_of(uow: UnitOfWork, fy: int) -> Any:
    return await Targets(uow.session).get(fy)


async def set_programme_costs(uow: UnitOfWork, fy: int, items: Sequence[tuple[str, Decimal]], acting: Acting) -> None:
    await ProgrammeCosts(uow.session).replace(fy, _unique(items, "programme"), acting.actor)


async def programme_costs(uow: UnitOfWork, fy: int) -> dict[str, Decimal]:
    return {c.programme: c.cost for c in await ProgrammeCosts(uow.session).of_year(fy)}


# --------------------------------------------------------------------------------------------- facts from events


async def _note_family(session: Any, fy: int, family_id: uuid.UUID) -> YearTotals:
    result = await session.execute(
        insert_ignoring_duplicates(session, LedgerFamily).values(fy=fy, family_id=family_id).on_conflict_do_nothing()
    )
    return YearTotals.family() if result.rowcount == 1 else YearTotals()


async def _intervention(
    session: Any, payload: InterventionStarted | InterventionClosed
) -> tuple[InterventionFact, dict[uuid.UUID, InterventionChild]]:
    """The intervention as known so far (either event may come first), with one row per child."""
    repo = Interventions(session)
    fact = await repo.get(payload.intervention_id)
    if fact is None:
        fact = InterventionFact(
            id=payload.intervention_id, referral_id=payload.referral_id, family_id=payload.family_id,
            programme=payload.programme, started_on=payload.started_on, fy=financial_year_of(payload.started_on),
            started_seen=False, closed_seen=False, updated_at=utcnow(),
        )
        session.add(fact)
        await session.flush()
        delta = await _note_family(session, fact.fy, fact.family_id)
        await Ledger(session).apply({fact.fy: delta}, {})
    children = await repo.children(fact.id)
    for child_id in payload.child_ids:
        if child_id not in children:
            children[child_id] = InterventionChild(intervention_id=fact.id, child_id=child_id)
            session.add(children[child_id])
    return fact, children


async def intervention_started(uow: UnitOfWork, event: Envelope, payload: InterventionStarted) -> None:
    session = uow.session
    await lock_ledger(session, children=payload.child_ids)
    fact, _children = await _intervention(session, payload)
    fact.started_seen = True
    fact.expected_end_on = payload.expected_end_on
    fact.updated_at = utcnow()
    await session.flush()
    await _recompute(session, payload.child_ids)


async def intervention_closed(uow: UnitOfWork, event: Envelope, payload: InterventionClosed) -> None:
    session = uow.session
    everyone = list(payload.child_ids) + [o.child_id for o in payload.child_outcomes]
    await lock_ledger(session, children=everyone)
    fact, children = await _intervention(session, payload)
    fact.closed_seen = True
    fact.closed_on = payload.closed_on
    fact.reason = payload.reason
    fact.updated_at = utcnow()
    for outcome in payload.child_outcomes:
        row = children.get(outcome.child_id)
        if row is None:
            row = children[outcome.child_id] = InterventionChild(intervention_id=fact.id, child_id=outcome.child_id)
            session.add(row)
        row.living_situation = outcome.living_situation
        row.placement_type = outcome.placement_type
    await session.flush()
    await _recompute(session, everyone)


async def followup_recorded(uow: UnitOfWork, event: Envelope, payload: FollowupRecorded) -> None:
    session = uow.session
    await lock_ledger(session, children=[payload.child_id])
    key = payload.followup_id or event.id
    row = await session.get(FollowupFact, key)
    if row is None:
        row = FollowupFact(id=key)
        session.add(row)
    row.child_id = payload.child_id
    row.intervention_id = payload.intervention_id
    row.checkpoint_months = payload.checkpoint_months
    row.living_situation = payload.living_situation
    row.re_referred = payload.re_referred
    row.observed_on = payload.observed_on
    row.recorded_at = utcnow()
    await session.flush()
    await _recompute(session, [payload.child_id])


# --------------------------------------------------------------------------------------------- the ledger


async def _recompute(session: Any, child_ids: Iterable[uuid.UUID]) -> None:
    """Compute the children's positions again and move the totals by the difference (callers hold the locks)."""
    ids = sorted(set(child_ids))
    if not ids:
        return
    facts = await load_facts(session, ids)
    ledger = Ledger(session)
    old = await ledger.entries_of(ids)
    old_years: dict[uuid.UUID, set[int]] = defaultdict(set)
    for fy, child in old:
        old_years[child].add(fy)
    years: dict[int, YearTotals] = defaultdict(YearTotals)
    programmes: dict[tuple[int, str], ProgrammeTotals] = defaultdict(ProgrammeTotals)
    added: list[dict[str, Any]] = []
    for child in ids:
        mine = facts[child]
        for fy in sorted(mine.years | old_years[child]):
            row = old.get((fy, child))
            before = position_of(row)
            after = child_position(fy, str(child), mine.interventions, mine.projection, mine.followups)
            if before == after:
                continue
            years[fy] += YearTotals.of(after) - YearTotals.of(before)
            for programme, part in programme_delta(before, after).items():
                programmes[(fy, programme)] += part
            if after is None:
                await session.delete(row)
            elif row is None:
                added.append(entry_values(after))
            else:
                for name, value in entry_values(after).items():
                    setattr(row, name, value)
    await session.flush()
    if added:  # one bulk INSERT (new keys only: a row is deleted or updated only where one existed)
        await session.execute(insert(LedgerEntry), added)
    await ledger.apply(dict(years), dict(programmes))


async def rebuild_ledger(uow: UnitOfWork, acting: Acting) -> dict[str, Any]:
    """Throw the ledger away and build it again from the facts learnt from events and the projections."""
    session = uow.session
    await lock_ledger(session, exclusive=True)
    for model in (LedgerEntry, LedgerFamily, LedgerProgramme, LedgerYear):
        await session.execute(delete(model))
    served = select(InterventionFact.fy, InterventionFact.family_id).distinct()
    await session.execute(insert(LedgerFamily).from_select(["fy", "family_id"], served))
    per_year = {
        fy: YearTotals.family(int(count))
        for fy, count in await session.execute(
            select(LedgerFamily.fy, func.count()).group_by(LedgerFamily.fy))
    }
    families = sum(t.families_served for t in per_year.values())
    await Ledger(session).apply(per_year, {})
    children = list((await session.execute(select(InterventionChild.child_id).distinct())).scalars())
    for part in chunks(sorted(children), REBUILD_CHUNK):
        await _recompute(session, part)
        session.expunge_all()
    state = await session.get(LedgerState, 1)
    if state is None:
        state = LedgerState(id=1)
        session.add(state)
    state.rebuilt_at = utcnow()
    state.rebuilt_by = acting.actor
    await session.flush()
    years = (await session.execute(select(func.count()).select_from(LedgerYear))).scalar_one()
    return {"children": len(children), "families": families, "financial_years": int(years),
            "rebuilt_at": state.rebuilt_at}


# --------------------------------------------------------------------------------------------- figures


async def summary(uow: UnitOfWork, fy: int) -> dict[str, Any]:
    ledger = Ledger(uow.session)
    totals = await ledger.year(fy)
    targets = domain_targets(await Targets(uow.session).get(fy))
    breakdowns = await ledger.breakdowns(fy) if totals.breakdowns else []
    return summary_from_totals(fy, totals, targets, breakdowns)


async def summaries(uow: UnitOfWork, first: int, last: int) -> list[dict[str, Any]]:
    ledger = Ledger(uow.session)
    totals = await ledger.years(first, last)
    targets = await Targets(uow.session).of_years(first, last)
    rows = []
    for fy in range(first, last + 1):
        year = totals.get(fy, YearTotals())
        breakdowns = await ledger.breakdowns(fy) if year.breakdowns else []
        rows.append(summary_from_totals(fy, year, domain_targets(targets.get(fy)), breakdowns))
    return rows


async def value_for_money(uow: UnitOfWork, fy: int) -> dict[str, Any]:
    session = uow.session
    rows = value_rows(await Interventions(session).activity(fy), await Ledger(session).programmes(fy),
                      await programme_costs(uow, fy))
    return {"financial_year": label(fy), "programmes": rows}


async def high_cost(uow: UnitOfWork, fy: int, limit: int, offset: int, acting: Acting) -> dict[str, Any]:
    """The share of the year's children whose projection is £1,000 a day or more, and their projections."""
    ledger = Ledger(uow.session)
    totals = await ledger.year(fy)
    total, rows = await ledger.high_cost(fy, limit, offset)
    items = [
        {
            "child_id": projection.child_id,
            "placement_type": projection.placement_type,
            "daily_rate": projection.daily_rate,
            "annual_cost_avoided": rules.annual_cost_avoided(projection.daily_rate),
            "status": projection.status,
            "basis": projection.basis,
            "diverted": entry.diverted,
            "programme": entry.credited_programme,
        }
        for entry, projection in rows
    ]
    AccessLog(uow.session).record(acting, "projection.list_high_cost", [i["child_id"] for i in items])
    return {
        "financial_year": label(fy),
        "threshold_daily_rate": HIGH_COST_DAILY_RATE,
        "children_served": totals.children_served,
        "high_cost_children": totals.high_cost_children,
        "high_cost_share": share(totals.high_cost_children, totals.children_served),
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": items,
    }
