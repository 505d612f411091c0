"""A child's legal status and placement: what a change means and when it is a change at all."""

from datetime import date

from referral_svc.domain.children import CareStatus, after_change, effective_on_problem, is_care_change, placement_problem

HOME = CareStatus("CPP", None)
CARE = CareStatus("LAC", "U6")


def test_looked_after_needs_a_placement():
    assert placement_problem(CareStatus("LAC", None))
    assert placement_problem(CARE) is None
    assert placement_problem(HOME) is None


def test_entering_care_with_a_placement():
    after = after_change(HOME, legal_status="LAC", placement_type="K2", placement_given=True)
    assert after == CareStatus("LAC", "K2") and is_care_change(HOME, after)


def test_entering_care_without_a_placement_is_caught_by_the_placement_rule():
    assert placement_problem(after_change(HOME, legal_status="LAC", placement_type=None, placement_given=False))


def test_leaving_care_leaves_the_placement_unless_one_is_named():
    assert after_change(CARE, legal_status="CIN", placement_type=None, placement_given=False) == CareStatus("CIN", None)
    assert after_change(CARE, legal_status="CIN", placement_type="P1", placement_given=True) == CareStatus("CIN", "P1")


def test_a_placement_move_alone_is_a_care_change():
    after = after_change(CARE, legal_status=None, placement_type="K2", placement_given=True)
    assert after == CareStatus("LAC", "K2") and is_care_change(CARE, after)


def test_nothing_named_is_no_change():
    assert not is_care_change(CARE, after_change(CARE, legal_status=None, placement_type=None, placement_given=False))
    assert not is_care_change(HOME, after_change(HOME, legal_status="CPP", placement_type=None, placement_given=False))


def test_effective_date_must_have_happened_and_follow_birth():
    today, dob = date(2024, 6, 1), date(2010, 1, 1)
    assert effective_on_problem(date(2024, 6, 2), today=today, date_of_birth=dob)
    assert effective_on_problem(date(2009, 12, 31), today=today, date_of_birth=dob)
    assert effective_on_problem(today, today=today, date_of_birth=dob) is None
