"""Rules about a child's legal status and placement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from eoc_shared.vocab import LegalStatus


@dataclass(frozen=True)
class CareStatus:
    legal_status: str
    placement_type: str | None


def placement_problem(status: CareStatus) -> str | None:
    """A looked-after child must have an SSDA903 placement type."""
    if status.legal_status == LegalStatus.LAC and status.placement_type is None:
        return "is required when legal_status is LAC (looked after)"
    return None


def after_change(before: CareStatus, *, legal_status: str | None, placement_type: str | None,
                 placement_given: bool) -> CareStatus:
    """The child's status after a change. A child who stops being looked after leaves their placement
    unless the change names one; otherwise an unnamed placement stays as it was."""
    new_legal = legal_status if legal_status is not None else before.legal_status
    if placement_given:
        new_placement = placement_type
    elif before.legal_status == LegalStatus.LAC and new_legal != LegalStatus.LAC:
        new_placement = None
    else:
        new_placement = before.placement_type
    return CareStatus(new_legal, new_placement)


def is_care_change(before: CareStatus, after: CareStatus) -> bool:
    """A change of legal status or placement: what outcomes and finance must hear about."""
    return before != after


def effective_on_problem(effective_on: date, *, today: date, date_of_birth: date) -> str | None:
    if effective_on > today:
        return "is after today; record a change once it has happened"
    if effective_on < date_of_birth:
        return "is before the child's date of birth"
    return None
