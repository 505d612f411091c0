"""The figures: a year's summary, several years for the trend, value for money, the high-cost share."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from eoc_shared.acting import Acting
from eoc_shared.db import UnitOfWork
from eoc_shared.finyear import label
from finance_svc.db.models import LedgerEntry, Projection
from finance_svc.db.repositories import (
    AccessLog,
    Interventions,
    Ledger,
    Targets,
    domain_targets,
)
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


@dataclass(frozen=True)
class HighCostPage:
    """The year's high-cost share and one page of those children's projections (with their ledger entries)."""

    fy: int
    children_served: int
    high_cost_children: int
    total: int
    limit: int
    offset: int
    rows: list[tuple[LedgerEntry, Projection]]

    @property
    def financial_year(self) -> str:
        return label(self.fy)

    @property
    def threshold_daily_rate(self) -> Decimal:
        return HIGH_COST_DAILY_RATE

    @property
    def high_cost_share(self) -> Decimal | None:
        return share(self.high_cost_children, self.children_served)


async def high_cost(uow: UnitOfWork, fy: int, limit: int, offset: int, acting: Acting) -> HighCostPage:
    """The share of the year's children whose projection is £1,000 a day or more, and their projections."""
    ledger = Ledger(uow.session)
    totals = await ledger.year(fy)
    total, rows = await ledger.high_cost(fy, limit, offset)
    AccessLog(uow.session).record(acting, "projection.list_high_cost", [projection.child_id for _entry, projection in rows])
    return HighCostPage(fy, totals.children_served, totals.high_cost_children, total, limit, offset, list(rows))
