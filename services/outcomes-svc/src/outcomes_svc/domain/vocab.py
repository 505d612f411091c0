"""The contract's vocabularies that outcomes-svc reasons about, in one place so every check agrees."""

from __future__ import annotations

PROGRAMMES: tuple[str, ...] = ("MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION")

LIVING_SITUATIONS: frozenset[str] = frozenset({"at_home", "in_care", "custody", "other"})
AT_HOME = "at_home"
IN_CARE = "in_care"
CUSTODY = "custody"

CLOSURE_REASONS: frozenset[str] = frozenset(
    {"completed", "disengaged", "escalated_to_care", "moved_away", "superseded"}
)
SUPERSEDED = "superseded"

LOOKED_AFTER = "LAC"

SCHEDULED = "scheduled"
DUE = "due"
OVERDUE = "overdue"
RECORDED = "recorded"
FOLLOWUP_STATUSES: frozenset[str] = frozenset({SCHEDULED, DUE, OVERDUE, RECORDED})
