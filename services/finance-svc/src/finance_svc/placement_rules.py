"""The placement rule as data: seeded as version 1, new versions added by the placements team."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from eoc_shared.acting import Acting
from eoc_shared.db import UnitOfWork
from eoc_shared.errors import Invalid
from finance_svc.db.repositories import (
    PlacementRules,
)
from finance_svc.domain import projection as rules


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


# Rule versions are never changed once stored, so each is parsed once per process. Keyed by version and the moment
# it was stored: another database (a test's, a re-created one) holding the same version is another key.
_PARSED: dict[tuple[int, datetime], rules.PlacementRuleSet] = {}


async def rule_in_force(uow: UnitOfWork) -> rules.PlacementRuleSet:
    """The highest version. Asked of the database every time (another replica may have added one), but only its
    key: every new referral's projection need not load and parse the whole document again."""
    repo = PlacementRules(uow.session)
    key = await repo.current_key()
    if key is None:
        return rules.DEFAULT_RULE_V1
    parsed = _PARSED.get(key)
    if parsed is None:
        row = await repo.get(key[0])
        if row is None:  # versions are never removed, but be exact
            return rules.DEFAULT_RULE_V1
        parsed = _PARSED[key] = rules.PlacementRuleSet.from_dict(row.rules)
    return parsed


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
