"""Matching partner events to children: authoritative ids, and disagreement goes to a person."""

from referral_svc.domain.feeds import Candidate, Match, match_child

A = Candidate("child-a", "9434765919")
B = Candidate("child-b", "4010232137")
NO_NHS = Candidate("child-c", None)


def test_la_child_id_matches():
    assert match_child(la_child_id="LA1", nhs_number=None, by_la_child_id=A, by_nhs_number=None) == Match("child-a")


def test_nhs_number_alone_matches():
    assert match_child(la_child_id=None, nhs_number="4010232137", by_la_child_id=None, by_nhs_number=B) == Match("child-b")


def test_both_naming_the_same_child_match():
    assert match_child(la_child_id="LA1", nhs_number="9434765919", by_la_child_id=A, by_nhs_number=A).matched


def test_nhs_number_unknown_to_us_but_child_has_none_recorded_still_matches_by_la_id():
    m = match_child(la_child_id="LA3", nhs_number="9434765919", by_la_child_id=NO_NHS, by_nhs_number=None)
    assert m == Match("child-c")


def test_identifiers_naming_different_children_go_to_review():
    m = match_child(la_child_id="LA1", nhs_number="4010232137", by_la_child_id=A, by_nhs_number=B)
    assert not m.matched and "different children" in m.review_reason


def test_nhs_number_contradicting_the_record_goes_to_review():
    m = match_child(la_child_id="LA1", nhs_number="4010232137", by_la_child_id=A, by_nhs_number=None)
    assert not m.matched and "differs" in m.review_reason


def test_unknown_la_id_with_known_nhs_number_is_not_guessed():
    m = match_child(la_child_id="LA-X", nhs_number="4010232137", by_la_child_id=None, by_nhs_number=B)
    assert not m.matched and "la_child_id names no child" in m.review_reason


def test_nothing_matches():
    assert not match_child(la_child_id="LA-X", nhs_number=None, by_la_child_id=None, by_nhs_number=None).matched
    assert not match_child(la_child_id=None, nhs_number="4010232137", by_la_child_id=None, by_nhs_number=None).matched
    assert not match_child(la_child_id=None, nhs_number=None, by_la_child_id=None, by_nhs_number=None).matched
