"""Eligibility rules as data: a versioned, effective-dated rule set of declarative criteria, and `decide`.

A programme is eligible when all its criteria hold and no exclusion applies. Criteria may refer
to other programmes' final eligibility ("not eligible for MST", "eligible for MST or MST_BSF"),
so programmes are decided in dependency order and reported in catalogue order. Every result
carries its reasons in words a social worker understands.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

RISK_FACTORS = (
    "behaviour", "offending", "school_exclusion", "physical_abuse", "neglect", "emotional_abuse",
    "sexual_abuse_active", "sexual_harm", "psychosis", "domestic_abuse", "substance_misuse", "exploitation",
    "family_breakdown", "parental_mental_health",
)
LEGAL_STATUSES = ("NONE", "CIN", "CPP", "LAC")
STATUS_WORDS = {"LAC": "looked after", "CPP": "on a child protection plan", "CIN": "a child in need", "NONE": "without a legal status"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChildCriterion(_Strict):
    kind: Literal["child"]
    min_age: int = Field(default=0, ge=0, le=25)
    max_age: int = Field(default=25, ge=0, le=25)
    legal_status_in: list[Literal["NONE", "CIN", "CPP", "LAC"]] | None = None
    legal_status_not_in: list[Literal["NONE", "CIN", "CPP", "LAC"]] | None = None

    @model_validator(mode="after")
    def _range(self) -> "ChildCriterion":
        if self.min_age > self.max_age:
            raise ValueError(f"min_age {self.min_age} is above max_age {self.max_age}")
        return self

    def describe(self) -> str:
        words = "child"
        if (self.min_age, self.max_age) != (0, 25):
            words += f" aged {self.min_age}–{self.max_age}"
        if self.legal_status_not_in:
            words += " who is not " + " or ".join(STATUS_WORDS[s] for s in self.legal_status_not_in)
        if self.legal_status_in:
            words += " who is " + " or ".join(STATUS_WORDS[s] for s in self.legal_status_in)
        return words

    def matches(self, child: ChildFacts) -> bool:
        return (
            self.min_age <= child.age_years <= self.max_age
            and (self.legal_status_in is None or child.legal_status in self.legal_status_in)
            and (self.legal_status_not_in is None or child.legal_status not in self.legal_status_not_in)
        )


class RiskAnyCriterion(_Strict):
    kind: Literal["risk_any"]
    factors: list[str] = Field(min_length=1)


class ThresholdCriterion(_Strict):
    kind: Literal["threshold_met"]


class NotEligibleForCriterion(_Strict):
    kind: Literal["not_eligible_for"]
    programmes: list[str] = Field(min_length=1)


class EligibleForAnyCriterion(_Strict):
    kind: Literal["eligible_for_any"]
    programmes: list[str] = Field(min_length=1)


class AlwaysCriterion(_Strict):
    kind: Literal["always"]


class AnyOfCriterion(_Strict):
    kind: Literal["any_of"]
    criteria: list[Criterion] = Field(min_length=2)


Criterion = Annotated[
    Union[
        ChildCriterion, RiskAnyCriterion, ThresholdCriterion, NotEligibleForCriterion, EligibleForAnyCriterion,
        AlwaysCriterion, AnyOfCriterion,
    ],
    Field(discriminator="kind"),
]
AnyOfCriterion.model_rebuild()


class Programme(_Strict):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=40)
    name: str = Field(min_length=1, max_length=200)
    duration: str = Field(min_length=1, max_length=100)
    intensive: bool
    criteria: list[Criterion] = Field(min_length=1)


class Exclusion(_Strict):
    factors: list[str] = Field(min_length=1)
    programmes: list[str] = Field(min_length=1)


class RuleSet(_Strict):
    version: int = Field(ge=1)
    effective_from: date
    programmes: list[Programme] = Field(min_length=1)
    exclusions: list[Exclusion] = []

    @model_validator(mode="after")
    def _consistent(self) -> "RuleSet":
        codes = [p.code for p in self.programmes]
        if len(set(codes)) != len(codes):
            raise ValueError("programme codes must be unique")
        known = set(codes)
        for programme in self.programmes:
            for criterion in _walk(programme.criteria):
                if isinstance(criterion, RiskAnyCriterion):
                    _known_factors(criterion.factors, f"programme {programme.code}")
                if isinstance(criterion, (NotEligibleForCriterion, EligibleForAnyCriterion)):
                    unknown = [c for c in criterion.programmes if c not in known]
                    if unknown:
                        raise ValueError(f"programme {programme.code} refers to unknown programme(s) {', '.join(unknown)}")
        for exclusion in self.exclusions:
            _known_factors(exclusion.factors, "an exclusion")
            unknown = [c for c in exclusion.programmes if c not in known]
            if unknown:
                raise ValueError(f"an exclusion refers to unknown programme(s) {', '.join(unknown)}")
        self.decision_order()
        return self

    def decision_order(self) -> list[Programme]:
        """Programmes a criterion depends on are decided first; a cycle is refused."""
        by_code = {p.code: p for p in self.programmes}
        ordered: list[Programme] = []
        state: dict[str, str] = {}

        def visit(code: str, path: tuple[str, ...]) -> None:
            if state.get(code) == "done":
                return
            if state.get(code) == "visiting":
                raise ValueError(f"programmes refer to each other in a cycle: {' → '.join(path + (code,))}")
            state[code] = "visiting"
            for dep in _depends_on(by_code[code]):
                visit(dep, path + (code,))
            state[code] = "done"
            ordered.append(by_code[code])

        for programme in self.programmes:
            visit(programme.code, ())
        return ordered


def _known_factors(factors: Iterable[str], where: str) -> None:
    unknown = [f for f in factors if f not in RISK_FACTORS]
    if unknown:
        raise ValueError(f"{where} refers to unknown risk factor(s) {', '.join(unknown)}")


def _walk(criteria: Iterable[Criterion]) -> Iterable[Criterion]:
    for criterion in criteria:
        yield criterion
        if isinstance(criterion, AnyOfCriterion):
            yield from _walk(criterion.criteria)


def _depends_on(programme: Programme) -> list[str]:
    return [
        code
        for c in _walk(programme.criteria)
        if isinstance(c, (NotEligibleForCriterion, EligibleForAnyCriterion))
        for code in c.programmes
    ]


@dataclass(frozen=True)
class ChildFacts:
    age_years: int
    legal_status: str


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


def _evaluate(
    criterion: Criterion, children: Sequence[ChildFacts], factors: frozenset[str], threshold: bool,
    decided: dict[str, bool], programme: str,
) -> tuple[bool, str]:
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
        return False, "none of the risk factors " + ", ".join(criterion.factors)
    if isinstance(criterion, ThresholdCriterion):
        return (True, "threshold for removal met") if threshold else (False, "threshold for removal not met")
    if isinstance(criterion, NotEligibleForCriterion):
        blocking = [c for c in criterion.programmes if decided[c]]
        if blocking:
            return False, f"eligible for {' and '.join(blocking)}, so {programme} does not apply"
        return True, f"not eligible for {' or '.join(criterion.programmes)}"
    if isinstance(criterion, EligibleForAnyCriterion):
        open_ = [c for c in criterion.programmes if decided[c]]
        if open_:
            return True, f"eligible for {' and '.join(open_)}; {programme} is the alternative"
        return False, f"not eligible for {' or '.join(criterion.programmes)}"
    if isinstance(criterion, AlwaysCriterion):
        return True, "always open"
    outcomes = [_evaluate(c, children, factors, threshold, decided, programme) for c in criterion.criteria]
    passed = [text for ok, text in outcomes if ok]
    if passed:
        return True, "; ".join(passed)
    return False, "none of: " + "; ".join(text for _ok, text in outcomes)


def decide(
    rule_set: RuleSet, children: Sequence[ChildFacts], risk_factors: Iterable[str], threshold_for_removal_met: bool
) -> Decision:
    factors = frozenset(risk_factors)
    decided: dict[str, bool] = {}
    results: dict[str, ProgrammeResult] = {}
    for programme in rule_set.decision_order():
        outcomes = [
            _evaluate(c, children, factors, threshold_for_removal_met, decided, programme.code)
            for c in programme.criteria
        ]
        failed = [text for ok, text in outcomes if not ok]
        excluded = sorted(
            {f"excluded: {f}" for e in rule_set.exclusions if programme.code in e.programmes for f in e.factors if f in factors}
        )
        eligible = not failed and not excluded
        decided[programme.code] = eligible
        reasons = [text for _ok, text in outcomes] if eligible else failed + excluded
        results[programme.code] = ProgrammeResult(programme.code, eligible, tuple(reasons))
    ordered = tuple(results[p.code] for p in rule_set.programmes)
    recommended = next((r.programme for r in ordered if r.eligible), None)
    return Decision(rule_set.version, recommended, ordered)


def select_rule_set(rule_sets: Iterable[RuleSet], as_of: date) -> RuleSet:
    in_force = [r for r in rule_sets if r.effective_from <= as_of]
    if not in_force:
        raise LookupError(f"no rule set is in force on {as_of.isoformat()}")
    return max(in_force, key=lambda r: (r.effective_from, r.version))


def _child(min_age: int = 0, max_age: int = 25, **status: list[str]) -> dict:
    return {"kind": "child", "min_age": min_age, "max_age": max_age, **status}


NOT_LOOKED_AFTER = {"legal_status_not_in": ["LAC"]}

RULES_V1 = RuleSet.model_validate(
    {
        "version": 1,
        "effective_from": "2000-01-01",
        "programmes": [
            {"code": "MST", "name": "Multisystemic Therapy", "duration": "3–5 months", "intensive": True,
             "criteria": [_child(11, 17, **NOT_LOOKED_AFTER),
                          {"kind": "risk_any", "factors": ["behaviour", "offending", "school_exclusion"]}]},
            {"code": "MST_BSF", "name": "MST Building Stronger Families", "duration": "6–9 months", "intensive": True,
             "criteria": [_child(6, 17, **NOT_LOOKED_AFTER),
                          {"kind": "risk_any", "factors": ["physical_abuse", "neglect"]},
                          {"kind": "threshold_met"}]},
            {"code": "FFT_CW", "name": "Functional Family Therapy – Child Welfare", "duration": "about 6 months",
             "intensive": True,
             "criteria": [_child(0, 17, **NOT_LOOKED_AFTER), {"kind": "threshold_met"},
                          {"kind": "not_eligible_for", "programmes": ["MST"]}]},
            {"code": "FFT_REUNIFICATION", "name": "FFT reunification (Safe Steps Home)", "duration": "about 6 months",
             "intensive": True, "criteria": [_child(legal_status_in=["LAC"])]},
            {"code": "FGC", "name": "Family Group Conference / Family Decision Making", "duration": "about 3 months",
             "intensive": False,
             "criteria": [{"kind": "any_of", "criteria": [
                 {"kind": "risk_any", "factors": ["family_breakdown"]},
                 {"kind": "eligible_for_any", "programmes": ["MST", "MST_BSF"]}]}]},
            {"code": "OTHER_PREVENTION", "name": "Other prevention services", "duration": "varies", "intensive": False,
             "criteria": [{"kind": "always"}]},
        ],
        "exclusions": [
            {"factors": ["sexual_abuse_active", "sexual_harm", "psychosis"],
             "programmes": ["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION"]},
        ],
    }
)
