"""The Family Therapies Board's quarterly paper: finance's own figures plus follow-up sustainability from
outcomes-svc, as typed figures, rendered by the board_paper package (HTML with inline SVG charts, or PDF)."""

from __future__ import annotations

import asyncio

from eoc_shared.clock import today
from eoc_shared.db import UnitOfWork
from eoc_shared.finyear import MIN_YEAR, label
from finance_svc import figures
from finance_svc.board_paper import BoardPaper
from finance_svc.outcomes_client import sustained
from finance_svc.settings import FinanceSettings


async def board_report_data(uow: UnitOfWork, settings: FinanceSettings, fy: int, quarter: int) -> BoardPaper:
    first = max(MIN_YEAR, fy - settings.board_report_years + 1)
    years = await figures.summaries(uow, first, fy)
    value = await figures.value_for_money(uow, fy)
    outcomes = await sustained(settings, fy)
    notes = []
    if outcomes.rates is None:
        notes.append(f"Follow-up sustainability for {label(fy)} is not available: {outcomes.problem}. "
                     "The other figures are finance's own and are complete.")
    return BoardPaper(fy=fy, quarter=quarter, years=tuple(years), programmes=tuple(value), sustained=outcomes.rates,
                      prepared_on=today(), notes=tuple(notes))


async def board_report_html(uow: UnitOfWork, settings: FinanceSettings, fy: int, quarter: int) -> str:
    data = await board_report_data(uow, settings, fy, quarter)
    from finance_svc.board_paper.html import render_html  # matplotlib on the first paper, not at start-up

    return await asyncio.to_thread(render_html, data)


async def board_report_pdf(uow: UnitOfWork, settings: FinanceSettings, fy: int, quarter: int) -> bytes:
    data = await board_report_data(uow, settings, fy, quarter)
    from finance_svc.board_paper.pdf import render_pdf  # matplotlib on the first paper, not at start-up

    return await asyncio.to_thread(render_pdf, data)
