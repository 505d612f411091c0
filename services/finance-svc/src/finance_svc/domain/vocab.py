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
