"""What a board member sees of breakdowns: counts per month and living situation, no child id."""

from __future__ import annotations

import uuid
from datetime import date

from finance_svc.domain.breakdown_counts import BreakdownCount, breakdown_counts


def test_breakdowns_are_counted_per_month_and_living_situation_in_month_order() -> None:
    a, b, c = (uuid.uuid4() for _ in range(3))
    rows = [
        {"child_id": a, "date": date(2025, 2, 3), "living_situation": "in_care"},
        {"child_id": b, "date": date(2025, 2, 28), "living_situation": "in_care"},
        {"child_id": c, "date": date(2025, 2, 10), "living_situation": "custody"},
        {"child_id": a, "date": date(2024, 11, 1), "living_situation": "in_care"},
        {"child_id": a, "date": date(2025, 2, 3), "living_situation": "in_care"},  # the same child twice: once
    ]
    assert breakdown_counts(rows) == [
        BreakdownCount("2024-11", "in_care", 1),
        BreakdownCount("2025-02", "custody", 1),
        BreakdownCount("2025-02", "in_care", 2),
    ]


def test_no_breakdowns_no_rows() -> None:
    assert breakdown_counts([]) == []
