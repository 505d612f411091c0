"""The contract's vocabularies as finance-svc checks them: taken from `eoc_shared.vocab`, the one list
every service shares, so finance never refuses a code another service stored."""

from __future__ import annotations

from eoc_shared.vocab import ClosureReason, LegalStatus, LivingSituation, PlacementType, Programme, RiskFactor

PROGRAMMES: tuple[str, ...] = tuple(p.value for p in Programme)
LEGAL_STATUSES: frozenset[str] = frozenset(s.value for s in LegalStatus)
RISK_FACTORS: frozenset[str] = frozenset(f.value for f in RiskFactor)
LIVING_SITUATIONS: frozenset[str] = frozenset(s.value for s in LivingSituation)
CLOSURE_REASONS: frozenset[str] = frozenset(r.value for r in ClosureReason)
# SSDA903 `PLACE` codes (DfE children looked after return): the placement types a rate or a projection may name.
PLACEMENT_TYPES: tuple[str, ...] = tuple(t.value for t in PlacementType)

AT_HOME = LivingSituation.AT_HOME.value
SUPERSEDED = ClosureReason.SUPERSEDED.value
BREAKDOWN_SITUATIONS: frozenset[str] = frozenset({LivingSituation.IN_CARE.value, LivingSituation.CUSTODY.value})
