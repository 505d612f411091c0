"""Tables as the page and its CSV show them: the same strings in both, so a suppressed figure is
suppressed everywhere. Formatting of money, shares and small numbers lives here."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from markupsafe import Markup

SUPPRESSED = "<5"
NO_DATA = "no data"
NOT_SHOWN = "not shown"


@dataclass
class Table:
    """One panel: a table, the chart drawn from it, and a note on how to read it."""

    id: str
    title: str
    headers: list[str]
    rows: list[list[str]]
    chart: Markup | None = None
    note: str = ""
    empty: str = ""  # shown instead of the table when there is nothing to show ("No data for 2019/20")
    numeric: set[int] = field(default_factory=set)  # columns aligned right

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.headers)
        writer.writerows(self.rows)
        return out.getvalue()


def count(value: Any) -> str:
    """A count as the API gave it: an int, or '<5' already suppressed."""
    if value is None:
        return NO_DATA
    if isinstance(value, str):
        return value
    return f"{int(value):,}"


def suppressed_count(n: int) -> str:
    """Official statistics' rule for counts we publish ourselves: 1–4 become '<5'."""
    return SUPPRESSED if 1 <= n < 5 else f"{n:,}"


def share(value: Any, suppressed_text: str = NO_DATA) -> str:
    if value is None:
        return suppressed_text
    pct = (Decimal(str(value)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{pct}%"


def pounds(value: Any) -> str:
    """Detail tables: pounds and pence."""
    if value is None:
        return NO_DATA
    return f"£{Decimal(str(value)):,.2f}"


def thousands(value: Any) -> str:
    """Headlines as the strategy writes them: £7,515k."""
    if value is None:
        return NO_DATA
    k = (Decimal(str(value)) / 1000).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return f"£{k:,}k"


def number(value: Any) -> float | None:
    if value is None or isinstance(value, str):
        return None
    return float(value)


def columns(*names: str) -> list[str]:
    return list(names)


def right(headers: Sequence[str], *names: str) -> set[int]:
    return {i for i, h in enumerate(headers) if h in names}
