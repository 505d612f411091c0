"""What the board paper shows, as typed figures: the years' summaries, value for money, sustained outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from eoc_shared.finyear import label, year_start
from finance_svc.domain.money import to_decimal
from finance_svc.domain.savings import ProgrammeValue, YearSummary

CHECKPOINTS = ("6", "12", "18")


def quarter_period(fy: int, quarter: int) -> tuple[date, date]:
    """Quarter 1 is April to June, quarter 4 is January to March of the following calendar year."""
    if quarter not in (1, 2, 3, 4):
        raise ValueError("quarter must be 1, 2, 3 or 4")
    start = year_start(fy)
    first_month = start.month + 3 * (quarter - 1)
    first = date(start.year + (first_month - 1) // 12, (first_month - 1) % 12 + 1, 1)
    after_month = first.month + 3
    after = date(first.year + (after_month - 1) // 12, (after_month - 1) % 12 + 1, 1)
    return first, date.fromordinal(after.toordinal() - 1)


@dataclass(frozen=True)
class BoardPaper:
    """Everything the paper shows. `sustained` is None, or lacks a checkpoint, when outcomes-svc was unreachable."""

    fy: int
    quarter: int
    years: tuple[YearSummary, ...]
    sustained: Mapping[str, Decimal | None] | None = None
    programmes: tuple[ProgrammeValue, ...] = ()
    prepared_on: date | None = None
    organisation: str = "Children's Services"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        quarter_period(self.fy, self.quarter)
        years = tuple(sorted(self.years, key=lambda y: y.fy))
        if len({y.fy for y in years}) != len(years):
            raise ValueError("each financial year may appear once")
        if self.fy not in {y.fy for y in years}:
            raise ValueError(f"the figures for {label(self.fy)} are missing")
        object.__setattr__(self, "years", years)
        object.__setattr__(self, "programmes", tuple(self.programmes))
        object.__setattr__(self, "notes", tuple(self.notes))
        if self.sustained is not None:
            cleaned: dict[str, Decimal | None] = {}
            for key, value in self.sustained.items():
                rate = None if value is None else to_decimal(value)
                if rate is not None and not 0 <= rate <= 1:
                    raise ValueError(f"sustained[{key!r}] is a fraction from 0 to 1")
                cleaned[str(key)] = rate
            object.__setattr__(self, "sustained", cleaned)

    @property
    def current(self) -> YearSummary:
        return next(y for y in self.years if y.fy == self.fy)

    def sustained_rate(self, checkpoint: str) -> Decimal | None:
        return None if self.sustained is None else self.sustained.get(checkpoint)
