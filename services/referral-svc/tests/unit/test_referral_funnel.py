"""The equity funnel's arithmetic: stages never widen, groups listed in order, totals and suppression."""

from __future__ import annotations

from decimal import Decimal

from referral_svc.domain.funnel import ChildJourney, funnel


def test_a_stage_counts_only_when_the_one_before_it_was_reached() -> None:
    assert ChildJourney("x", eligible=False, started=True, closed_at_home=True, at_home_12m=True).reached() == (
        True, False, False, False, False)
    assert ChildJourney("x", True, True, False, True).reached() == (True, True, True, False, False)


def test_rows_totals_and_suppression() -> None:
    journeys = [ChildJourney("A", True, True, True, i < 6) for i in range(10)] + [ChildJourney("B", False, False, False, False)] * 3
    rows, total = funnel(journeys, ["B", "Z"])
    assert [r.group for r in rows] == ["B", "Z", "A"]  # the listed groups first (empty ones too), then the rest
    a = rows[2]
    assert a.counts == {"referred": 10, "eligible": 10, "started": 10, "closed_at_home": 10, "at_home_12m": 6}
    assert a.rates["at_home_12m"] == Decimal("0.6000") and a.rates["eligible"] == Decimal("1.0000")
    assert rows[0].counts["referred"] == "<5" and rows[0].rates["eligible"] is None
    assert rows[1].counts["referred"] == 0
    assert total.counts["referred"] == 13 and total.rates["eligible"] == Decimal("0.7692")
