"""The default projection rule v1 and the projection history the placements team relies on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from finance_svc.domain.projection import (
    DEFAULT_RULE_V1,
    PROPOSED,
    VERIFIED,
    PlacementRule,
    PlacementRuleSet,
    ProjectionState,
    RateCard,
    annual_cost_avoided,
    basis_for,
    explain_placement,
    first_version,
    next_version,
    propose_placement,
)

AT = datetime(2023, 6, 1, 9, 30, tzinfo=UTC)


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


def test_projection_history_keeps_who_when_why_before_and_after() -> None:
    proposal = first_version("child-1", placement_type="U6", daily_rate=Decimal("150.00"),
                             basis="default rule v1: any_other_child", at=AT)
    assert proposal.version == 1
    assert proposal.before is None
    assert proposal.after.status == PROPOSED
    assert proposal.after.annual_cost_avoided == Decimal("54750.00")

    confirmed = next_version(proposal, child_id="child-1", placement_type="K2", daily_rate="1200.00",
                             basis="escalating risk outside the home", verified_by="placements-officer-7",
                             at=AT + timedelta(days=3))
    assert confirmed.version == 2
    assert confirmed.changed_by == "placements-officer-7"
    assert confirmed.changed_at == AT + timedelta(days=3)
    assert confirmed.basis == "escalating risk outside the home"
    assert confirmed.before == proposal.after
    assert confirmed.after == ProjectionState(placement_type="K2", daily_rate=Decimal("1200.00"), status=VERIFIED)
    assert confirmed.current.annual_cost_avoided == Decimal("438000.00")

    again = next_version(confirmed, child_id="child-1", placement_type="K2", daily_rate=Decimal("1200.00"),
                         basis="confirmed at review", verified_by="placements-officer-2", at=AT + timedelta(days=30))
    assert again.version == 3
    assert again.before == confirmed.after


def test_a_first_manual_projection_is_verified_straight_away() -> None:
    version = next_version(None, child_id="child-2", placement_type="U4", daily_rate=70, basis="known placement",
                           verified_by="placements-officer-7", at=AT)
    assert (version.version, version.before, version.after.status) == (1, None, VERIFIED)


def test_a_proposal_may_wait_for_the_years_rate() -> None:
    proposal = first_version("child-3", placement_type="K1", daily_rate=None, basis="default rule v1", at=AT)
    assert proposal.after.daily_rate is None
    assert proposal.after.annual_cost_avoided is None


def test_history_refuses_anonymous_unexplained_or_muddled_changes() -> None:
    proposal = first_version("child-1", placement_type="U6", daily_rate=Decimal("150"), basis="rule", at=AT)
    good = dict(child_id="child-1", placement_type="K2", daily_rate=Decimal("1200"), basis="why",
                verified_by="officer", at=AT + timedelta(hours=1))
    with pytest.raises(ValueError, match="who"):
        next_version(proposal, **{**good, "verified_by": " "})
    with pytest.raises(ValueError, match="why"):
        next_version(proposal, **{**good, "basis": ""})
    with pytest.raises(ValueError, match="another child"):
        next_version(proposal, **{**good, "child_id": "child-9"})
    with pytest.raises(ValueError, match="older"):
        next_version(proposal, **{**good, "at": AT - timedelta(days=1)})
    with pytest.raises(ValueError, match="time zone"):
        next_version(proposal, **{**good, "at": datetime(2023, 6, 2, 9, 0)})
    with pytest.raises(ValueError, match="negative"):
        next_version(proposal, **{**good, "daily_rate": Decimal("-1")})


def test_rate_card() -> None:
    card = RateCard(fy=2023, rates={"K2": "1200.00", "U6": Decimal("150")})
    assert card.rate_for("K2") == Decimal("1200.00")
    assert card.rate_for("K1") is None
    with pytest.raises(ValueError):
        RateCard(fy=2023, rates={"K2": Decimal("-5")})
