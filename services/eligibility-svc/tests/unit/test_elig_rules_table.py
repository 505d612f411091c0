"""Version 1 against the contract, case by case: age boundaries 5/6, 10/11, 17/18; looked-after children
alone and with siblings; each exclusion; both routes into FGC; threshold met or not."""

from __future__ import annotations

import pytest

from eligibility_svc.domain.ruleset import RULES_V1, ChildFacts, decide

ORDER = ["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION"]
OP = "OTHER_PREVENTION"

# (case, children [(age, legal_status)], risk factors, threshold met, eligible programmes)
CASES = [
    # MST: a child aged 11–17 not looked after, with behaviour, offending or school_exclusion
    ("mst age 10 too young", [(10, "CPP")], ["behaviour"], False, {OP}),
    ("mst age 11 lower bound", [(11, "CPP")], ["behaviour"], False, {"MST", "FGC", OP}),
    ("mst age 17 upper bound", [(17, "CPP")], ["behaviour"], False, {"MST", "FGC", OP}),
    ("mst age 18 too old", [(18, "CPP")], ["behaviour"], False, {OP}),
    ("age 10 threshold met: FFT_CW not MST", [(10, "CPP")], ["behaviour"], True, {"FFT_CW", OP}),
    ("age 11 threshold met: MST not FFT_CW", [(11, "CPP")], ["behaviour"], True, {"MST", "FGC", OP}),
    ("age 18 threshold met: nothing intensive", [(18, "NONE")], ["behaviour"], True, {OP}),
    ("mst via offending", [(14, "CPP")], ["offending"], True, {"MST", "FGC", OP}),
    ("mst via school exclusion with neglect", [(14, "CPP")], ["school_exclusion", "neglect"], True,
     {"MST", "MST_BSF", "FGC", OP}),
    ("mst needs one of its risk factors", [(14, "CPP")], ["domestic_abuse", "exploitation"], False, {OP}),
    # MST_BSF: a child aged 6–17 not looked after; physical_abuse or neglect; threshold met
    ("bsf age 5 too young", [(5, "CPP")], ["neglect"], True, {"FFT_CW", OP}),
    ("bsf age 6 lower bound", [(6, "CPP")], ["neglect"], True, {"MST_BSF", "FFT_CW", "FGC", OP}),
    ("bsf age 17 upper bound", [(17, "CIN")], ["physical_abuse"], True, {"MST_BSF", "FFT_CW", "FGC", OP}),
    ("bsf age 18 too old", [(18, "CIN")], ["physical_abuse"], True, {OP}),
    ("bsf needs threshold", [(6, "CPP")], ["neglect"], False, {OP}),
    ("bsf not for emotional abuse", [(9, "CPP")], ["emotional_abuse"], True, {"FFT_CW", OP}),
    # FFT_CW: a child aged 0–17 not looked after; threshold met; not eligible for MST
    ("fft_cw age 0", [(0, "NONE")], [], True, {"FFT_CW", OP}),
    ("fft_cw age 17", [(17, "NONE")], [], True, {"FFT_CW", OP}),
    ("fft_cw age 18 too old", [(18, "NONE")], [], True, {OP}),
    ("fft_cw without threshold", [(12, "CPP")], [], False, {OP}),
    # looked-after children alone
    ("lac teenager with behaviour: reunification only", [(14, "LAC")], ["behaviour"], True, {"FFT_REUNIFICATION", OP}),
    ("lac child with neglect: reunification only", [(8, "LAC")], ["neglect"], True, {"FFT_REUNIFICATION", OP}),
    ("lac toddler, nothing else", [(3, "LAC")], [], False, {"FFT_REUNIFICATION", OP}),
    ("lac aged 19: reunification has no age limit", [(19, "LAC")], [], False, {"FFT_REUNIFICATION", OP}),
    # looked-after children with siblings
    ("lac with sibling 12 at home", [(14, "LAC"), (12, "CPP")], ["behaviour"], True,
     {"MST", "FFT_REUNIFICATION", "FGC", OP}),
    ("lac with sibling 5 at home", [(14, "LAC"), (5, "CPP")], ["behaviour"], True, {"FFT_CW", "FFT_REUNIFICATION", OP}),
    ("lac with sibling 9 neglected", [(16, "LAC"), (9, "CIN")], ["neglect"], True,
     {"MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", OP}),
    ("the 11-year-old is the looked-after one", [(10, "CPP"), (11, "LAC")], ["behaviour"], False,
     {"FFT_REUNIFICATION", OP}),
    ("siblings 4 and 15", [(4, "NONE"), (15, "NONE")], ["behaviour"], False, {"MST", "FGC", OP}),
    ("siblings 18 and 5 neglected", [(18, "NONE"), (5, "NONE")], ["neglect"], True, {"FFT_CW", OP}),
    # each exclusion
    ("excluded: sexual_abuse_active", [(14, "CPP")], ["behaviour", "sexual_abuse_active"], True, {OP}),
    ("excluded: sexual_harm", [(14, "CPP")], ["behaviour", "sexual_harm"], True, {OP}),
    ("excluded: psychosis", [(14, "CPP")], ["behaviour", "psychosis"], True, {OP}),
    ("psychosis closes bsf and fft_cw", [(8, "CPP")], ["neglect", "psychosis"], True, {OP}),
    ("sexual harm closes reunification", [(14, "LAC")], ["sexual_harm"], False, {OP}),
    ("exclusion leaves fgc open through family breakdown", [(14, "CPP")],
     ["behaviour", "sexual_harm", "family_breakdown"], True, {"FGC", OP}),
    # both routes into FGC
    ("fgc through family breakdown alone", [(3, "NONE")], ["family_breakdown"], False, {"FGC", OP}),
    ("fgc as the alternative to MST", [(14, "CPP")], ["offending"], False, {"MST", "FGC", OP}),
    ("fgc as the alternative to MST_BSF", [(8, "CPP")], ["physical_abuse"], True, {"MST_BSF", "FFT_CW", "FGC", OP}),
    ("no fgc when bsf lacks threshold", [(8, "CPP")], ["physical_abuse"], False, {OP}),
    ("fgc and reunification", [(14, "LAC")], ["family_breakdown"], False, {"FFT_REUNIFICATION", "FGC", OP}),
    # threshold met or not
    ("neglect 12, threshold met", [(12, "CPP")], ["neglect"], True, {"MST_BSF", "FFT_CW", "FGC", OP}),
    ("neglect 12, threshold not met", [(12, "CPP")], ["neglect"], False, {OP}),
    ("no risk factors, threshold met", [(12, "CPP")], [], True, {"FFT_CW", OP}),
    ("no risk factors, threshold not met", [(12, "CPP")], [], False, {OP}),
    ("many factors, no threshold", [(15, "CIN")], ["behaviour", "neglect", "domestic_abuse"], False, {"MST", "FGC", OP}),
    ("aged 25", [(25, "NONE")], ["behaviour"], True, {OP}),
]


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("case", "children", "factors", "threshold", "eligible"), CASES, ids=[c[0] for c in CASES])
def test_version_1(case: str, children: list[tuple[int, str]], factors: list[str], threshold: bool, eligible: set[str]) -> None:
    decision = decide(RULES_V1, [ChildFacts(a, s) for a, s in children], factors, threshold)
    assert decision.rule_version == 1
    assert [p.programme for p in decision.programmes] == ORDER
    assert set(decision.eligible) == eligible, case
    assert decision.recommended == next(p for p in ORDER if p in eligible)
    for result in decision.programmes:
        assert result.reasons, f"{result.programme} gives no reason"


def _reasons(children, factors, threshold, programme):
    return list(decide(RULES_V1, [ChildFacts(a, s) for a, s in children], factors, threshold).result(programme).reasons)


def test_reasons_name_every_failed_criterion_in_plain_words() -> None:
    assert _reasons([(10, "CPP")], [], False, "MST") == [
        "no child aged 11–17 who is not looked after",
        "none of behaviour, offending or school_exclusion among the risk factors",
    ]
    assert _reasons([(14, "LAC")], ["behaviour"], True, "MST") == ["no child aged 11–17 who is not looked after"]
    assert _reasons([(5, "CPP")], ["emotional_abuse"], False, "MST_BSF") == [
        "no child aged 6–17 who is not looked after",
        "none of physical_abuse or neglect among the risk factors",
        "threshold for removal not met",
    ]
    assert _reasons([(14, "CPP")], ["behaviour"], True, "FFT_CW") == ["eligible for MST, so FFT_CW does not apply"]
    assert _reasons([(14, "CPP")], [], False, "FFT_REUNIFICATION") == ["no child who is looked after"]
    assert _reasons([(14, "CPP")], [], False, "FGC") == [
        "no family_breakdown among the risk factors, and not eligible for MST or MST_BSF"
    ]


def test_an_exclusion_is_named_alongside_the_failed_criteria() -> None:
    assert _reasons([(14, "CPP")], ["behaviour", "sexual_abuse_active"], True, "MST") == ["excluded: sexual_abuse_active"]
    assert _reasons([(4, "CPP")], ["psychosis", "sexual_harm"], False, "MST") == [
        "no child aged 11–17 who is not looked after",
        "none of behaviour, offending or school_exclusion among the risk factors",
        "excluded: sexual_harm",
        "excluded: psychosis",
    ]


def test_eligible_programmes_say_why() -> None:
    assert _reasons([(15, "CPP"), (9, "LAC")], ["behaviour", "offending"], False, "MST") == [
        "child aged 11–17 who is not looked after (aged 15)", "risk factor: behaviour, offending",
    ]
    assert _reasons([(15, "CPP")], ["behaviour"], False, "FGC") == ["eligible for MST; FGC is the alternative"]
    assert _reasons([(15, "CPP")], ["family_breakdown"], False, "FGC") == ["risk factor: family_breakdown"]
    assert _reasons([(15, "CPP")], [], False, "OTHER_PREVENTION") == ["always open"]
