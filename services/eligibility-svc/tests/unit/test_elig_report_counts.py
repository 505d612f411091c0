"""The rejection report's counting: eligible per programme, referrals no intensive programme could take,
and each reason counted once per referral."""

from __future__ import annotations

from eligibility_svc.domain.report_counts import DecidedReferral, summarise
from eligibility_svc.domain.ruleset import RULES_V1, ChildFacts, decide

V1_INTENSIVE = {1: RULES_V1.intensive}
CATALOGUE = [p.code for p in RULES_V1.programmes]


def decided(children, factors, threshold, rules=RULES_V1) -> DecidedReferral:
    d = decide(rules, [ChildFacts(a, s) for a, s in children], factors, threshold)
    return DecidedReferral.from_stored(
        d.rule_version, d.recommended,
        [{"programme": p.programme, "eligible": p.eligible, "reasons": list(p.reasons)} for p in d.programmes],
    )


def test_nothing_decided() -> None:
    report = summarise([], V1_INTENSIVE, CATALOGUE)
    assert report.referrals_decided == 0
    assert report.eligible_per_programme == dict.fromkeys(CATALOGUE, 0)
    assert report.no_intensive_referrals == 0 and report.no_intensive_share is None and report.reasons == {}


def test_counts_and_reasons() -> None:
    report = summarise([
        decided([(14, "CPP")], ["behaviour"], False),                        # MST
        decided([(8, "CPP")], ["neglect"], True),                            # MST_BSF, FFT_CW
        decided([(14, "CPP")], ["behaviour", "psychosis"], True),            # turned away: excluded
        decided([(3, "NONE")], ["family_breakdown"], False),                 # turned away: FGC only
        decided([(19, "NONE")], ["behaviour", "psychosis", "sexual_harm"], True),  # turned away
    ], V1_INTENSIVE, CATALOGUE)
    assert report.referrals_decided == 5
    assert report.eligible_per_programme == {
        "MST": 1, "MST_BSF": 1, "FFT_CW": 1, "FFT_REUNIFICATION": 0, "FGC": 3, "OTHER_PREVENTION": 5,
    }
    assert report.recommended == {"OTHER_PREVENTION": 2, "FGC": 1, "MST": 1, "MST_BSF": 1}
    assert report.no_intensive_referrals == 3 and report.no_intensive_share == 0.6
    reasons = report.reasons
    assert reasons["excluded: psychosis"] == 2  # once per referral, though it closed four programmes each time
    assert reasons["excluded: sexual_harm"] == 1
    assert reasons["no child who is looked after"] == 3
    assert reasons["no child aged 11–17 who is not looked after"] == 2
    assert reasons["threshold for removal not met"] == 1
    assert list(reasons.values()) == sorted(reasons.values(), reverse=True)
    assert report.reasons_by_programme["FFT_REUNIFICATION"]["no child who is looked after"] == 3
    assert report.reasons_by_programme["MST"]["excluded: psychosis"] == 2
    assert "FGC" not in report.reasons_by_programme  # not intensive
    assert report.rule_versions == {"1": 5}


def test_intensive_is_read_from_the_version_each_decision_used() -> None:
    """A programme flagged intensive only in a later version counts only for decisions made with it."""
    one = decided([(3, "NONE")], ["family_breakdown"], False)
    report = summarise([one], {1: RULES_V1.intensive | {"FGC"}}, CATALOGUE)
    assert report.no_intensive_referrals == 0
    report = summarise([one], {1: frozenset()}, CATALOGUE)
    assert report.no_intensive_referrals == 1 and report.reasons == {}
