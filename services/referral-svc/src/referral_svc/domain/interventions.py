"""Intervention rules: programme lengths, superseding, closure outcomes, capacity and waiting list."""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from eoc_shared.vocab import LivingSituation, PlacementType, Programme

DEFAULT_DURATION_MONTHS: Mapping[Programme, int] = {
    Programme.MST: 5,
    Programme.MST_BSF: 9,
    Programme.FFT_CW: 6,
    Programme.FFT_REUNIFICATION: 6,
    Programme.FGC: 3,
    Programme.OTHER_PREVENTION: 3,
}

SUPERSEDING: frozenset[Programme] = frozenset(
    {Programme.MST, Programme.MST_BSF, Programme.FFT_CW, Programme.FFT_REUNIFICATION, Programme.FGC}
)


def _get(item: Any, name: str) -> Any:
    if isinstance(item, Mapping):
        return item.get(name)
    return getattr(item, name, None)


def _same_id(value: Any) -> Any:
    """UUIDs compare equal whether they arrive as `uuid.UUID` or as text in any case."""
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            return value
    return value


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def add_months(day: date, months: int) -> date:
    """Same day of the month `months` later, clamped to the month's last day (31 Aug + 6 -> 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expected_end_on(started_on: date, months: int) -> date:
    """When an intervention of `months` months starting on `started_on` is planned to end."""
    if months < 0:
        raise ValueError("an intervention cannot last a negative number of months")
    return add_months(started_on, months)


def default_expected_end_on(programme: Programme | str, started_on: date) -> date:
    return expected_end_on(started_on, DEFAULT_DURATION_MONTHS[Programme(programme)])


class OpenInterventionLike(Protocol):
    @property
    def id(self) -> Hashable: ...

    @property
    def programme(self) -> str: ...


@dataclass(frozen=True)
class OpenIntervention:
    id: Hashable
    programme: Programme


_I = TypeVar("_I", bound=OpenInterventionLike)


def to_supersede(
    new_programme: Programme | str,
    open_interventions: Iterable[_I],
    *,
    new_intervention_id: Hashable | None = None,
) -> list[_I]:
    """The family's open interventions that starting `new_programme` closes as `superseded`.

    One intensive programme per family at a time: starting MST, MST-BSF, FFT or FGC closes every
    other open edge-of-care intervention of the family, whatever its programme or referral.
    OTHER_PREVENTION sits alongside and closes nothing. The new intervention itself, if the
    caller has already listed it, is never returned.
    """
    if Programme(new_programme) not in SUPERSEDING:
        return []
    exclude = None if new_intervention_id is None else _same_id(new_intervention_id)
    return [i for i in open_interventions if exclude is None or _same_id(i.id) != exclude]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request, named by its field path the way 422 answers name them."""

    field: str
    message: str


@dataclass(frozen=True)
class ChildOutcome:
    child_id: Hashable
    living_situation: str
    placement_type: str | None = None


_LIVING = ", ".join(LivingSituation)


def validate_child_outcomes(referral_child_ids: Sequence[Hashable], outcomes: Sequence[Any]) -> list[Problem]:
    """Every problem with the `child_outcomes` of a closure; an empty list means it is acceptable.

    Exactly one outcome per child of the referral: none missing, none for a child outside the
    referral, none twice. `living_situation` must be in the vocabulary and `placement_type`,
    when given, an SSDA903 code. Outcomes may be mappings or objects with those attributes.
    """
    expected = [_same_id(c) for c in referral_child_ids]
    expected_set = set(expected)
    seen: set[Hashable] = set()
    problems: list[Problem] = []
    for index, outcome in enumerate(outcomes):
        where = f"child_outcomes.{index}"
        raw_id = _get(outcome, "child_id")
        child_id = _same_id(raw_id)
        if raw_id is None:
            problems.append(Problem(f"{where}.child_id", "is required"))
        elif not _hashable(child_id) or child_id not in expected_set:
            problems.append(Problem(f"{where}.child_id", f"{raw_id} is not a child of this referral"))
        elif child_id in seen:
            problems.append(Problem(f"{where}.child_id", f"gives a second outcome for child {raw_id}"))
        else:
            seen.add(child_id)

        living = _get(outcome, "living_situation")
        if living is None:
            problems.append(Problem(f"{where}.living_situation", "is required"))
        elif living not in LivingSituation.__members__.values():
            problems.append(Problem(f"{where}.living_situation", f"must be one of {_LIVING}"))

        placement = _get(outcome, "placement_type")
        if placement is not None and placement not in PlacementType.__members__.values():
            problems.append(
                Problem(f"{where}.placement_type", "is not an SSDA903 placement code (PLACE), e.g. U6 or K2")
            )

    for child_id in expected:
        if child_id not in seen:
            problems.append(Problem("child_outcomes", f"has no outcome for child {child_id}"))
    return problems


class WaitingEntryLike(Protocol):
    @property
    def referral_id(self) -> Hashable: ...

    @property
    def referred_on(self) -> date: ...

    @property
    def joined_at(self) -> datetime: ...


@dataclass(frozen=True)
class WaitingEntry:
    referral_id: Hashable
    programme: Programme
    referred_on: date
    joined_at: datetime


_W = TypeVar("_W", bound=WaitingEntryLike)


def order_waiting_list(entries: Iterable[_W]) -> list[_W]:
    """First come, first served by referral date, then by when the case joined the list.

    The referral id breaks exact ties so the order never depends on how the database returned
    the rows. `joined_at` values must all be timezone-aware (or all naive) to be comparable.
    """
    return sorted(entries, key=lambda e: (e.referred_on, e.joined_at, str(e.referral_id)))


def days_waiting(joined_on: date, today: date) -> int:
    """Whole days on the list; never negative even if clocks disagree about `today`."""
    if isinstance(joined_on, datetime):
        joined_on = joined_on.date()
    if isinstance(today, datetime):
        today = today.date()
    return max(0, (today - joined_on).days)


def has_capacity(active_count: int, limit: int | None) -> bool:
    """A programme without a limit always has room; with one, room while fewer are active.

    A limit of 0 is a paused programme: every start is waitlisted.
    """
    if active_count < 0:
        raise ValueError("active_count cannot be negative")
    if limit is None:
        return True
    if limit < 0:
        raise ValueError("a capacity limit cannot be negative")
    return active_count < limit


def needs_waiting_list(*, family_already_active: bool, active_families: int, limit: int | None) -> bool:
    """Whether a start must wait for a place: capacity counts active *families*, so a family already
    active in the programme (e.g. a sibling's referral) takes no further place."""
    if family_already_active:
        return False
    return not has_capacity(active_families, limit)


def superseded_closed_on(new_started_on: date, old_started_on: date) -> date:
    """A superseded intervention closes the day the new one starts, never before its own start
    (a start recorded late, with an earlier date, must not close the other before it began)."""
    return max(new_started_on, old_started_on)


def start_from_waiting_list_on(place_freed_on: date, requested_started_on: date, referred_on: date) -> date:
    """A family offered a freed place starts the day the place freed, or the start date asked for if later."""
    return max(place_freed_on, requested_started_on, referred_on)


def living_situation_on_record(legal_status: str, placement_type: str | None) -> tuple[str, str | None]:
    """(living_situation, placement_type) according to the child's record, used where no one records an
    outcome (supersession): a looked-after child (LAC) is in care in their placement; any other, at home."""
    if legal_status == "LAC":
        return LivingSituation.IN_CARE.value, placement_type
    return LivingSituation.AT_HOME.value, None
