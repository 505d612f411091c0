"""The eligibility engine's public face for the service layer."""

from eligibility_svc.domain.report_counts import DecidedReferral, RejectionReport, summarise
from eligibility_svc.domain.ruleset import (
    CRITERION_KINDS,
    RULES_V1,
    ChildFacts,
    Decision,
    ProgrammeResult,
    RuleSet,
    RuleSetDocument,
    decide,
    path_text,
    problems,
    select_rule_set,
)


def builtin_rule_sets() -> list[RuleSet]:
    return [RULES_V1]


__all__ = [
    "CRITERION_KINDS", "ChildFacts", "DecidedReferral", "Decision", "ProgrammeResult", "RejectionReport", "RuleSet",
    "RuleSetDocument", "builtin_rule_sets", "decide", "path_text", "problems", "select_rule_set", "summarise",
]
