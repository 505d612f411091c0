"""The paper's words and tables: the figures as a board member reads them, shared by the HTML and the PDF.

Headline money is in thousands of pounds as the strategy writes it (£7,515k); pence only in the detail
tables (the year's summary, value for money). A year in which no intervention started says "no data".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from eoc_shared.finyear import label
from finance_svc.board_paper.figures import CHECKPOINTS, BoardPaper, quarter_period
from finance_svc.domain.money import format_percent, format_pounds, format_share, format_thousands
from finance_svc.domain.savings import HIGH_COST_DAILY_RATE, METHOD_VERSION, YearSummary

TITLE = "Edge of Care programmes: quarterly briefing"
BOARD = "Family Therapies Board"
NO_DATA = "no data"


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _count(value: int | None) -> str:
    return "no target" if value is None else f"{value:,}"


def _headlines(data: BoardPaper) -> list[str]:
    year = data.current
    targets = year.targets
    if not year.has_data:
        return [f"No intervention has started in {label(year.fy)} yet: there is no data for this year.",
                *_sustained_headline(data)]
    lines = []
    if targets.children_diverted is None:
        lines.append(f"{year.children_diverted:,} children diverted from care so far this year (no target set).")
    else:
        lines.append(
            f"{year.children_diverted:,} children diverted from care against a target of "
            f"{targets.children_diverted:,} ({format_percent(year.children_diverted_pct_of_target)} of target)."
        )
    if targets.gross_savings is None:
        lines.append(
            f"Gross savings (full-year effect) of {format_thousands(year.gross_savings_full_year_effect)} "
            "(no target set)."
        )
    else:
        lines.append(
            f"Gross savings (full-year effect) of {format_thousands(year.gross_savings_full_year_effect)} against "
            f"a target of {format_thousands(targets.gross_savings)} "
            f"({format_percent(year.gross_savings_pct_of_target)} of target); "
            f"{format_thousands(year.gross_savings_in_year)} falls in this financial year."
        )
    if year.success_rate is None:
        lines.append("No intervention started this year has closed yet, so there is no success rate.")
    else:
        lines.append(
            f"Success rate {format_share(year.success_rate)}: {year.children_diverted:,} of "
            f"{year.children_closed:,} children whose intervention closed were living at home."
        )
    return lines + _sustained_headline(data)


def _sustained_headline(data: BoardPaper) -> list[str]:
    six = data.sustained_rate("6")
    if six is None:
        return ["Sustained outcomes after follow-up: not available for this paper."]
    return [f"{format_share(six)} of children followed up at 6 months were still at home and not re-referred."]


def _summary_rows(year: YearSummary) -> list[list[str]]:
    """The detail table of the paper's year: to the penny."""
    if not year.has_data:
        return [["Interventions started", NO_DATA, _count(year.targets.children_diverted),
                 format_pounds(year.targets.gross_savings, missing="no target")]]
    return [
        ["Families served", f"{year.families_served:,}", "", ""],
        ["Children served", f"{year.children_served:,}", "", ""],
        ["Children whose intervention closed", f"{year.children_closed:,}", "", ""],
        [
            "Children diverted from care",
            f"{year.children_diverted:,}",
            _count(year.targets.children_diverted),
            format_percent(year.children_diverted_pct_of_target, missing="-"),
        ],
        ["Success rate (diverted / closed)", format_share(year.success_rate), "", ""],
        [
            "Gross savings: full-year effect",
            format_pounds(year.gross_savings_full_year_effect),
            format_pounds(year.targets.gross_savings, missing="no target"),
            format_percent(year.gross_savings_pct_of_target, missing="-"),
        ],
        ["Gross savings: in year", format_pounds(year.gross_savings_in_year), "", ""],
        ["Average annual cost avoided per child served", format_pounds(year.average_annual_cost_avoided), "", ""],
        [
            f"High-cost share (daily rate {format_pounds(HIGH_COST_DAILY_RATE)} or more)",
            format_share(year.high_cost_share),
            "",
            "",
        ],
        ["Diverted children who later entered care or custody", f"{len(year.breakdowns):,}", "", ""],
    ]


def _trend_rows(years: Sequence[YearSummary]) -> list[list[str]]:
    """One row a year, money in £k; a year without data says so instead of showing zeros."""
    rows = []
    for y in years:
        target_children = _count(y.targets.children_diverted)
        target_savings = format_thousands(y.targets.gross_savings, missing="no target")
        if not y.has_data:
            rows.append([label(y.fy), NO_DATA, NO_DATA, target_children, NO_DATA, NO_DATA, target_savings, "-"])
            continue
        rows.append([
            label(y.fy),
            f"{y.children_served:,}",
            f"{y.children_diverted:,}",
            target_children,
            format_share(y.success_rate),
            format_thousands(y.gross_savings_full_year_effect),
            target_savings,
            format_percent(y.gross_savings_pct_of_target, missing="-"),
        ])
    return rows


def _sustained_rows(data: BoardPaper) -> list[list[str]]:
    return [[f"{months} months", format_share(data.sustained_rate(months))] for months in CHECKPOINTS]


def _programme_rows(data: BoardPaper) -> list[list[str]]:
    """The value-for-money detail table: to the penny."""
    return [
        [
            p.programme.replace("_", " "),
            f"{p.children_served:,}",
            f"{p.children_diverted:,}",
            format_pounds(p.gross_savings_full_year_effect),
            format_pounds(p.cost, missing="not entered"),
            format_pounds(p.net_savings, missing="-"),
            format_pounds(p.cost_per_successful_outcome, missing="-"),
        ]
        for p in data.programmes
    ]


def method_notes() -> list[str]:
    """The method as the contract defines it, in words a board member can check against the figures."""
    return [
        f"Savings method version {METHOD_VERSION}. Each child has a projected placement avoided: the placement "
        "type they would most likely need without the intervention, at that year's daily rate. The annual "
        "cost avoided is the daily rate × 365.",
        "A child is diverted when the intervention that served them closes with the child living at home. "
        "The child counts in the financial year in which that intervention started, so figures for a year "
        "can still rise while its interventions close.",
        "An intervention closed because another replaced it (superseded) counts towards families and children "
        "served, but neither as closed nor as diverted; the intervention that replaced it does.",
        "Gross savings, full-year effect: the annual cost avoided summed over the children diverted in the "
        "year. Gross savings in year: each child's daily rate × the days from the intervention's start to "
        "31 March, counting both days.",
        "Success rate: children diverted ÷ children whose intervention closed. A child in two interventions "
        "is counted once. Percentages of target are whole numbers rounded half up, the savings target being "
        "measured against the full-year effect.",
        "A diverted child who later enters care or custody keeps the saving already counted, and is counted "
        "among the breakdowns.",
        "Sustained outcomes come from the outcomes service: of the children whose follow-up at that "
        "checkpoint is recorded, the share still at home and not re-referred.",
        "Financial years run from 1 April to 31 March. Money is rounded half up at the last step only: to the "
        "penny in the detail tables, to the thousand pounds (£k) in the headlines, the trend and the charts. "
        "A year in which no intervention started shows \"no data\" rather than zeros.",
    ]


def context_of(data: BoardPaper) -> dict[str, Any]:
    """The words and tables of the paper, by name, for the HTML template and the PDF alike."""
    first, last = quarter_period(data.fy, data.quarter)
    sustained_missing = [m for m in CHECKPOINTS if data.sustained_rate(m) is None]
    return {
        "title": TITLE,
        "board": BOARD,
        "organisation": data.organisation,
        "year_label": label(data.fy),
        "quarter": data.quarter,
        "period": f"Quarter {data.quarter} {label(data.fy)}: {long_date(first)} to {long_date(last)}",
        "prepared_on": long_date(data.prepared_on) if data.prepared_on else None,
        "headlines": _headlines(data),
        "summary_header": ["Measure", label(data.fy), "Target", "% of target"],
        "summary_rows": _summary_rows(data.current),
        "trend_header": [
            "Year", "Children served", "Diverted", "Target", "Success rate",
            "Savings (full-year effect)", "Savings target", "% of target",
        ],
        "trend_rows": _trend_rows(data.years),
        "sustained_header": ["Follow-up", "Still at home, not re-referred"],
        "sustained_rows": _sustained_rows(data),
        "sustained_missing": sustained_missing,
        "programme_header": [
            "Programme", "Children served", "Diverted", "Savings (full-year effect)", "Cost", "Net savings",
            "Cost per child diverted",
        ],
        "programme_rows": _programme_rows(data),
        "method_notes": method_notes(),
        "notes": list(data.notes),
    }
