"""Pre-proceedings and the family group decision-making (FGDM) duty: Children Act 1989 s31ZA.

Before applying for a care or supervision order the authority offers an FGDM meeting to each parent
and person with parental responsibility (a "party"); if any party accepts, the meeting is held before
the application; either step may be set aside only by a team manager's decision that it is not in
the child's best interests (an exception). These rules say what is met and what is not; they know
nothing of HTTP, SQL or Kafka.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from referral_svc.domain.working_days import add_working_days

OFFER_WORKING_DAYS = 5


class RecordStatus(StrEnum):
    OPEN = "open"
    APPLIED = "applied"


class Relationship(StrEnum):
    MOTHER = "mother"
    FATHER = "father"
    STEP_PARENT = "step_parent"
    GRANDPARENT = "grandparent"
    OTHER_RELATIVE = "other_relative"
    SPECIAL_GUARDIAN = "special_guardian"
    OTHER = "other"


class Response(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    NO_RESPONSE = "no_response"


class MeetingOutcome(StrEnum):
    PLAN_AGREED = "plan_agreed"
    PARTLY_AGREED = "partly_agreed"
    NOT_AGREED = "not_agreed"


class ChildParticipation(StrEnum):
    ATTENDED = "attended"
    VIEWS_BROUGHT = "views_brought"
    NONE = "none"


class ExceptionKind(StrEnum):
    NOT_OFFERED = "not_offered"
    NOT_HELD = "not_held"


class ExceptionReason(StrEnum):
    RISK_OF_HARM = "risk_of_harm"
    DOMESTIC_ABUSE = "domestic_abuse"
    URGENCY = "urgency"
    CHILD_WISHES = "child_wishes"
    PARTY_CANNOT_BE_FOUND = "party_cannot_be_found"
    OTHER = "other"


class Order(StrEnum):
    CARE = "care"
    SUPERVISION = "supervision"


def offer_due_on(started_on: date) -> date:
    """Offers are due 5 working days after pre-proceedings start (England and Wales bank holidays excluded)."""
    return add_working_days(started_on, OFFER_WORKING_DAYS)


# --------------------------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Party:
    id: uuid.UUID
    relationship: str
    child_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class Offer:
    id: uuid.UUID
    party_id: uuid.UUID
    offered_on: date
    response: str | None = None
    responded_on: date | None = None

    @property
    def accepted(self) -> bool:
        return self.response == Response.ACCEPTED


@dataclass(frozen=True)
class Meeting:
    held_on: date


@dataclass(frozen=True)
class Exception_:
    kind: str
    reason: str
    party_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Record:
    """Everything the duty looks at, as plain facts."""

    started_on: date
    letter_before_proceedings_on: date | None
    parties: Sequence[Party] = ()
    offers: Sequence[Offer] = ()
    meetings: Sequence[Meeting] = ()
    exceptions: Sequence[Exception_] = ()


@dataclass(frozen=True)
class Compliance:
    all_parties_offered: bool
    any_accepted: bool
    meeting_held: bool
    ready_to_apply: bool
    unmet: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------- rules


def parties_without_offer(record: Record) -> list[Party]:
    """Parties with neither an offer nor a `not_offered` exception: the offer duty is unmet for them."""
    offered = {o.party_id for o in record.offers}
    excepted = {e.party_id for e in record.exceptions if e.kind == ExceptionKind.NOT_OFFERED}
    return [p for p in record.parties if p.id not in offered and p.id not in excepted]


def first_acceptance(offers: Iterable[Offer]) -> date | None:
    days = [o.responded_on for o in offers if o.accepted and o.responded_on is not None]
    return min(days) if days else None


def meeting_held_by(record: Record, day: date) -> bool:
    """A meeting held on or before `day` (the same day counts: the meeting comes before the court papers)."""
    return any(m.held_on <= day for m in record.meetings)


def fgdm_unmet(record: Record, applied_on: date, *, urgent: bool = False) -> list[str]:
    """The FGDM duties unmet for an application on `applied_on`, one plain sentence each.

    An urgent application is not held up for offers; a party who accepted is still owed the meeting
    unless a team manager decided it should not be held (`not_held`, e.g. for `urgency`).
    """
    unmet: list[str] = []
    if not urgent:
        if not record.parties:
            unmet.append("offer duty: no party (parent or person with parental responsibility) is recorded")
        for p in parties_without_offer(record):
            unmet.append(f"offer duty: party {p.id} ({p.relationship}) has neither an FGDM offer "
                         "nor a not_offered exception")
    accepted = any(o.accepted for o in record.offers)
    not_held = any(e.kind == ExceptionKind.NOT_HELD for e in record.exceptions)
    if accepted and not not_held and not meeting_held_by(record, applied_on):
        unmet.append(f"meeting duty: a party accepted an FGDM offer and no meeting was held on or before "
                     f"{applied_on.isoformat()}, and there is no not_held exception")
    return unmet


def application_unmet(record: Record, applied_on: date, *, urgent: bool) -> list[str]:
    """Every duty unmet for an application: the letter before proceedings (unless urgent) and the FGDM duties."""
    unmet: list[str] = []
    if not urgent and record.letter_before_proceedings_on is None:
        unmet.append("letter before proceedings: no letter_before_proceedings_on is recorded")
    return unmet + fgdm_unmet(record, applied_on, urgent=urgent)


def compliance(record: Record, as_of: date, *, applied: bool = False) -> Compliance:
    """Where the duty stands on `as_of` (today when read): what would block an application now."""
    unmet = application_unmet(record, as_of, urgent=False)
    return Compliance(
        all_parties_offered=bool(record.parties) and not parties_without_offer(record),
        any_accepted=any(o.accepted for o in record.offers),
        meeting_held=bool(record.meetings),
        ready_to_apply=not applied and not unmet,
        unmet=unmet,
    )


def offer_overdue(record: Record, *, offer_due_on: date, as_of: date, open_: bool) -> bool:
    """Offers are overdue the day after their due date while an open record has a party not yet offered
    (or no party recorded at all)."""
    if not open_ or as_of <= offer_due_on:
        return False
    return not record.parties or bool(parties_without_offer(record))


# --------------------------------------------------------------------------------------------- date order


@dataclass(frozen=True)
class OutOfOrder:
    field: str
    message: str


def after_today(day: date, today: date, field_name: str) -> OutOfOrder | None:
    if day > today:
        return OutOfOrder(field_name, f"is after today ({today.isoformat()}); record a step once it has happened")
    return None


def check_offer(offered_on: date, *, started_on: date, today: date) -> OutOfOrder | None:
    if offered_on < started_on:
        return OutOfOrder("offered_on", f"is before pre-proceedings started ({started_on.isoformat()})")
    return after_today(offered_on, today, "offered_on")


def check_response(responded_on: date, *, offered_on: date, today: date) -> OutOfOrder | None:
    if responded_on < offered_on:
        return OutOfOrder("responded_on", f"is before the offer was made ({offered_on.isoformat()})")
    return after_today(responded_on, today, "responded_on")


def check_meeting(held_on: date, *, offers: Sequence[Offer], today: date) -> OutOfOrder | None:
    accepted_on = first_acceptance(offers)
    if accepted_on is not None and held_on < accepted_on:
        return OutOfOrder("held_on", f"is before any party accepted the offer (first acceptance "
                                     f"{accepted_on.isoformat()})")
    return after_today(held_on, today, "held_on")


def check_exception(decided_on: date, *, started_on: date, today: date) -> OutOfOrder | None:
    if decided_on < started_on:
        return OutOfOrder("decided_on", f"is before pre-proceedings started ({started_on.isoformat()})")
    return after_today(decided_on, today, "decided_on")


def check_letter(letter_on: date, *, started_on: date, today: date) -> OutOfOrder | None:
    if letter_on < started_on:
        return OutOfOrder("letter_before_proceedings_on",
                          f"is before pre-proceedings started ({started_on.isoformat()})")
    return after_today(letter_on, today, "letter_before_proceedings_on")


def check_application(applied_on: date, *, record: Record, urgent: bool, today: date) -> OutOfOrder | None:
    """An application comes after the start and, unless urgent, on or after the letter before proceedings."""
    if applied_on < record.started_on:
        return OutOfOrder("applied_on", f"is before pre-proceedings started ({record.started_on.isoformat()})")
    letter = record.letter_before_proceedings_on
    if not urgent and letter is not None and applied_on < letter:
        return OutOfOrder("applied_on", f"is before the letter before proceedings ({letter.isoformat()}); "
                                        "only an urgent application may come first")
    return after_today(applied_on, today, "applied_on")
