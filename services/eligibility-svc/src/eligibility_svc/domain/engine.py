"""The eligibility engine's public face for the service layer."""

from eligibility_svc.domain.criteria import CRITERION_KINDS, ChildFacts, RuleSet, RuleSetDocument, path_text, problems
from eligibility_svc.domain.deciding import Decision, ProgrammeResult, decide, select_rule_set
from eligibility_svc.domain.report_counts import DecidedReferral, RejectionReport, summarise
from eligibility_svc.domain.rules_v1 import RULES_V1


def builtin_rule_sets() -> list[RuleSet]:
    return [RULES_V1]


__all__ = [
    "CRITERION_KINDS", "ChildFacts", "DecidedReferral", "Decision", "ProgrammeResult", "RejectionReport", "RuleSet",
    "RuleSetDocument", "builtin_rule_sets", "decide", "path_text", "problems", "select_rule_set", "summarise",
]
