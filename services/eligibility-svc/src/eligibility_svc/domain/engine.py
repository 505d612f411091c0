"""The eligibility engine's public face for the service layer."""

from eligibility_svc.domain.ruleset import RULES_V1, ChildFacts, Decision, ProgrammeResult, RuleSet, decide, select_rule_set


def builtin_rule_sets() -> list[RuleSet]:
    return [RULES_V1]


__all__ = ["ChildFacts", "Decision", "ProgrammeResult", "RuleSet", "builtin_rule_sets", "decide", "select_rule_set"]
