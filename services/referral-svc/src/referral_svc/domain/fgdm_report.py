"""The FGDM compliance report (contract v1.1): over pre-proceedings records started in a financial year,
or one quarter of it, in total or by an equity grouping with small-number suppression.

A record counts in a group when one of its children falls in that group; within it, a party counts when
it is a party for one of those children, and an offer or a `not_offered` exception follows its party.
A record whose children fall in two groups appears in both: groups are views, the total is the truth.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from eoc_shared import finyear
from referral_svc.domain import groupings
from referral_svc.domain.pre_proceedings import (
    Exception_,
    ExceptionKind,
    ExceptionReason,
    Meeting,
    Offer,
    Party,
    Record,
    fgdm_unmet,
    meeting_held_by,
)

QUARTERS = (1, 2, 3, 4)


@dataclass(frozen=True)
class Application:
    applied_on: date
    urgent: bool


@dataclass(frozen=True)
class ChildFacts:
    """What the equity groupings need of one child of the record's referral."""

    id: uuid.UUID
    ethnicity: str
    sex: str
    date_of_birth: date
    referred_on: date
    primary_language: str
    interpreter_needed: bool


@dataclass(frozen=True)
class RecordFacts:
    started_on: date
    letter_before_proceedings_on: date | None
    parties: Sequence[Party]
    offers: Sequence[Offer]
    meetings: Sequence[Meeting]
    exceptions: Sequence[Exception_]
    application: Application | None
    children: Sequence[ChildFacts] = ()

    def as_record(self) -> Record:
        return Record(self.started_on, self.letter_before_proceedings_on, self.parties, self.offers, self.meetings,
                      self.exceptions)


@dataclass
class Figures:
    started: int = 0
    parties: int = 0
    parties_offered: int = 0
    offers_accepted: int = 0
    meetings_held: int = 0
    applications: int = 0
    applications_urgent: int = 0
    applications_with_meeting_before: int = 0
    applications_without_compliant_fgdm: int = 0
    exceptions: dict[str, dict[str, int]] = field(default_factory=lambda: {
        k.value: {r.value: 0 for r in ExceptionReason} for k in ExceptionKind})


def quarter_bounds(fy: int, quarter: int) -> tuple[date, date]:
    """Q1 is April to June, Q4 January to March of the next calendar year."""
    start_month = 4 + 3 * (quarter - 1)
    year = fy + (start_month - 1) // 12
    month = (start_month - 1) % 12 + 1
    start = date(year, month, 1)
    end_month = month + 3
    end = date(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def period(fy: int, quarter: int | None) -> tuple[date, date]:
    if quarter is None:
        return finyear.year_start(fy), finyear.year_end(fy)
    return quarter_bounds(fy, quarter)


def add_record(figures: Figures, r: RecordFacts, parties: Sequence[Party] | None = None) -> None:
    """Add one record to the figures; `parties` limits the party counts to a group's parties."""
    chosen = list(r.parties if parties is None else parties)
    chosen_ids = {p.id for p in chosen}
    figures.started += 1
    figures.parties += len(chosen)
    offered = {o.party_id for o in r.offers}
    figures.parties_offered += sum(1 for p in chosen if p.id in offered)
    figures.offers_accepted += sum(1 for o in r.offers if o.accepted and o.party_id in chosen_ids)
    figures.meetings_held += len(r.meetings)
    for e in r.exceptions:
        if e.kind == ExceptionKind.NOT_OFFERED and e.party_id not in chosen_ids:
            continue
        figures.exceptions[e.kind][e.reason] += 1
    app = r.application
    if app is None:
        return
    record = r.as_record()
    figures.applications += 1
    figures.applications_urgent += app.urgent
    figures.applications_with_meeting_before += meeting_held_by(record, app.applied_on)
    figures.applications_without_compliant_fgdm += bool(fgdm_unmet(record, app.applied_on, urgent=False))


def in_period(records: Sequence[RecordFacts], start: date, end: date) -> list[RecordFacts]:
    return [r for r in records if start <= r.started_on <= end]


def total(records: Sequence[RecordFacts]) -> Figures:
    figures = Figures()
    for r in records:
        add_record(figures, r)
    return figures


def by_group(records: Sequence[RecordFacts], by: str) -> dict[str, Figures]:
    """Figures per group of the grouping `by` (one of groupings.GROUPINGS), groups in name order."""
    out: dict[str, Figures] = {}
    for r in records:
        group_of_child: dict[uuid.UUID, str] = {c.id: _group(by, c) for c in r.children}
        for group in sorted(set(group_of_child.values())):
            mine = {cid for cid, g in group_of_child.items() if g == group}
            parties = [p for p in r.parties if mine & set(p.child_ids)]
            add_record(out.setdefault(group, Figures()), r, parties)
    return dict(sorted(out.items()))


def _group(by: str, c: ChildFacts) -> str:
    return groupings.group_of(by, ethnicity=c.ethnicity, sex=c.sex, date_of_birth=c.date_of_birth,
                              referred_on=c.referred_on, primary_language=c.primary_language,
                              interpreter_needed=c.interpreter_needed)
