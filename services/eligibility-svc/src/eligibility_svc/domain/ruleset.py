"""The rule-set names in one place, for callers that import them together: the rules as data live in
`criteria`, deciding in `deciding`, version 1 of the rules in `rules_v1`."""

from eligibility_svc.domain.criteria import (
    CRITERION_KINDS,
    LEGAL_STATUSES,
    MAX_AGE,
    MAX_NESTING,
    MAX_VERSION,
    MIN_AGE,
    RISK_FACTORS,
    ChildFacts,
    FieldPath,
    LegalStatus,
    Programme,
    RiskFactor,
    RuleSet,
    RuleSetDocument,
    path_text,
    problems,
)
from eligibility_svc.domain.deciding import Decision, ProgrammeResult, decide, select_rule_set
from eligibility_svc.domain.rules_v1 import RULES_V1, RULES_V1_DOCUMENT

__all__ = [
    "CRITERION_KINDS", "LEGAL_STATUSES", "MAX_AGE", "MAX_NESTING", "MAX_VERSION", "MIN_AGE", "RISK_FACTORS",
    "RULES_V1", "RULES_V1_DOCUMENT", "ChildFacts", "Decision", "FieldPath", "LegalStatus", "Programme",
    "ProgrammeResult", "RiskFactor", "RuleSet", "RuleSetDocument", "decide", "path_text", "problems",
    "select_rule_set",
]
