"""The default projection rule v1 and the projection history the placements team relies on."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from finance_svc.domain.projection import (
    DEFAULT_RULE_V1,
    PlacementRule,
    PlacementRuleSet,
    annual_cost_avoided,
    basis_for,
    explain_placement,
    propose_placement,
)


@pytest.mark.parametrize(
    ("age", "legal_status", "placement", "risks", "expected"),
    [
        (15, "LAC", "R1", {"behaviour"}, "R1"),
        (3, "LAC", "U4", set(), "U4"),
        (11, "CPP", None, {"behaviour"}, "K2"),
        (17, "CIN", None, {"offending"}, "K2"),
        (12, "NONE", None, {"exploitation", "neglect"}, "K2"),
        (10, "CPP", None, {"behaviour", "offending", "exploitation"}, "U6"),
        (14, "CPP", None, {"neglect", "school_exclusion"}, "U6"),
        (0, "NONE", None, set(), "U6"),
    ],
)
def test_default_rule_v1(age: int, legal_status: str, placement: str | None, risks: set[str], expected: str) -> None:
    assert propose_placement(DEFAULT_RULE_V1, age, legal_status, placement, risks) == expected


def test_a_looked_after_child_without_a_recorded_placement_falls_to_the_next_rule() -> None:
    assert propose_placement(DEFAULT_RULE_V1, 13, "LAC", None, {"offending"}) == "K2"
    assert propose_placement(DEFAULT_RULE_V1, 5, "LAC", "", set()) == "U6"


def test_the_rule_that_decided_is_named_in_the_basis() -> None:
    placement, rule = explain_placement(DEFAULT_RULE_V1, 11, "CPP", None, ["behaviour"])
    assert placement == "K2"
    assert basis_for(DEFAULT_RULE_V1, rule) == "default rule v1: older_child_behaviour_offending_exploitation"


def test_the_rule_set_is_data_and_survives_a_json_round_trip() -> None:
    stored = json.loads(json.dumps(DEFAULT_RULE_V1.as_dict()))
    assert stored["version"] == 1
    assert [r["name"] for r in stored["rules"]] == [
        "looked_after_keeps_placement",
        "older_child_behaviour_offending_exploitation",
        "any_other_child",
    ]
    assert PlacementRuleSet.from_dict(stored) == DEFAULT_RULE_V1


def test_an_edited_rule_set_changes_proposals_without_code() -> None:
    data = DEFAULT_RULE_V1.as_dict()
    data["version"] = 2
    data["rules"][1]["min_age_years"] = 13
    data["rules"][2]["placement_type"] = "U5"
    edited = PlacementRuleSet.from_dict(data)
    assert propose_placement(edited, 12, "CPP", None, {"behaviour"}) == "U5"
    assert propose_placement(edited, 13, "CPP", None, {"behaviour"}) == "K2"


def test_bad_rule_data_is_refused() -> None:
    data = DEFAULT_RULE_V1.as_dict()
    data["rules"][1]["min_age"] = 11
    with pytest.raises(ValueError, match="unknown rule fields"):
        PlacementRuleSet.from_dict(data)
    with pytest.raises(ValueError, match="risk_factors"):
        PlacementRule(name="x", placement_type="K2", any_risk_factors=frozenset({"naughtiness"}))
    with pytest.raises(ValueError, match="legal_status"):
        PlacementRule(name="x", placement_type=None, legal_statuses=frozenset({"LOOKED_AFTER"}))
    with pytest.raises(ValueError):
        PlacementRuleSet(version=3, rules=())


def test_bad_child_facts_are_refused() -> None:
    with pytest.raises(ValueError):
        propose_placement(DEFAULT_RULE_V1, -1, "CPP", None, set())
    with pytest.raises(ValueError):
        propose_placement(DEFAULT_RULE_V1, 12, "UNKNOWN", None, set())
    with pytest.raises(ValueError):
        propose_placement(DEFAULT_RULE_V1, 12, "CPP", None, {"mischief"})


def test_a_rule_set_that_misses_a_child_says_so() -> None:
    narrow = PlacementRuleSet(version=9, rules=(PlacementRule(name="teens", placement_type="K2", min_age_years=13),))
    with pytest.raises(ValueError, match="no rule"):
        propose_placement(narrow, 4, "NONE", None, set())


def test_annual_cost_avoided_is_exact() -> None:
    assert annual_cost_avoided(Decimal("80.01")) == Decimal("29203.65")
    assert annual_cost_avoided(Decimal("0.001")) == Decimal("0.365")
    assert annual_cost_avoided(Decimal("1200")) == Decimal("438000")
