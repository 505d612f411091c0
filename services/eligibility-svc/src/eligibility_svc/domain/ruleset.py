"""Eligibility rules as data: a versioned, effective-dated rule set of declarative criteria, and `decide`.

A rule set is the programme catalogue (code, name, duration, `intensive` flag) with each programme's
criteria, plus exclusions. A programme is eligible when all its criteria hold and no exclusion
applies. Criteria may refer to other programmes' final eligibility ("not eligible for MST",
"eligible for MST or MST_BSF"), so programmes are decided in dependency order and reported in
catalogue order; `recommended` is the first eligible programme in catalogue order. Every result
carries its reasons in words a social worker understands.

`RuleSetDocument` is the shape (what ops may post); `RuleSet` is a document whose cross-references
have been checked (`problems` lists what is wrong, each with the JSON path of the field at fault).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator
from pydantic_core import PydanticCustomError

from eoc_shared import vocab
from eoc_shared.api import IsoDate
from eoc_shared.text import Prose, Text

RISK_FACTORS: tuple[str, ...] = tuple(f.value for f in vocab.RiskFactor)
LEGAL_STATUSES: tuple[str, ...] = tuple(s.value for s in vocab.LegalStatus)
STATUS_WORDS = {"LAC": "looked after", "CPP": "on a child protection plan", "CIN": "a child in need", "NONE": "without a legal status"}
MIN_AGE, MAX_AGE = 0, 25
MAX_VERSION = 1_000_000
MAX_NESTING = 4
CRITERION_KINDS = ("child", "risk_any", "threshold_met", "not_eligible_for", "eligible_for_any", "always", "any_of")

FieldPath = tuple[str | int, ...]


def _known_risk_factor(value: str) -> str:
    if value not in RISK_FACTORS:
        raise PydanticCustomError(
            "unknown_risk_factor", "unknown risk factor '{value}'; known: {known}",
            {"value": value, "known": ", ".join(RISK_FACTORS)},
        )
    return value


RiskFactor = Annotated[str, AfterValidator(_known_risk_factor)]
LegalStatus = Literal["NONE", "CIN", "CPP", "LAC"]
ProgrammeCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$", min_length=1, max_length=40)]
Age = Annotated[StrictInt, Field(ge=MIN_AGE, le=MAX_AGE)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _or(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


class ChildCriterion(_Strict):
    """At least one child of the referral within the ages (whole years, inclusive) and legal statuses."""

    kind: Literal["child"]
    min_age: Age = MIN_AGE
    max_age: Age = MAX_AGE
    legal_status_in: list[LegalStatus] | None = Field(default=None, min_length=1)
    legal_status_not_in: list[LegalStatus] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _range(self) -> ChildCriterion:
        if self.min_age > self.max_age:
            raise PydanticCustomError("age_range", "min_age {low} is above max_age {high}",
                                      {"low": self.min_age, "high": self.max_age})
        both = set(self.legal_status_in or ()) & set(self.legal_status_not_in or ())
        if both:
            raise PydanticCustomError("status_both", "legal status {s} is both required and refused",
                                      {"s": ", ".join(sorted(both))})
        return self

    def describe(self) -> str:
        words = "child"
        if (self.min_age, self.max_age) != (MIN_AGE, MAX_AGE):
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
    """At least one of these risk factors is present on the referral."""

    kind: Literal["risk_any"]
    factors: list[RiskFactor] = Field(min_length=1, max_length=len(RISK_FACTORS))


class ThresholdCriterion(_Strict):
    """The threshold for removal (into care) is met."""

    kind: Literal["threshold_met"]


class NotEligibleForCriterion(_Strict):
    """The referral is eligible for none of these programmes (decided first)."""

    kind: Literal["not_eligible_for"]
    programmes: list[ProgrammeCode] = Field(min_length=1, max_length=50)


class EligibleForAnyCriterion(_Strict):
    """The referral is eligible for at least one of these programmes (decided first)."""

    kind: Literal["eligible_for_any"]
    programmes: list[ProgrammeCode] = Field(min_length=1, max_length=50)


class AlwaysCriterion(_Strict):
    """Always holds: a programme open to every family."""

    kind: Literal["always"]


class AnyOfCriterion(_Strict):
    """At least one of the nested criteria holds."""

    kind: Literal["any_of"]
    criteria: list[Criterion] = Field(min_length=2, max_length=20)


Criterion = Annotated[
    ChildCriterion | RiskAnyCriterion | ThresholdCriterion | NotEligibleForCriterion | EligibleForAnyCriterion | AlwaysCriterion | AnyOfCriterion,
    Field(discriminator="kind"),
]
AnyOfCriterion.model_rebuild()


class Programme(_Strict):
    code: ProgrammeCode
    name: Text
    duration: Annotated[Text, Field(max_length=100)]
    intensive: StrictBool = Field(description="an intensive edge-of-care programme (one per family at a time)")
    criteria: list[Criterion] = Field(min_length=1, max_length=20)


class Exclusion(_Strict):
    """Any of `factors` present makes every programme in `programmes` ineligible ("excluded: <factor>")."""

    factors: list[RiskFactor] = Field(min_length=1, max_length=len(RISK_FACTORS))
    programmes: list[ProgrammeCode] = Field(min_length=1, max_length=50)


class RuleSetDocument(_Strict):
    """A rule set as ops write it; the programme order is the order of preference for `recommended`."""

    version: StrictInt = Field(ge=1, le=MAX_VERSION)
    effective_from: IsoDate
    description: Annotated[Prose, Field(max_length=2000)] | None = None
    programmes: list[Programme] = Field(min_length=1, max_length=50)
    exclusions: list[Exclusion] = Field(default=[], max_length=50)


def _walk(criteria: Iterable[Criterion], path: FieldPath) -> Iterable[tuple[Criterion, FieldPath, int]]:
    """Every criterion with its JSON path and nesting depth (1 = directly under the programme)."""
    for i, criterion in enumerate(criteria):
        here = (*path, i)
        yield criterion, here, len([p for p in here if p == "criteria"])
        if isinstance(criterion, AnyOfCriterion):
            yield from _walk(criterion.criteria, (*here, "criteria"))


def _depends_on(programme: Programme) -> list[str]:
    return [
        code
        for c, _path, _depth in _walk(programme.criteria, ())
        if isinstance(c, (NotEligibleForCriterion, EligibleForAnyCriterion))
        for code in c.programmes
    ]


def problems(doc: RuleSetDocument) -> list[tuple[FieldPath, str]]:
    """What is wrong with a well-shaped rule set as a whole, each with the JSON path of the field at fault."""
    found: list[tuple[FieldPath, str]] = []
    first_index: dict[str, int] = {}
    for i, programme in enumerate(doc.programmes):
        if programme.code in first_index:
            found.append((("programmes", i, "code"),
                          f"programme {programme.code} is already defined at programmes.{first_index[programme.code]}"))
        else:
            first_index[programme.code] = i
    known = set(first_index)
    listing = ", ".join(first_index)
    for i, programme in enumerate(doc.programmes):
        for criterion, path, depth in _walk(programme.criteria, ("programmes", i, "criteria")):
            if depth > MAX_NESTING:
                found.append((path, f"criteria are nested more than {MAX_NESTING} deep"))
            if isinstance(criterion, (NotEligibleForCriterion, EligibleForAnyCriterion)):
                for k, code in enumerate(criterion.programmes):
                    if code not in known:
                        found.append(((*path, "programmes", k), f"unknown programme {code}; this rule set has {listing}"))
                    elif code == programme.code:
                        found.append(((*path, "programmes", k),
                                      f"programme {code} cannot depend on its own eligibility"))
    for i, exclusion in enumerate(doc.exclusions):
        for k, code in enumerate(exclusion.programmes):
            if code not in known:
                found.append((("exclusions", i, "programmes", k), f"unknown programme {code}; this rule set has {listing}"))
    if not found:
        cycle = _find_cycle(doc.programmes)
        if cycle:
            i = next(n for n, p in enumerate(doc.programmes) if p.code == cycle[0])
            found.append((("programmes", i, "criteria"),
                          f"programmes depend on each other's eligibility in a cycle: {' → '.join(cycle)}"))
    return found


def _find_cycle(programmes: Sequence[Programme]) -> list[str] | None:
    by_code = {p.code: p for p in programmes}
    state: dict[str, str] = {}

    def visit(code: str, path: list[str]) -> list[str] | None:
        if state.get(code) == "done":
            return None
        if state.get(code) == "visiting":
            return path[path.index(code):] + [code]
        state[code] = "visiting"
        for dep in _depends_on(by_code[code]):
            if dep in by_code:
                cycle = visit(dep, path + [code])
                if cycle:
                    return cycle
        state[code] = "done"
        return None

    for programme in programmes:
        cycle = visit(programme.code, [])
        if cycle:
            return cycle
    return None


def path_text(path: FieldPath) -> str:
    return ".".join(str(p) for p in path)


class RuleSet(RuleSetDocument):
    """A rule set whose cross-references hold: every programme named exists, no dependency cycle."""

    @model_validator(mode="after")
    def _consistent(self) -> RuleSet:
        found = problems(self)
        if found:
            raise ValueError("; ".join(f"{path_text(p)}: {m}" for p, m in found))
        return self

    def decision_order(self) -> list[Programme]:
        """Programmes a criterion depends on are decided first (validation guarantees there is no cycle)."""
        by_code = {p.code: p for p in self.programmes}
        ordered: list[Programme] = []
        done: set[str] = set()

        def visit(code: str) -> None:
            if code in done:
                return
            done.add(code)
            for dep in _depends_on(by_code[code]):
                visit(dep)
            ordered.append(by_code[code])

        for programme in self.programmes:
            visit(programme.code)
        return ordered

    def programme(self, code: str) -> Programme:
        return next(p for p in self.programmes if p.code == code)

    @property
    def intensive(self) -> frozenset[str]:
        return frozenset(p.code for p in self.programmes if p.intensive)


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


def _child(min_age: int = MIN_AGE, max_age: int = MAX_AGE, **status: list[str]) -> dict[str, Any]:
    return {"kind": "child", "min_age": min_age, "max_age": max_age, **status}


NOT_LOOKED_AFTER = {"legal_status_not_in": ["LAC"]}

#: Version 1: exactly the rules of the public contract v1.
RULES_V1_DOCUMENT: dict[str, Any] = {
    "version": 1,
    "effective_from": "2000-01-01",
    "description": "The programme rules of the public contract v1.",
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
RULES_V1 = RuleSet.model_validate(RULES_V1_DOCUMENT)
