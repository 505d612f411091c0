"""Deciding a referral against a rule set: every programme of the catalogue, eligible or not, with its reasons
in words a social worker understands; `recommended` is the first eligible programme in catalogue order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from eligibility_svc.domain.criteria import (
    AlwaysCriterion,
    ChildCriterion,
    ChildFacts,
    Criterion,
    EligibleForAnyCriterion,
    NotEligibleForCriterion,
    RiskAnyCriterion,
    RuleSet,
    ThresholdCriterion,
    _or,
)


@dataclass(frozen=True)
class ProgrammeResult:
    programme: str
    eligible: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    rule_version: int
    recommended: str | None
    programmes: tuple[ProgrammeResult, ...]

    def result(self, programme: str) -> ProgrammeResult:
        return next(p for p in self.programmes if p.programme == programme)

    @property
    def eligible(self) -> tuple[str, ...]:
        return tuple(p.programme for p in self.programmes if p.eligible)


def _evaluate(
    criterion: Criterion, children: Sequence[ChildFacts], factors: frozenset[str], threshold: bool,
    decided: dict[str, bool], programme: str,
) -> tuple[bool, str]:
    """Whether a criterion holds, and why, in words a social worker understands."""
    if isinstance(criterion, ChildCriterion):
        hits = [c for c in children if criterion.matches(c)]
        if hits:
            ages = ", ".join(str(c.age_years) for c in hits)
            return True, f"{criterion.describe()} (aged {ages})"
        return False, f"no {criterion.describe()}"
    if isinstance(criterion, RiskAnyCriterion):
        present = [f for f in criterion.factors if f in factors]
        if present:
            return True, "risk factor: " + ", ".join(present)
        if len(criterion.factors) == 1:
            return False, f"no {criterion.factors[0]} among the risk factors"
        return False, f"none of {_or(criterion.factors)} among the risk factors"
    if isinstance(criterion, ThresholdCriterion):
        return (True, "threshold for removal met") if threshold else (False, "threshold for removal not met")
    if isinstance(criterion, NotEligibleForCriterion):
        blocking = [c for c in criterion.programmes if decided[c]]
        if blocking:
            return False, f"eligible for {' and '.join(blocking)}, so {programme} does not apply"
        return True, f"not eligible for {_or(criterion.programmes)}"
    if isinstance(criterion, EligibleForAnyCriterion):
        open_ = [c for c in criterion.programmes if decided[c]]
        if open_:
            return True, f"eligible for {' and '.join(open_)}; {programme} is the alternative"
        return False, f"not eligible for {_or(criterion.programmes)}"
    if isinstance(criterion, AlwaysCriterion):
        return True, "always open"
    outcomes = [_evaluate(c, children, factors, threshold, decided, programme) for c in criterion.criteria]
    passed = [text for ok, text in outcomes if ok]
    if passed:
        return True, "; ".join(passed)
    return False, ", and ".join(text for _ok, text in outcomes)


def decide(
    rule_set: RuleSet, children: Sequence[ChildFacts], risk_factors: Iterable[str], threshold_for_removal_met: bool
) -> Decision:
    """Decide every programme of the catalogue. An eligible programme lists the criteria it met; an
    ineligible one lists every criterion it failed and every exclusion that applies."""
    factors = frozenset(risk_factors)
    decided: dict[str, bool] = {}
    results: dict[str, ProgrammeResult] = {}
    for programme in rule_set.decision_order():
        outcomes = [
            _evaluate(c, children, factors, threshold_for_removal_met, decided, programme.code)
            for c in programme.criteria
        ]
        failed = [text for ok, text in outcomes if not ok]
        excluded: list[str] = []
        for exclusion in rule_set.exclusions:
            if programme.code in exclusion.programmes:
                excluded += [f"excluded: {f}" for f in exclusion.factors if f in factors and f"excluded: {f}" not in excluded]
        eligible = not failed and not excluded
        decided[programme.code] = eligible
        reasons = [text for _ok, text in outcomes] if eligible else failed + excluded
        results[programme.code] = ProgrammeResult(programme.code, eligible, tuple(reasons))
    ordered = tuple(results[p.code] for p in rule_set.programmes)
    recommended = next((r.programme for r in ordered if r.eligible), None)
    return Decision(rule_set.version, recommended, ordered)


def select_rule_set(rule_sets: Iterable[RuleSet], as_of: date) -> RuleSet:
    """The rule set in force on a date: the latest `effective_from` on or before it; on a tie, the higher version."""
    in_force = [r for r in rule_sets if r.effective_from <= as_of]
    if not in_force:
        raise LookupError(f"no rule set is in force on {as_of.isoformat()}")
    return max(in_force, key=lambda r: (r.effective_from, r.version))
