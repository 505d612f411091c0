"""Rule sets as data: version 1 round-trips as JSON, a new programme is a data change, a malformed rule set
is refused with the JSON path of each field at fault, and the rule set in force is chosen by date."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from eligibility_svc.domain.ruleset import (
    RULES_V1,
    RULES_V1_DOCUMENT,
    ChildFacts,
    RuleSet,
    RuleSetDocument,
    decide,
    path_text,
    problems,
    select_rule_set,
)

MDFT = {
    "code": "MDFT", "name": "Multidimensional Family Therapy", "duration": "4–6 months", "intensive": True,
    "criteria": [
        {"kind": "child", "min_age": 11, "max_age": 17, "legal_status_not_in": ["LAC"]},
        {"kind": "risk_any", "factors": ["substance_misuse"]},
    ],
}


def v1(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(json.loads(RULES_V1.model_dump_json()))
    doc.update(changes)
    return doc


def shape_errors(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        RuleSetDocument.model_validate(doc)
    return [".".join(str(p) for p in e["loc"]) for e in caught.value.errors()]


def cross_problems(doc: dict[str, Any]) -> list[str]:
    return [path_text(p) for p, _m in problems(RuleSetDocument.model_validate(doc))]


def test_version_1_round_trips_as_json_and_is_the_builtin() -> None:
    again = RuleSet.model_validate(json.loads(RULES_V1.model_dump_json()))
    assert again == RULES_V1
    assert RuleSet.model_validate(RULES_V1_DOCUMENT) == RULES_V1
    assert [p.code for p in RULES_V1.programmes] == ["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION"]
    assert RULES_V1.intensive == {"MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION"}


def test_a_new_programme_is_a_data_change() -> None:
    doc = v1(version=2, effective_from="2025-04-01")
    doc["programmes"].insert(4, MDFT)
    doc["exclusions"][0]["programmes"].append("MDFT")
    rules = RuleSet.model_validate(doc)
    decision = decide(rules, [ChildFacts(15, "CPP")], ["substance_misuse"], False)
    assert decision.rule_version == 2
    assert decision.recommended == "MDFT"
    assert decision.result("MDFT").reasons == (
        "child aged 11–17 who is not looked after (aged 15)", "risk factor: substance_misuse",
    )
    assert decide(rules, [ChildFacts(15, "CPP")], ["substance_misuse", "psychosis"], False).result("MDFT").reasons == (
        "excluded: psychosis",
    )
    # the v1 programmes decide exactly as before
    before = decide(RULES_V1, [ChildFacts(9, "CPP")], ["neglect"], True)
    after = decide(rules, [ChildFacts(9, "CPP")], ["neglect"], True)
    assert [p for p in after.programmes if p.programme != "MDFT"] == list(before.programmes)


@pytest.mark.parametrize(("change", "path"), [
    (lambda d: d["programmes"][0]["criteria"][1]["factors"].append("gambling"), "programmes.0.criteria.1.risk_any.factors.3"),
    (lambda d: d["exclusions"][0]["factors"].insert(0, "witchcraft"), "exclusions.0.factors.0"),
    (lambda d: d["programmes"][0]["criteria"][0].update(legal_status_in=["XYZ"]), "programmes.0.criteria.0.child.legal_status_in.0"),
    (lambda d: d["programmes"][0]["criteria"][0].update(min_age=-1), "programmes.0.criteria.0.child.min_age"),
    (lambda d: d["programmes"][0]["criteria"][0].update(max_age=26), "programmes.0.criteria.0.child.max_age"),
    (lambda d: d["programmes"][0]["criteria"][0].update(min_age=12, max_age=11), "programmes.0.criteria.0.child"),
    (lambda d: d["programmes"][0]["criteria"][0].update(postcode="LS6"), "programmes.0.criteria.0.child.postcode"),
    (lambda d: d["programmes"][1].update(colour="blue"), "programmes.1.colour"),
    (lambda d: d["programmes"][1]["criteria"].append({"kind": "horoscope"}), "programmes.1.criteria.3"),
    (lambda d: d["programmes"][1].update(intensive="yes"), "programmes.1.intensive"),
    (lambda d: d["programmes"][1].update(code="mst bsf"), "programmes.1.code"),
    (lambda d: d["programmes"][1].update(criteria=[]), "programmes.1.criteria"),
    (lambda d: d.update(version="2"), "version"),
    (lambda d: d.update(version=0), "version"),
    (lambda d: d.update(effective_from="01/04/2025"), "effective_from"),
    (lambda d: d.update(effective_from="2025-02-30"), "effective_from"),
    (lambda d: d.update(programmes=[]), "programmes"),
    (lambda d: d.pop("effective_from"), "effective_from"),
])
def test_a_malformed_rule_set_is_refused_naming_the_field(change, path) -> None:
    doc = v1(version=2)
    change(doc)
    assert path in shape_errors(doc)


@pytest.mark.parametrize(("change", "path"), [
    (lambda d: d["programmes"][2]["criteria"][2].update(programmes=["MST", "MST_CW"]), "programmes.2.criteria.2.programmes.1"),
    (lambda d: d["programmes"][4]["criteria"][0]["criteria"][1].update(programmes=["NOPE"]),
     "programmes.4.criteria.0.criteria.1.programmes.0"),
    (lambda d: d["exclusions"][0]["programmes"].append("YOGA"), "exclusions.0.programmes.4"),
    (lambda d: d["programmes"].append(copy.deepcopy(d["programmes"][0])), "programmes.6.code"),
    (lambda d: d["programmes"][0]["criteria"].append({"kind": "not_eligible_for", "programmes": ["MST"]}),
     "programmes.0.criteria.2.programmes.0"),
    (lambda d: d["programmes"][0]["criteria"].append({"kind": "not_eligible_for", "programmes": ["FFT_CW"]}),
     "programmes.0.criteria"),
])
def test_an_inconsistent_rule_set_is_refused_naming_the_field(change, path) -> None:
    doc = v1(version=2)
    change(doc)
    assert path in cross_problems(doc)
    with pytest.raises(ValidationError):
        RuleSet.model_validate(doc)


def test_a_dependency_cycle_is_named() -> None:
    doc = v1(version=2)
    doc["programmes"][0]["criteria"].append({"kind": "not_eligible_for", "programmes": ["FFT_CW"]})
    ((path, message),) = problems(RuleSetDocument.model_validate(doc))
    assert path == ("programmes", 0, "criteria") and "MST → FFT_CW → MST" in message


def test_nesting_is_limited() -> None:
    leaf: dict[str, Any] = {"kind": "always"}
    nested: dict[str, Any] = leaf
    for _ in range(5):
        nested = {"kind": "any_of", "criteria": [nested, {"kind": "threshold_met"}]}
    doc = v1(version=2)
    doc["programmes"][5]["criteria"] = [nested]
    assert any("nested more than" in m for _p, m in problems(RuleSetDocument.model_validate(doc)))


def test_the_rule_set_in_force_is_the_latest_effective_on_or_before_the_date() -> None:
    v2 = RuleSet.model_validate(v1(version=2, effective_from="2025-04-01"))
    v3 = RuleSet.model_validate(v1(version=3, effective_from="2025-04-01"))
    v4 = RuleSet.model_validate(v1(version=4, effective_from="2024-01-01"))
    sets = [RULES_V1, v2, v3, v4]
    assert select_rule_set(sets, date(2023, 12, 31)).version == 1
    assert select_rule_set(sets, date(2024, 1, 1)).version == 4
    assert select_rule_set(sets, date(2025, 3, 31)).version == 4
    assert select_rule_set(sets, date(2025, 4, 1)).version == 3  # same date: the higher version
    with pytest.raises(LookupError):
        select_rule_set(sets, date(1999, 12, 31))
