"""Detection ("data mining" of the bus): which events break a child's outcome after an intervention closed.

Sources and what they mean:
- `referral.created` naming a child: a **re-referral** for every earlier closure of that child that came
  from another referral, dated `referred_on` (on or after the closure).
- `child.updated` into looked after (`legal_status` becomes `LAC`), or a looked-after child leaving a
  placement with parents (`P1`) for another placement: a **care entry** dated `effective_on`.
- `partner.event.received` of kind `custody`: **custody**, dated by the event's UK calendar day.

A signal applies to a closure when it happened on or after `closed_on` (a re-referral also must not be
the referral the intervention served). Applied to a follow-up that no practitioner has recorded, it
records that follow-up as broken (conservatively, also for a checkpoint already passed but never
recorded); a practitioner's result is never overwritten.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from eoc_shared.vocab import LivingSituation
from outcomes_svc.domain.outcome_terms import (
    CARE_SITUATIONS,
    CUSTODY_KINDS,
    LOOKED_AFTER,
    PLACED_WITH_PARENTS,
    SignalKind,
)

PRACTITIONER = "practitioner"
DETECTED = "detected"


@dataclass(frozen=True)
class Signal:
    kind: SignalKind
    occurred_on: date
    #: for a re-referral: the new referral (never the one the closed intervention served)
    referral_id: uuid.UUID | None = None
    #: where the child lives as far as the signal tells (a care entry: in care or custody)
    living_situation: str = LivingSituation.AT_HOME.value

    @property
    def breaks_as(self) -> str:
        return self.living_situation


def living_situation_of(legal_status: str, placement_type: str | None) -> str:
    """Where a child lives, as far as their legal status tells: looked after and not placed with
    parents means in care; otherwise at home."""
    if legal_status == LOOKED_AFTER and placement_type != PLACED_WITH_PARENTS:
        return LivingSituation.IN_CARE.value
    return LivingSituation.AT_HOME.value


def is_care_entry(legal_status_before: str, legal_status: str, placement_before: str | None,
                  placement: str | None) -> bool:
    """A child.updated that means the child came (back) into care."""
    if legal_status != LOOKED_AFTER:
        return False
    if legal_status_before != LOOKED_AFTER:
        return placement != PLACED_WITH_PARENTS
    return placement_before == PLACED_WITH_PARENTS and placement not in (None, PLACED_WITH_PARENTS)


def is_custody(kind: str) -> bool:
    return kind.strip().lower() in CUSTODY_KINDS


def re_referral(referral_id: uuid.UUID, referred_on: date, legal_status: str, placement_type: str | None) -> Signal:
    return Signal(SignalKind.RE_REFERRAL, referred_on, referral_id, living_situation_of(legal_status, placement_type))


def care_entry(on: date) -> Signal:
    return Signal(SignalKind.IN_CARE, on, None, LivingSituation.IN_CARE.value)


def custody(on: date) -> Signal:
    return Signal(SignalKind.CUSTODY, on, None, LivingSituation.CUSTODY.value)


def applies(signal: Signal, *, closed_on: date, closure_referral_id: uuid.UUID) -> bool:
    if signal.occurred_on < closed_on:
        return False
    if signal.kind is SignalKind.RE_REFERRAL and signal.referral_id == closure_referral_id:
        return False
    return True


@dataclass(frozen=True)
class FollowupState:
    """The part of a follow-up that results and detections change."""

    recorded: bool = False
    source: str | None = None  # "practitioner" or "detected"
    observed_on: date | None = None
    living_situation: str | None = None
    re_referred: bool | None = None
    re_referred_on: date | None = None
    care_entry_on: date | None = None
    care_entry_kind: str | None = None


def _earliest(a: date | None, b: date) -> date:
    return b if a is None or b < a else a


def apply(state: FollowupState, signal: Signal) -> FollowupState | None:
    """The follow-up after the signal, or None when the signal changes nothing (a practitioner's result,
    or the same fact already known)."""
    if state.recorded and state.source == PRACTITIONER:
        return None
    new = state
    if signal.kind is SignalKind.RE_REFERRAL:
        new = replace(new, re_referred=True, re_referred_on=_earliest(new.re_referred_on, signal.occurred_on))
    elif new.care_entry_on is None or signal.occurred_on < new.care_entry_on:
        new = replace(new, care_entry_on=signal.occurred_on, care_entry_kind=signal.kind.value)
    if not new.recorded:
        new = replace(new, recorded=True, source=DETECTED, observed_on=signal.occurred_on,
                      living_situation=signal.breaks_as, re_referred=bool(new.re_referred))
    elif new.source == DETECTED and new.observed_on is not None and signal.occurred_on < new.observed_on:
        new = replace(new, observed_on=signal.occurred_on)
    if new.care_entry_kind and new.living_situation not in CARE_SITUATIONS:
        new = replace(new, living_situation=new.care_entry_kind)
    return None if new == state else new


def first_break(
    *, closed_on: date, closure_referral_id: uuid.UUID, signals: Iterable[Signal],
    results: Iterable[tuple[date, str, bool]],
) -> date | None:
    """The day a child's outcome first broke after closure: the earliest applicable signal, or a
    practitioner's result naming care, custody or a re-referral (observed on that day)."""
    days = [s.occurred_on for s in signals if applies(s, closed_on=closed_on, closure_referral_id=closure_referral_id)]
    days += [observed for observed, living, re_referred in results
             if observed >= closed_on and (living in CARE_SITUATIONS or re_referred)]
    return min(days) if days else None
