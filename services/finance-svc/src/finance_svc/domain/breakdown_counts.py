"""What a board member sees of breakdowns (contract v1.1): counts per month and living situation,
never a child id. Pure: the caller decides who sees which view."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class BreakdownCount:
    month: str  # "YYYY-MM" of the date the child was seen in care or custody
    living_situation: str
    children: int


def breakdown_counts(breakdowns: Iterable[Mapping[str, Any]]) -> list[BreakdownCount]:
    """One row per (month, living_situation) that has any breakdown, in month order; each child once per row."""
    seen: dict[tuple[str, str], set[str]] = {}
    for b in breakdowns:
        day: date = b["date"]
        seen.setdefault((f"{day.year:04d}-{day.month:02d}", b["living_situation"]), set()).add(str(b["child_id"]))
    counts = Counter({key: len(children) for key, children in seen.items()})
    return [BreakdownCount(month, situation, n) for (month, situation), n in sorted(counts.items())]
