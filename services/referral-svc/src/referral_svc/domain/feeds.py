"""Matching a partner agency's event to a child, carefully: a wrong match puts another child's
police or health event on a record, so identifiers that disagree go to a person for review."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """A child found by one identifier, with the NHS number on their record (if any)."""

    child_id: Hashable
    nhs_number: str | None = None


@dataclass(frozen=True)
class Match:
    child_id: Hashable | None
    review_reason: str | None = None

    @property
    def matched(self) -> bool:
        return self.child_id is not None


def match_child(
    *, la_child_id: str | None, nhs_number: str | None, by_la_child_id: Candidate | None, by_nhs_number: Candidate | None
) -> Match:
    """Which child an event is about, or why a person must decide.

    - The local authority's own child id is authoritative; an NHS number, when also given, must not
      contradict the NHS number recorded for that child.
    - An NHS number alone matches the child who has it.
    - Identifiers naming different children, or a given la_child_id that names no child while the NHS
      number names one, go to review rather than being guessed.
    """
    if la_child_id is None and nhs_number is None:
        return Match(None, "the event names no child identifier")
    if by_la_child_id is not None:
        if nhs_number is not None:
            if by_nhs_number is not None and by_nhs_number.child_id != by_la_child_id.child_id:
                return Match(None, "la_child_id and nhs_number name different children")
            if by_la_child_id.nhs_number is not None and by_la_child_id.nhs_number != nhs_number:
                return Match(None, "the NHS number differs from the one recorded for that la_child_id")
        return Match(by_la_child_id.child_id)
    if la_child_id is not None:
        if by_nhs_number is not None:
            return Match(None, "the la_child_id names no child, although the NHS number matches one")
        return Match(None, "no child has that la_child_id" + (" or NHS number" if nhs_number else ""))
    if by_nhs_number is not None:
        return Match(by_nhs_number.child_id)
    return Match(None, "no child has that NHS number")
