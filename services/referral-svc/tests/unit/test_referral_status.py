"""The referral status machine, checked against the full table of allowed moves."""

import itertools

import pytest

from referral_svc.domain.status import (
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
    allowed_targets,
    can_transition,
    is_terminal,
    transition,
)
from referral_svc.domain.vocab import ReferralStatus as S

# fmt: off
ALLOWED = {
    (S.RECEIVED, S.ASSESSING), (S.RECEIVED, S.ELIGIBLE), (S.RECEIVED, S.INELIGIBLE), (S.RECEIVED, S.WITHDRAWN),
    (S.ASSESSING, S.ELIGIBLE), (S.ASSESSING, S.INELIGIBLE), (S.ASSESSING, S.WITHDRAWN),
    (S.ELIGIBLE, S.ELIGIBLE), (S.ELIGIBLE, S.INELIGIBLE), (S.ELIGIBLE, S.ACTIVE), (S.ELIGIBLE, S.WAITLISTED),
    (S.ELIGIBLE, S.WITHDRAWN),
    (S.INELIGIBLE, S.ELIGIBLE), (S.INELIGIBLE, S.INELIGIBLE), (S.INELIGIBLE, S.WITHDRAWN),
    (S.WAITLISTED, S.ACTIVE), (S.WAITLISTED, S.WITHDRAWN),
    (S.ACTIVE, S.ACTIVE), (S.ACTIVE, S.CLOSED), (S.ACTIVE, S.WITHDRAWN),
}
# fmt: on
ALL_PAIRS = list(itertools.product(S, S))


@pytest.mark.parametrize("current, target", sorted(ALLOWED))
def test_allowed_moves_return_the_target(current, target):
    assert transition(current, target) is target
    assert can_transition(current, target)


@pytest.mark.parametrize("current, target", [p for p in ALL_PAIRS if p not in ALLOWED])
def test_every_other_move_is_refused_naming_the_current_status(current, target):
    with pytest.raises(IllegalTransition) as caught:
        transition(current, target)
    assert caught.value.current is current
    assert caught.value.target is target
    assert f"is {current.value} " in str(caught.value)
    assert target.value in str(caught.value)
    assert not can_transition(current, target)


def test_table_covers_every_status():
    assert set(TRANSITIONS) == set(S)


def test_the_happy_path():
    status = S.RECEIVED
    for step in [S.ASSESSING, S.ELIGIBLE, S.ACTIVE, S.CLOSED]:
        status = transition(status, step)
    assert status is S.CLOSED


def test_capacity_path_through_the_waiting_list():
    assert transition(transition(S.ELIGIBLE, S.WAITLISTED), S.ACTIVE) is S.ACTIVE


def test_withdrawal_from_every_non_terminal_status_only():
    for status in S:
        assert can_transition(status, S.WITHDRAWN) == (status not in {S.CLOSED, S.WITHDRAWN})


def test_terminal_statuses():
    assert TERMINAL == {S.CLOSED, S.WITHDRAWN}
    assert is_terminal("closed") and is_terminal(S.WITHDRAWN)
    assert not is_terminal(S.WAITLISTED)
    assert allowed_targets("closed") == frozenset()


def test_plain_strings_from_the_database_are_accepted():
    assert transition("received", "eligible") is S.ELIGIBLE


def test_unknown_status_is_a_value_error_not_an_illegal_transition():
    with pytest.raises(ValueError) as caught:
        transition("archived", "closed")
    assert not isinstance(caught.value, IllegalTransition)


def test_message_reads_for_a_person():
    with pytest.raises(IllegalTransition) as caught:
        transition(S.CLOSED, S.ACTIVE)
    assert str(caught.value) == "the referral is closed and cannot become active; closed is final"
    with pytest.raises(IllegalTransition) as caught:
        transition(S.WAITLISTED, S.CLOSED)
    assert str(caught.value) == (
        "the referral is waitlisted and cannot become closed; from waitlisted it can only become active, withdrawn"
    )


def test_is_a_value_error_for_callers_that_catch_broadly():
    assert issubclass(IllegalTransition, ValueError)


def test_statuses_are_exactly_the_contract_list():
    assert [m.value for m in S] == ["received", "assessing", "eligible", "ineligible", "active", "closed",
                                    "withdrawn", "waitlisted"]
    assert str(S.WAITLISTED) == "waitlisted"
