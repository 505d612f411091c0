"""The vocabularies must match contract v1 character for character: partners send these strings."""

import json

import pytest
from pydantic import TypeAdapter, ValidationError

from eoc_shared.vocab import (
    PLACEMENT_TYPE_DESCRIPTIONS,
    ClosureReason,
    Ethnicity,
    FeedSource,
    LegalStatus,
    LivingSituation,
    PlacementType,
    Programme,
    ReferralSource,
    RiskFactor,
    Sex,
)

# fmt: off
CONTRACT = {
    Programme: ["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION"],
    RiskFactor: [
        "behaviour", "offending", "school_exclusion", "physical_abuse", "neglect", "emotional_abuse",
        "sexual_abuse_active", "sexual_harm", "psychosis", "domestic_abuse", "substance_misuse",
        "exploitation", "family_breakdown", "parental_mental_health",
    ],
    ReferralSource: ["legal_planning_meeting", "social_worker", "reunification_review", "partner_agency"],
    Sex: ["F", "M", "U"],
    Ethnicity: [
        "WBRI", "WIRI", "WOTH", "WIRT", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN",
        "ABAN", "AOTH", "CHNE", "BCRB", "BAFR", "BOTH", "OOTH", "REFU", "NOBT",
    ],
    LegalStatus: ["NONE", "CIN", "CPP", "LAC"],
    LivingSituation: ["at_home", "in_care", "custody", "other"],
    ClosureReason: ["completed", "disengaged", "escalated_to_care", "moved_away", "superseded"],
    FeedSource: ["police", "health", "education", "youth_justice"],
}

SSDA903_PLACE = [
    "A3", "A4", "A5", "A6", "H5", "K1", "K2", "P1", "P2", "P3", "R1", "R2", "R3", "R5", "S1",
    "T0", "T1", "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z1",
]
# fmt: on


@pytest.mark.parametrize("enum, values", CONTRACT.items(), ids=lambda x: getattr(x, "__name__", ""))
def test_vocabulary_is_exactly_the_contract_list(enum, values):
    assert [m.value for m in enum] == values


def test_fourteen_risk_factors():
    assert len(RiskFactor) == 14


def test_placement_types_are_the_ssda903_place_codes_and_nothing_else():
    assert [m.value for m in PlacementType] == SSDA903_PLACE
    for invented in ["R4", "U7", "K3", "P4", "T5", "Z2", "A1", "H4", "F1", "Q1", "u6", "U 6"]:
        with pytest.raises(ValueError):
            PlacementType(invented)


def test_every_placement_type_has_a_description():
    assert set(PLACEMENT_TYPE_DESCRIPTIONS) == set(PlacementType)
    assert all(text.strip() for text in PLACEMENT_TYPE_DESCRIPTIONS.values())
    assert PlacementType.K1.description == "Secure children's home"
    assert PlacementType.R5.description == "Young offender institution (YOI)"
    assert "parental responsibility" in PlacementType.P1.description
    assert "residential school" in PlacementType.S1.description.lower()
    assert "foster" in PlacementType.U6.description.lower()


def test_members_equal_and_serialise_as_their_plain_strings():
    assert Programme.MST_BSF == "MST_BSF"
    assert str(LegalStatus.LAC) == "LAC"
    assert json.dumps({"p": PlacementType.U6}) == '{"p": "U6"}'
    assert "at_home" in set(LivingSituation)


@pytest.mark.parametrize(
    "enum, good, bad",
    [
        (PlacementType, "K2", "K9"),
        (Programme, "FGC", "fgc"),
        (RiskFactor, "neglect", "Neglect"),
        (FeedSource, "youth_justice", "probation"),
        (Ethnicity, "WBRI", "WHITE"),
    ],
)
def test_pydantic_accepts_members_and_refuses_others(enum, good, bad):
    adapter = TypeAdapter(enum)
    assert adapter.validate_python(good) is enum(good)
    with pytest.raises(ValidationError):
        adapter.validate_python(bad)
