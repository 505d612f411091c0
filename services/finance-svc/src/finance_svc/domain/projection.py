"""Per-child projected placement cost avoided.

The default rule that proposes a placement is data, not code, so the placements team can
change it (as a new version) without a release, and every proposal can say which rule made it.
Each change to a child's projection becomes a new version record (db.models.ProjectionVersion, written by
projections.py): the contract requires that "every change is kept with who and why".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .money import to_decimal
from .vocab import LEGAL_STATUSES, RISK_FACTORS

DAYS_PER_YEAR = 365

PROPOSED = "proposed"
VERIFIED = "verified"
STATUSES = frozenset({PROPOSED, VERIFIED})


def annual_cost_avoided(daily_rate: Decimal | int | str) -> Decimal:
    """Savings method v1: a year is 365 days whatever the calendar says; exact, never rounded here."""
    return to_decimal(daily_rate) * DAYS_PER_YEAR


@dataclass(frozen=True)
class PlacementRule:
    """One line of a rule set. Every condition given must hold; a condition left as None always holds.

    `placement_type` None means "keep the child's current placement"; such a rule does not
    match a child who has no current placement, so the next rule decides instead.
    """

    name: str
    placement_type: str | None
    legal_statuses: frozenset[str] | None = None
    min_age_years: int | None = None
    max_age_years: int | None = None
    any_risk_factors: frozenset[str] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a rule needs a name")
        if self.legal_statuses is not None:
            object.__setattr__(self, "legal_statuses", frozenset(self.legal_statuses))
            unknown = self.legal_statuses - LEGAL_STATUSES
            if unknown:
                raise ValueError(f"rule {self.name}: unknown legal_status {sorted(unknown)}")
        if self.any_risk_factors is not None:
            object.__setattr__(self, "any_risk_factors", frozenset(self.any_risk_factors))
            unknown = self.any_risk_factors - RISK_FACTORS
            if unknown:
                raise ValueError(f"rule {self.name}: unknown risk_factors {sorted(unknown)}")
        for bound in (self.min_age_years, self.max_age_years):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int) or bound < 0):
                raise ValueError(f"rule {self.name}: ages are whole years from 0")
        if self.placement_type is not None and not self.placement_type.strip():
            raise ValueError(f"rule {self.name}: placement_type must not be blank")

    def matches(
        self, age_years: int, legal_status: str, placement_type: str | None, risk_factors: frozenset[str]
    ) -> bool:
        if self.legal_statuses is not None and legal_status not in self.legal_statuses:
            return False
        if self.min_age_years is not None and age_years < self.min_age_years:
            return False
        if self.max_age_years is not None and age_years > self.max_age_years:
            return False
        if self.any_risk_factors is not None and not (self.any_risk_factors & risk_factors):
            return False
        if self.placement_type is None and not placement_type:
            return False
        return True

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "placement_type": self.placement_type,
            "legal_statuses": sorted(self.legal_statuses) if self.legal_statuses is not None else None,
            "min_age_years": self.min_age_years,
            "max_age_years": self.max_age_years,
            "any_risk_factors": sorted(self.any_risk_factors) if self.any_risk_factors is not None else None,
            "description": self.description,
        }


@dataclass(frozen=True)
class PlacementRuleSet:
    """An ordered rule list; the first rule that matches decides. The last rule should match everyone."""

    version: int
    rules: tuple[PlacementRule, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        if not self.rules:
            raise ValueError("a rule set needs at least one rule")
        names = [rule.name for rule in self.rules]
        if len(set(names)) != len(names):
            raise ValueError("rule names must be unique within a rule set")

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "rules": [rule.as_dict() for rule in self.rules]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlacementRuleSet:
        """Load a rule set stored as JSON; unknown keys are refused so a typo cannot silently widen a rule."""
        allowed = {field_name for field_name in PlacementRule.__dataclass_fields__}
        rules = []
        for raw in data["rules"]:
            unknown = set(raw) - allowed
            if unknown:
                raise ValueError(f"unknown rule fields {sorted(unknown)}")
            values = dict(raw)
            for key in ("legal_statuses", "any_risk_factors"):
                if values.get(key) is not None:
                    values[key] = frozenset(values[key])
            rules.append(PlacementRule(**values))
        return cls(version=int(data["version"]), rules=tuple(rules))


DEFAULT_RULE_V1 = PlacementRuleSet(
    version=1,
    rules=(
        PlacementRule(
            name="looked_after_keeps_placement",
            placement_type=None,
            legal_statuses=frozenset({"LAC"}),
            description="A looked-after child keeps their current placement type.",
        ),
        PlacementRule(
            name="older_child_behaviour_offending_exploitation",
            placement_type="K2",
            min_age_years=11,
            any_risk_factors=frozenset({"behaviour", "offending", "exploitation"}),
            description="A child aged 11 or over with behaviour, offending or exploitation: children's home (K2).",
        ),
        PlacementRule(
            name="any_other_child",
            placement_type="U6",
            description="Any other child: foster care (U6).",
        ),
    ),
)


def explain_placement(
    rule: PlacementRuleSet,
    age_years: int,
    legal_status: str,
    placement_type: str | None,
    risk_factors: Iterable[str],
) -> tuple[str, PlacementRule]:
    """The proposed placement and the rule that chose it, so the projection's basis can say why."""
    if isinstance(age_years, bool) or not isinstance(age_years, int) or age_years < 0:
        raise ValueError("age_years must be a whole number of years from 0")
    if legal_status not in LEGAL_STATUSES:
        raise ValueError(f"unknown legal_status {legal_status!r}")
    factors = frozenset(risk_factors)
    unknown = factors - RISK_FACTORS
    if unknown:
        raise ValueError(f"unknown risk_factors {sorted(unknown)}")
    for candidate in rule.rules:
        if candidate.matches(age_years, legal_status, placement_type, factors):
            chosen = candidate.placement_type or placement_type
            assert chosen is not None
            return chosen, candidate
    raise ValueError(f"rule set v{rule.version} has no rule for this child; its last rule should match everyone")


def propose_placement(
    rule: PlacementRuleSet,
    age_years: int,
    legal_status: str,
    placement_type: str | None,
    risk_factors: Iterable[str],
) -> str:
    """The placement a child would most likely need without the intervention, per the rule set."""
    return explain_placement(rule, age_years, legal_status, placement_type, risk_factors)[0]


def basis_for(rule: PlacementRuleSet, matched: PlacementRule) -> str:
    """The text stored as a proposal's basis: names the rule version and line, never the child."""
    return f"default rule v{rule.version}: {matched.name}"


SYSTEM_ACTOR = "finance-svc (default rule)"
