"""What breaks a child's outcome after an intervention closes, decided from incoming events.

A re-referral or a care entry breaks the outcome (custody counts as one too). These rules only
decide; they return plain records of what to change and the service layer applies them, in
the same transaction as the inbox entry, so a redelivered event changes nothing new.

Pass the rules ALL of the child's follow-ups (recorded ones included): every closed
intervention creates follow-ups, so they are also how the rules know that, and when, the child
had an intervention closed. Recorded follow-ups are never changed: their result was observed
by a practitioner and is the record.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from eoc_shared.clock import UK

from .vocab import CUSTODY, IN_CARE, LOOKED_AFTER

CUSTODY_KINDS: frozenset[str] = frozenset({"custody"})


@dataclass(frozen=True)
class TrackedFollowup:
    """A follow-up with what the rules need to know about the closure it belongs to."""

    followup_id: Hashable
    child_id: Hashable
    intervention_id: Hashable
    referral_id: Hashable | None
    closed_on: date
    checkpoint_months: int
    due_on: date
    recorded: bool
    re_referred_on: date | None = None

    @property
    def open(self) -> bool:
        return not self.recorded


@dataclass(frozen=True)
class MarkReReferred:
    """Set `re_referred` on this open follow-up, as of `re_referred_on`, because of `referral_id`."""

    followup_id: Hashable
    child_id: Hashable
    intervention_id: Hashable
    referral_id: Hashable
    re_referred_on: date


@dataclass(frozen=True)
class ReReferral:
    """A new referral of a child whose earlier intervention had closed: record it and apply `marks`."""

    child_id: Hashable
    referral_id: Hashable
    referred_on: date
    marks: tuple[MarkReReferred, ...]


@dataclass(frozen=True)
class SituationSeen:
    """The child was seen `in_care` or in `custody` from `on`; record it as evidence for the open follow-ups
    listed, which the practitioner still records (a child may be home again by the checkpoint)."""

    child_id: Hashable
    living_situation: str
    on: date
    source: str
    ref: Hashable | None
    open_followup_ids: tuple[Hashable, ...]


def _own(child_id: Hashable, followups: Iterable[TrackedFollowup]) -> list[TrackedFollowup]:
    mine = list(followups)
    strangers = [f.followup_id for f in mine if f.child_id != child_id]
    if strangers:
        raise ValueError(f"follow-ups {strangers!r} belong to another child")
    return mine


def detect_re_referral(
    *, child_id: Hashable, referral_id: Hashable, referred_on: date, followups: Iterable[TrackedFollowup]
) -> ReReferral | None:
    """On `referral.created`: a re-referral when the child had an intervention closed on or before
    `referred_on` that served a different referral (so a redelivered or late event about the
    original referral is not one). Every open follow-up of those closures is marked, whatever its
    due date, because its result will be observed after this referral. A mark already carrying
    an earlier date is kept; a later one is moved back, so events arriving out of order agree."""
    earlier = [
        f for f in _own(child_id, followups) if f.closed_on <= referred_on and f.referral_id != referral_id
    ]
    if not earlier:
        return None
    marks = tuple(
        MarkReReferred(f.followup_id, child_id, f.intervention_id, referral_id, referred_on)
        for f in earlier
        if f.open and (f.re_referred_on is None or f.re_referred_on > referred_on)
    )
    return ReReferral(child_id, referral_id, referred_on, marks)


def _situation(
    child_id: Hashable,
    situation: str,
    on: date,
    source: str,
    ref: Hashable | None,
    followups: Iterable[TrackedFollowup],
) -> SituationSeen | None:
    after_closure = [f for f in _own(child_id, followups) if f.closed_on <= on]
    if not after_closure:
        return None
    open_ids = tuple(f.followup_id for f in after_closure if f.open)
    return SituationSeen(child_id, situation, on, source, ref, open_ids)


def detect_care_entry(
    *,
    child_id: Hashable,
    legal_status_before: str,
    legal_status: str,
    effective_on: date,
    followups: Iterable[TrackedFollowup],
    ref: Hashable | None = None,
) -> SituationSeen | None:
    """On `child.updated`: becoming looked after (`LAC`) on or after a closure is a care entry.
    A change within LAC (a new placement) is not a new entry."""
    if legal_status != LOOKED_AFTER or legal_status_before == LOOKED_AFTER:
        return None
    return _situation(child_id, IN_CARE, effective_on, "child.updated", ref, followups)


def local_day(moment: date | datetime) -> date:
    """The UK calendar day of a partner's timestamp; a naive time is taken as already local."""
    if isinstance(moment, datetime):
        return (moment.astimezone(UK) if moment.tzinfo is not None else moment).date()
    return moment


def detect_custody(
    *,
    child_id: Hashable,
    kind: str,
    occurred_at: date | datetime,
    followups: Iterable[TrackedFollowup],
    ref: Hashable | None = None,
) -> SituationSeen | None:
    """On `partner.event.received`: an event of kind `custody` (any case, surrounding spaces
    ignored, since partners type it) on or after a closure puts the child in custody."""
    if kind.strip().lower() not in CUSTODY_KINDS:
        return None
    return _situation(child_id, CUSTODY, local_day(occurred_at), "partner.event.received", ref, followups)
