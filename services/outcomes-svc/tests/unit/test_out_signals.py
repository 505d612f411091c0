"""Detection rules: which events break an outcome, for which closure, and what they do to a follow-up."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from outcomes_svc.domain.outcome_terms import SignalKind
from outcomes_svc.domain.signals import (
    DETECTED,
    PRACTITIONER,
    FollowupState,
    applies,
    apply,
    care_entry,
    custody,
    first_break,
    is_care_entry,
    is_custody,
    living_situation_of,
    re_referral,
)

D = date.fromisoformat
OWN, OTHER = uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize(("before", "after", "p_before", "p_after", "entry"), [
    ("CPP", "LAC", None, "U1", True),
    ("CIN", "LAC", None, "K2", True),
    ("NONE", "LAC", None, "P1", False),   # looked after but placed with parents: not a care entry
    ("LAC", "LAC", "P1", "U3", True),     # a looked-after child placed at home goes back to care
    ("LAC", "LAC", "U1", "U3", False),    # a move between placements in care
    ("LAC", "CPP", "U1", None, False),    # leaving care
    ("CPP", "CIN", None, None, False),
])
def test_care_entry_from_child_updated(before: str, after: str, p_before: str | None, p_after: str | None,
                                       entry: bool) -> None:
    assert is_care_entry(before, after, p_before, p_after) is entry


def test_custody_and_living_situation_from_legal_status() -> None:
    assert is_custody("custody") and is_custody(" Custody ")
    assert not is_custody("arrest") and not is_custody("missing_episode")
    assert living_situation_of("LAC", "U1") == "in_care"
    assert living_situation_of("LAC", "P1") == "at_home"
    assert living_situation_of("CPP", None) == "at_home"


def test_which_closures_a_signal_concerns() -> None:
    closed = D("2024-03-31")
    assert applies(re_referral(OTHER, D("2024-05-01"), "CPP", None), closed_on=closed, closure_referral_id=OWN)
    assert applies(re_referral(OTHER, closed, "CPP", None), closed_on=closed, closure_referral_id=OWN)
    # the referral the intervention served is never its own re-referral, whatever order events arrive in
    assert not applies(re_referral(OWN, D("2024-05-01"), "CPP", None), closed_on=closed, closure_referral_id=OWN)
    # before the closure: not a break of this closure's outcome
    assert not applies(re_referral(OTHER, D("2024-01-01"), "CPP", None), closed_on=closed, closure_referral_id=OWN)
    assert not applies(care_entry(D("2024-03-30")), closed_on=closed, closure_referral_id=OWN)
    assert applies(custody(D("2024-04-02")), closed_on=closed, closure_referral_id=OWN)


def test_a_detection_records_an_open_follow_up() -> None:
    state = apply(FollowupState(), re_referral(OTHER, D("2024-05-01"), "CPP", None))
    assert state == FollowupState(recorded=True, source=DETECTED, observed_on=D("2024-05-01"),
                                  living_situation="at_home", re_referred=True, re_referred_on=D("2024-05-01"))
    # a later care entry adds to it: now in care, still re-referred
    later = apply(state, care_entry(D("2024-08-01")))
    assert later is not None
    assert (later.living_situation, later.re_referred, later.care_entry_on, later.care_entry_kind) == (
        "in_care", True, D("2024-08-01"), "in_care")
    assert later.observed_on == D("2024-05-01")
    # the same fact again changes nothing
    assert apply(later, care_entry(D("2024-08-01"))) is None


def test_an_earlier_signal_arriving_late_moves_the_dates_back() -> None:
    state = apply(FollowupState(), custody(D("2024-09-01")))
    assert state is not None and state.living_situation == "custody" and state.re_referred is False
    earlier = apply(state, re_referral(OTHER, D("2024-06-01"), "CPP", None))
    assert earlier is not None
    assert (earlier.observed_on, earlier.re_referred_on, earlier.living_situation) == (
        D("2024-06-01"), D("2024-06-01"), "custody")


def test_a_practitioners_result_is_never_overwritten() -> None:
    recorded = FollowupState(recorded=True, source=PRACTITIONER, observed_on=D("2024-04-01"),
                             living_situation="at_home", re_referred=False)
    assert apply(recorded, care_entry(D("2024-05-01"))) is None


def test_first_break() -> None:
    signals = [re_referral(OWN, D("2024-04-10"), "CPP", None),      # its own referral: ignored
               care_entry(D("2024-09-01")), re_referral(OTHER, D("2024-12-01"), "CPP", None)]
    assert first_break(closed_on=D("2024-03-31"), closure_referral_id=OWN, signals=signals, results=[]) == D("2024-09-01")
    results = [(D("2024-06-15"), "at_home", False), (D("2024-08-20"), "custody", False)]
    assert first_break(closed_on=D("2024-03-31"), closure_referral_id=OWN, signals=signals,
                       results=results) == D("2024-08-20")
    assert first_break(closed_on=D("2024-03-31"), closure_referral_id=OWN, signals=[],
                       results=[(D("2024-06-15"), "other", False)]) is None
    assert SignalKind.CUSTODY.value == "custody"
