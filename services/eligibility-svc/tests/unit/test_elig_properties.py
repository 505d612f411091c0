"""Properties of version 1 over generated referrals (hypothesis), and an independent reading of the
contract's text as an oracle."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from eligibility_svc.domain.ruleset import LEGAL_STATUSES, RISK_FACTORS, RULES_V1, ChildFacts, decide

ORDER = ["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION"]
INTENSIVE = {"MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION"}
EXCLUDING = ["sexual_abuse_active", "sexual_harm", "psychosis"]

children_st = st.lists(
    st.builds(ChildFacts, age_years=st.integers(0, 25), legal_status=st.sampled_from(LEGAL_STATUSES)),
    min_size=1, max_size=5,
)
factors_st = st.sets(st.sampled_from(RISK_FACTORS))
referral_st = st.tuples(children_st, factors_st, st.booleans())


def eligible(children, factors, threshold) -> dict[str, bool]:
    decision = decide(RULES_V1, children, factors, threshold)
    return {p.programme: p.eligible for p in decision.programmes}


def contract_oracle(children, factors, threshold) -> dict[str, bool]:
    """The contract's v1 rules, written again from its text without the rule engine."""
    home = [c for c in children if c.legal_status != "LAC"]
    excluded = bool(set(factors) & set(EXCLUDING))
    mst = any(11 <= c.age_years <= 17 for c in home) and bool({"behaviour", "offending", "school_exclusion"} & factors)
    mst = mst and not excluded
    bsf = any(6 <= c.age_years <= 17 for c in home) and bool({"physical_abuse", "neglect"} & factors) and threshold
    bsf = bsf and not excluded
    fft_cw = any(0 <= c.age_years <= 17 for c in home) and threshold and not mst and not excluded
    reunification = any(c.legal_status == "LAC" for c in children) and not excluded
    fgc = "family_breakdown" in factors or mst or bsf
    return {"MST": mst, "MST_BSF": bsf, "FFT_CW": fft_cw, "FFT_REUNIFICATION": reunification, "FGC": fgc,
            "OTHER_PREVENTION": True}


@settings(max_examples=400, deadline=None)
@given(referral_st)
def test_version_1_is_the_contract(referral) -> None:
    children, factors, threshold = referral
    assert eligible(children, factors, threshold) == contract_oracle(children, factors, threshold)


@settings(max_examples=300, deadline=None)
@given(referral_st, st.sampled_from(EXCLUDING))
def test_adding_an_exclusion_never_makes_an_intensive_programme_eligible(referral, exclusion) -> None:
    children, factors, threshold = referral
    before = eligible(children, factors, threshold)
    after = eligible(children, factors | {exclusion}, threshold)
    for programme in INTENSIVE:
        assert not after[programme]
    for programme, now in after.items():
        assert not now or before[programme], f"{exclusion} opened {programme}"


@settings(max_examples=300, deadline=None)
@given(referral_st)
def test_other_prevention_is_always_eligible(referral) -> None:
    assert eligible(*referral)["OTHER_PREVENTION"]


@settings(max_examples=300, deadline=None)
@given(referral_st)
def test_recommended_is_the_first_eligible_in_the_contracts_order(referral) -> None:
    decision = decide(RULES_V1, *referral)
    assert [p.programme for p in decision.programmes] == ORDER
    open_ = [p.programme for p in decision.programmes if p.eligible]
    assert decision.recommended in open_
    assert decision.recommended == next(p for p in ORDER if p in open_)


@settings(max_examples=200, deadline=None)
@given(referral_st, st.randoms(use_true_random=False))
def test_every_programme_gives_reasons_and_order_of_input_does_not_matter(referral, rnd) -> None:
    children, factors, threshold = referral
    decision = decide(RULES_V1, children, factors, threshold)
    assert all(p.reasons for p in decision.programmes)
    for p in decision.programmes:
        if not p.eligible:
            excluded = [r for r in p.reasons if r.startswith("excluded: ")]
            assert set(excluded) == ({f"excluded: {f}" for f in set(EXCLUDING) & factors} if p.programme in INTENSIVE else set())
    shuffled_children = list(children)
    rnd.shuffle(shuffled_children)
    shuffled_factors = list(factors)
    rnd.shuffle(shuffled_factors)
    again = decide(RULES_V1, shuffled_children, shuffled_factors, threshold)
    assert [(p.programme, p.eligible) for p in again.programmes] == [(p.programme, p.eligible) for p in decision.programmes]
