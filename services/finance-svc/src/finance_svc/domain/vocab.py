"""The contract's vocabularies that finance-svc reasons about, kept in one place so checks agree."""

from __future__ import annotations

PROGRAMMES: tuple[str, ...] = ("MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION")

LEGAL_STATUSES: frozenset[str] = frozenset({"NONE", "CIN", "CPP", "LAC"})

RISK_FACTORS: frozenset[str] = frozenset(
    {
        "behaviour",
        "offending",
        "school_exclusion",
        "physical_abuse",
        "neglect",
        "emotional_abuse",
        "sexual_abuse_active",
        "sexual_harm",
        "psychosis",
        "domestic_abuse",
        "substance_misuse",
        "exploitation",
        "family_breakdown",
        "parental_mental_health",
    }
)

LIVING_SITUATIONS: frozenset[str] = frozenset({"at_home", "in_care", "custody", "other"})

CLOSURE_REASONS: frozenset[str] = frozenset(
    {"completed", "disengaged", "escalated_to_care", "moved_away", "superseded"}
)

AT_HOME = "at_home"
SUPERSEDED = "superseded"
BREAKDOWN_SITUATIONS: frozenset[str] = frozenset({"in_care", "custody"})

# SSDA903 `PLACE` codes (DfE children looked after return): the placement types a rate or a projection may name.
PLACEMENT_TYPES: tuple[str, ...] = (
    "A3", "A4", "A5", "A6", "H5", "K1", "K2", "P1", "P2", "P3", "R1", "R2", "R3", "R5", "S1",
    "T0", "T1", "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z1",
)
