"""Eligibility rules as data: the criteria a rule set is made of, the programme catalogue, and the checks
that make a posted document a RuleSet (`problems` names the JSON path of each field at fault).

A rule set is the programme catalogue (code, name, duration, `intensive` flag) with each programme's
criteria, plus exclusions. Criteria may refer to other programmes' final eligibility ("not eligible for
MST", "eligible for MST or MST_BSF"), so a RuleSet also gives the order programmes are decided in.
`RuleSetDocument` is the shape (what ops may post); `RuleSet` is a document whose cross-references hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

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


@dataclass(frozen=True)
class ChildFacts:
    """What a criterion reads of one child."""

    age_years: int
    legal_status: str


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
