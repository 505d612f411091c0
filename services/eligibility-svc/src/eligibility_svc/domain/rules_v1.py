"""Version 1 of the rules, as data: exactly the programme rules of the public contract v1."""

from __future__ import annotations

from typing import Any

from eligibility_svc.domain.criteria import MAX_AGE, MIN_AGE, RuleSet


def _child(min_age: int = MIN_AGE, max_age: int = MAX_AGE, **status: list[str]) -> dict[str, Any]:
    return {"kind": "child", "min_age": min_age, "max_age": max_age, **status}


NOT_LOOKED_AFTER = {"legal_status_not_in": ["LAC"]}

#: Version 1: exactly the rules of the public contract v1.
RULES_V1_DOCUMENT: dict[str, Any] = {
    "version": 1,
    "effective_from": "2000-01-01",
    "description": "The programme rules of the public contract v1.",
    "programmes": [
        {"code": "MST", "name": "Multisystemic Therapy", "duration": "3–5 months", "intensive": True,
         "criteria": [_child(11, 17, **NOT_LOOKED_AFTER),
                      {"kind": "risk_any", "factors": ["behaviour", "offending", "school_exclusion"]}]},
        {"code": "MST_BSF", "name": "MST Building Stronger Families", "duration": "6–9 months", "intensive": True,
         "criteria": [_child(6, 17, **NOT_LOOKED_AFTER),
                      {"kind": "risk_any", "factors": ["physical_abuse", "neglect"]},
                      {"kind": "threshold_met"}]},
        {"code": "FFT_CW", "name": "Functional Family Therapy – Child Welfare", "duration": "about 6 months",
         "intensive": True,
         "criteria": [_child(0, 17, **NOT_LOOKED_AFTER), {"kind": "threshold_met"},
                      {"kind": "not_eligible_for", "programmes": ["MST"]}]},
        {"code": "FFT_REUNIFICATION", "name": "FFT reunification (Safe Steps Home)", "duration": "about 6 months",
         "intensive": True, "criteria": [_child(legal_status_in=["LAC"])]},
        {"code": "FGC", "name": "Family Group Conference / Family Decision Making", "duration": "about 3 months",
         "intensive": False,
         "criteria": [{"kind": "any_of", "criteria": [
             {"kind": "risk_any", "factors": ["family_breakdown"]},
             {"kind": "eligible_for_any", "programmes": ["MST", "MST_BSF"]}]}]},
        {"code": "OTHER_PREVENTION", "name": "Other prevention services", "duration": "varies", "intensive": False,
         "criteria": [{"kind": "always"}]},
    ],
    "exclusions": [
        {"factors": ["sexual_abuse_active", "sexual_harm", "psychosis"],
         "programmes": ["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION"]},
    ],
}
RULES_V1 = RuleSet.model_validate(RULES_V1_DOCUMENT)
