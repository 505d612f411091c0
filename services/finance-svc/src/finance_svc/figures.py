"""The figures: a year's summary, several years for the trend, value for money, the high-cost share."""

from __future__ import annotations

from typing import Any

from eoc_shared.acting import Acting
from eoc_shared.db import UnitOfWork
from eoc_shared.finyear import label
from finance_svc.db.repositories import (
    AccessLog,
    Interventions,
    Ledger,
    Targets,
    domain_targets,
)
from finance_svc.domain import projection as rules
from finance_svc.domain.ledger import (
    YearTotals,
    summary_from_totals,
    value_rows,
)
from finance_svc.domain.money import share
from finance_svc.domain.savings import HIGH_COST_DAILY_RATE, ProgrammeValue, YearSummary
from finance_svc.year_settings import programme_costs


async def summary(uow: UnitOfWork, fy: int) -> YearSummary:
    ledger = Ledger(uow.session)
    totals = await ledger.year(fy)
    targets = domain_targets(await Targets(uow.session).get(fy))
    breakdowns = await ledger.breakdowns(fy) if totals.breakdowns else []
    return summary_from_totals(fy, totals, targets, breakdowns)


async def summaries(uow: UnitOfWork, first: int, last: int) -> list[YearSummary]:
    ledger = Ledger(uow.session)
    totals = await ledger.years(first, last)
    targets = await Targets(uow.session).of_years(first, last)
    rows = []
    for fy in range(first, last + 1):
        year = totals.get(fy, YearTotals())
        breakdowns = await ledger.breakdowns(fy) if year.breakdowns else []
        rows.append(summary_from_totals(fy, year, domain_targets(targets.get(fy)), breakdowns))
    return rows


async def value_for_money(uow: UnitOfWork, fy: int) -> list[ProgrammeValue]:
    session = uow.session
    return value_rows(await Interventions(session).activity(fy), await Ledger(session).programmes(fy),
                      await programme_costs(uow, fy))


async def high_cost(uow: UnitOfWork, fy: int, limit: int, offset: int, acting: Acting) -> dict[str, Any]:
    """The share of the year's children whose projection is £1,000 a day or more, and their projections."""
    ledger = Ledger(uow.session)
    totals = await ledger.year(fy)
    total, rows = await ledger.high_cost(fy, limit, offset)
    items = [
        {
            "child_id": projection.child_id,
            "placement_type": projection.placement_type,
            "daily_rate": projection.daily_rate,
            "annual_cost_avoided": rules.annual_cost_avoided(projection.daily_rate),
            "status": projection.status,
            "basis": projection.basis,
            "diverted": entry.diverted,
            "programme": entry.credited_programme,
        }
        for entry, projection in rows
    ]
    AccessLog(uow.session).record(acting.actor, acting.role, "projection.list_high_cost",
                                  [i["child_id"] for i in items], acting.request_id)
    return {
        "financial_year": label(fy),
        "threshold_daily_rate": HIGH_COST_DAILY_RATE,
        "children_served": totals.children_served,
        "high_cost_children": totals.high_cost_children,
        "high_cost_share": share(totals.high_cost_children, totals.children_served),
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": items,
    }
