"""A programme added as data may depend on programmes listed after it: they must be decided first
(final eligibility, exclusions included), while results and `recommended` keep catalogue order."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eligibility_svc.domain.ruleset import RULES_V1, ChildFacts, RuleSet, decide

ORDER_V1 = ["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION"]

MULTI_FAMILY_GROUP: dict[str, Any] = {
    "code": "MULTI_FAMILY_GROUP", "name": "Multi-family group", "duration": "12 weeks", "intensive": False,
    "criteria": [
        {"kind": "eligible_for_any", "programmes": ["FGC"]},
        {"kind": "not_eligible_for", "programmes": ["FFT_REUNIFICATION"]},
    ],
}


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    """Version 1 with the new programme first, so both programmes it depends on come later in the list."""
    doc = json.loads(RULES_V1.model_dump_json())
    doc.update(version=2, effective_from="2026-04-01")
    doc["programmes"].insert(0, MULTI_FAMILY_GROUP)
    return RuleSet.model_validate(doc)


def test_dependencies_are_decided_before_the_programme_that_needs_them(rules: RuleSet) -> None:
    order = [p.code for p in rules.decision_order()]
    assert order.index("FGC") < order.index("MULTI_FAMILY_GROUP")
    assert order.index("FFT_REUNIFICATION") < order.index("MULTI_FAMILY_GROUP")
    assert order.index("MST") < order.index("FGC") and order.index("MST_BSF") < order.index("FGC")


def test_results_and_recommendation_keep_catalogue_order(rules: RuleSet) -> None:
    decision = decide(rules, [ChildFacts(3, "NONE")], ["family_breakdown"], False)
    assert [p.programme for p in decision.programmes] == ["MULTI_FAMILY_GROUP", *ORDER_V1]
    assert decision.recommended == "MULTI_FAMILY_GROUP"
    assert decision.result("MULTI_FAMILY_GROUP").eligible
    assert decision.result("MULTI_FAMILY_GROUP").reasons[1] == "not eligible for FFT_REUNIFICATION"


@pytest.mark.parametrize(("children", "factors", "threshold", "open_", "reason"), [
    ([(3, "LAC")], ["family_breakdown"], False, False,
     "eligible for FFT_REUNIFICATION, so MULTI_FAMILY_GROUP does not apply"),
    ([(3, "NONE")], [], False, False, "not eligible for FGC"),
    ([(14, "CPP")], ["behaviour"], False, True, None),
    ([(14, "CPP")], ["behaviour", "psychosis"], False, False, "not eligible for FGC"),
    ([(14, "LAC")], ["family_breakdown", "sexual_harm"], False, True, None),
], ids=["looked-after child", "no route into FGC", "FGC through MST", "MST excluded closes FGC route",
        "reunification excluded reopens it"])
def test_the_new_programme_sees_final_eligibility(rules, children, factors, threshold, open_, reason) -> None:
    result = decide(rules, [ChildFacts(a, s) for a, s in children], factors, threshold).result("MULTI_FAMILY_GROUP")
    assert result.eligible is open_
    if reason:
        assert reason in result.reasons


def test_version_1_programmes_decide_as_before(rules: RuleSet) -> None:
    for children, factors, threshold in [([(14, "CPP")], ["behaviour"], True), ([(9, "LAC"), (7, "CIN")], ["neglect"], True)]:
        kids = [ChildFacts(a, s) for a, s in children]
        before = decide(RULES_V1, kids, factors, threshold).programmes
        after = decide(rules, kids, factors, threshold).programmes[1:]
        assert after == before
