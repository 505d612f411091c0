"""The quarterly briefing paper for the Family Therapies Board, as HTML and as PDF.

Both formats are built from one set of pre-formatted figures so the two can never disagree.
Charts are drawn on the server with matplotlib (Agg, no network), inline SVG in the HTML and
PNG in the PDF, so a board member can open the paper offline or print it. The paper holds
aggregate figures only: the board never sees a child's record.
"""

from __future__ import annotations

import importlib.util
import io
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from eoc_shared.finyear import label, year_start

from .money import format_percent, format_pounds, format_share, pct_of_target, to_decimal
from .savings import HIGH_COST_DAILY_RATE, METHOD_VERSION

TITLE = "Edge of Care programmes: quarterly briefing"
BOARD = "Family Therapies Board"
CHECKPOINTS = ("6", "12", "18")

_TEMPLATES = Path(__file__).with_name("templates")
if TYPE_CHECKING:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator


def _load_matplotlib() -> None:
    """matplotlib is imported on the first chart, not at start-up: it is a third of the platform's import time."""
    global matplotlib, FigureCanvasAgg, Figure, FuncFormatter, MaxNLocator
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator


# matplotlib's own data directory (its DejaVu fonts), found without importing it.
_FONTS = Path(importlib.util.find_spec("matplotlib").origin or "").parent / "mpl-data" / "fonts" / "ttf"  # type: ignore[union-attr]
_CHART_LOCK = threading.Lock()

NAVY = "#1f3b5c"
TEAL = "#2a8c82"
GREY = "#b8c0cc"
AMBER = "#c7802a"


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


def _long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _fy_from_label(value: str | int) -> int:
    if isinstance(value, int):
        return value
    text = str(value)
    try:
        start = int(text.split("/")[0])
    except ValueError as exc:
        raise ValueError(f"not a financial year: {value!r}") from exc
    if "/" in text and label(start) != text:
        raise ValueError(f"not a financial year: {value!r}")
    return start


def _decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else to_decimal(value)


@dataclass(frozen=True)
class YearFigures:
    """One financial year's headline figures; `from_summary` takes a `financial_summary` result as it is."""

    fy: int
    families_served: int = 0
    children_served: int = 0
    children_closed: int = 0
    children_diverted: int = 0
    success_rate: Decimal | None = None
    gross_savings_full_year_effect: Decimal = Decimal(0)
    gross_savings_in_year: Decimal = Decimal(0)
    average_annual_cost_avoided: Decimal | None = None
    high_cost_share: Decimal | None = None
    target_children_diverted: int | None = None
    target_gross_savings: Decimal | None = None
    children_diverted_pct_of_target: int | None = None
    gross_savings_pct_of_target: int | None = None
    breakdowns: int = 0

    def __post_init__(self) -> None:
        for name in ("success_rate", "high_cost_share", "average_annual_cost_avoided", "target_gross_savings"):
            object.__setattr__(self, name, _decimal_or_none(getattr(self, name)))
        for name in ("gross_savings_full_year_effect", "gross_savings_in_year"):
            object.__setattr__(self, name, to_decimal(getattr(self, name)))
        for name in ("success_rate", "high_cost_share"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise ValueError(f"{name} is a fraction from 0 to 1")
        if self.children_diverted_pct_of_target is None:
            object.__setattr__(
                self,
                "children_diverted_pct_of_target",
                pct_of_target(self.children_diverted, self.target_children_diverted),
            )
        if self.gross_savings_pct_of_target is None:
            object.__setattr__(
                self,
                "gross_savings_pct_of_target",
                pct_of_target(self.gross_savings_full_year_effect, self.target_gross_savings),
            )

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> YearFigures:
        targets = summary.get("targets") or {}
        breakdowns = summary.get("breakdowns") or []
        return cls(
            fy=_fy_from_label(summary["financial_year"]),
            families_served=summary.get("families_served", 0),
            children_served=summary.get("children_served", 0),
            children_closed=summary.get("children_closed", 0),
            children_diverted=summary.get("children_diverted", 0),
            success_rate=summary.get("success_rate"),
            gross_savings_full_year_effect=summary.get("gross_savings_full_year_effect", 0),
            gross_savings_in_year=summary.get("gross_savings_in_year", 0),
            average_annual_cost_avoided=summary.get("average_annual_cost_avoided"),
            high_cost_share=summary.get("high_cost_share"),
            target_children_diverted=targets.get("children_diverted"),
            target_gross_savings=targets.get("gross_savings"),
            children_diverted_pct_of_target=summary.get("children_diverted_pct_of_target"),
            gross_savings_pct_of_target=summary.get("gross_savings_pct_of_target"),
            breakdowns=breakdowns if isinstance(breakdowns, int) else len(breakdowns),
        )


@dataclass(frozen=True)
class ProgrammeFigures:
    """One row of value for money; `from_row` takes a `programme_value` row as it is."""

    programme: str
    children_served: int
    children_diverted: int
    gross_savings_full_year_effect: Decimal
    cost: Decimal | None = None
    net_savings: Decimal | None = None
    cost_per_successful_outcome: Decimal | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ProgrammeFigures:
        return cls(
            programme=row["programme"],
            children_served=row.get("children_served", 0),
            children_diverted=row.get("children_diverted", 0),
            gross_savings_full_year_effect=to_decimal(row.get("gross_savings_full_year_effect", 0)),
            cost=_decimal_or_none(row.get("cost")),
            net_savings=_decimal_or_none(row.get("net_savings")),
            cost_per_successful_outcome=_decimal_or_none(row.get("cost_per_successful_outcome")),
        )


@dataclass(frozen=True)
class BoardReportData:
    """Everything the paper shows. `sustained` is None, or lacks a checkpoint, when outcomes-svc was unreachable."""

    fy: int
    quarter: int
    years: tuple[YearFigures, ...]
    sustained: Mapping[str, Decimal | None] | None = None
    programmes: tuple[ProgrammeFigures, ...] = ()
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
                rate = _decimal_or_none(value)
                if rate is not None and not 0 <= rate <= 1:
                    raise ValueError(f"sustained[{key!r}] is a fraction from 0 to 1")
                cleaned[str(key)] = rate
            object.__setattr__(self, "sustained", cleaned)

    @property
    def current(self) -> YearFigures:
        return next(y for y in self.years if y.fy == self.fy)

    def sustained_rate(self, checkpoint: str) -> Decimal | None:
        return None if self.sustained is None else self.sustained.get(checkpoint)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> BoardReportData:
        """Build from plain data: `years` may hold `financial_summary` results or YearFigures fields."""
        years = []
        for year in data["years"]:
            if isinstance(year, YearFigures):
                years.append(year)
            elif "financial_year" in year:
                years.append(YearFigures.from_summary(year))
            else:
                years.append(YearFigures(**year))
        programmes = [
            p if isinstance(p, ProgrammeFigures) else ProgrammeFigures.from_row(p) for p in data.get("programmes") or ()
        ]
        prepared_on = data.get("prepared_on")
        if isinstance(prepared_on, str):
            prepared_on = date.fromisoformat(prepared_on)
        return cls(
            fy=_fy_from_label(data["fy"]),
            quarter=int(data["quarter"]),
            years=tuple(years),
            sustained=data.get("sustained"),
            programmes=tuple(programmes),
            prepared_on=prepared_on,
            organisation=data.get("organisation") or "Children's Services",
            notes=tuple(data.get("notes") or ()),
        )


def _coerce(data: BoardReportData | Mapping[str, Any]) -> BoardReportData:
    return data if isinstance(data, BoardReportData) else BoardReportData.from_mapping(data)


# --- figures as the paper words them --------------------------------------------------------


def _count(value: int | None) -> str:
    return "no target" if value is None else f"{value:,}"


def _headlines(data: BoardReportData) -> list[str]:
    year = data.current
    lines = []
    if year.target_children_diverted is None:
        lines.append(f"{year.children_diverted:,} children diverted from care so far this year (no target set).")
    else:
        lines.append(
            f"{year.children_diverted:,} children diverted from care against a target of "
            f"{year.target_children_diverted:,} ({format_percent(year.children_diverted_pct_of_target)} of target)."
        )
    if year.target_gross_savings is None:
        lines.append(
            f"Gross savings (full-year effect) of {format_pounds(year.gross_savings_full_year_effect)} (no target set)."
        )
    else:
        lines.append(
            f"Gross savings (full-year effect) of {format_pounds(year.gross_savings_full_year_effect)} against a "
            f"target of {format_pounds(year.target_gross_savings)} "
            f"({format_percent(year.gross_savings_pct_of_target)} of target); "
            f"{format_pounds(year.gross_savings_in_year)} falls in this financial year."
        )
    if year.success_rate is None:
        lines.append("No intervention started this year has closed yet, so there is no success rate.")
    else:
        lines.append(
            f"Success rate {format_share(year.success_rate)}: {year.children_diverted:,} of "
            f"{year.children_closed:,} children whose intervention closed were living at home."
        )
    six = data.sustained_rate("6")
    if six is None:
        lines.append("Sustained outcomes after follow-up: not available for this paper.")
    else:
        lines.append(
            f"{format_share(six)} of children followed up at 6 months were still at home and not re-referred."
        )
    return lines


def _summary_rows(year: YearFigures) -> list[list[str]]:
    return [
        ["Families served", f"{year.families_served:,}", "", ""],
        ["Children served", f"{year.children_served:,}", "", ""],
        ["Children whose intervention closed", f"{year.children_closed:,}", "", ""],
        [
            "Children diverted from care",
            f"{year.children_diverted:,}",
            _count(year.target_children_diverted),
            format_percent(year.children_diverted_pct_of_target, missing="-"),
        ],
        ["Success rate (diverted / closed)", format_share(year.success_rate), "", ""],
        [
            "Gross savings: full-year effect",
            format_pounds(year.gross_savings_full_year_effect),
            format_pounds(year.target_gross_savings, missing="no target"),
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
        ["Diverted children who later entered care or custody", f"{year.breakdowns:,}", "", ""],
    ]


def _trend_rows(years: Sequence[YearFigures]) -> list[list[str]]:
    return [
        [
            label(y.fy),
            f"{y.children_served:,}",
            f"{y.children_diverted:,}",
            _count(y.target_children_diverted),
            format_share(y.success_rate),
            format_pounds(y.gross_savings_full_year_effect),
            format_pounds(y.target_gross_savings, missing="no target"),
            format_percent(y.gross_savings_pct_of_target, missing="-"),
        ]
        for y in years
    ]


def _sustained_rows(data: BoardReportData) -> list[list[str]]:
    return [[f"{months} months", format_share(data.sustained_rate(months))] for months in CHECKPOINTS]


def _programme_rows(data: BoardReportData) -> list[list[str]]:
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
        "Financial years run from 1 April to 31 March. Money is shown in pounds rounded half up to the penny "
        "at the last step only.",
    ]


# --- charts ---------------------------------------------------------------------------------


def _money_axis(value: float, _pos: int) -> str:
    size = abs(value)
    if size >= 1_000_000:
        return f"£{value / 1_000_000:.1f}m"
    if size >= 1_000:
        return f"£{value / 1_000:.0f}k"
    return f"£{value:.0f}"


def _plain(value: Decimal | int | None) -> float:
    return float("nan") if value is None else float(value)


def _new_figure(width: float = 7.2, height: float = 3.4) -> tuple[Figure, Any]:
    _load_matplotlib()
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color="#e3e6ea", linewidth=0.8)
    axes.set_axisbelow(True)
    return figure, axes


def _savings_chart(years: Sequence[YearFigures]) -> Figure:
    figure, axes = _new_figure()
    positions = range(len(years))
    width = 0.27
    axes.bar([p - width for p in positions], [_plain(y.gross_savings_full_year_effect) for y in years], width,
             color=NAVY, label="Full-year effect")
    axes.bar(list(positions), [_plain(y.gross_savings_in_year) for y in years], width, color=TEAL, label="In year")
    axes.bar([p + width for p in positions], [_plain(y.target_gross_savings) for y in years], width,
             color="white", edgecolor=GREY, hatch="///", label="Target")
    axes.set_xticks(list(positions), [label(y.fy) for y in years])
    axes.yaxis.set_major_formatter(FuncFormatter(_money_axis))
    axes.set_title("Gross savings against target", loc="left", fontsize=11, fontweight="bold")
    axes.legend(frameon=False, fontsize=8, ncols=3, loc="upper left", bbox_to_anchor=(0, -0.12))
    return figure


def _diverted_chart(years: Sequence[YearFigures]) -> Figure:
    figure, axes = _new_figure()
    positions = list(range(len(years)))
    width = 0.38
    axes.bar([p - width / 2 for p in positions], [y.children_diverted for y in years], width,
             color=NAVY, label="Children diverted")
    axes.bar([p + width / 2 for p in positions], [_plain(y.target_children_diverted) for y in years], width,
             color="white", edgecolor=GREY, hatch="///", label="Target")
    for position, year in zip(positions, years, strict=True):
        if year.children_diverted_pct_of_target is not None:
            axes.annotate(f"{year.children_diverted_pct_of_target}% of target",
                          (position - width / 2, year.children_diverted), ha="center", va="bottom", fontsize=8,
                          xytext=(0, 2), textcoords="offset points")
    axes.set_xticks(positions, [label(y.fy) for y in years])
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("Children diverted from care against target", loc="left", fontsize=11, fontweight="bold")
    axes.legend(frameon=False, fontsize=8, ncols=2, loc="upper left", bbox_to_anchor=(0, -0.12))
    return figure


def _success_chart(years: Sequence[YearFigures]) -> Figure:
    figure, axes = _new_figure()
    positions = list(range(len(years)))
    heights = [0.0 if y.success_rate is None else float(y.success_rate) * 100 for y in years]
    axes.bar(positions, heights, 0.5, color=TEAL)
    for position, year, height in zip(positions, years, heights, strict=True):
        axes.annotate(format_share(year.success_rate, missing="n/a"), (position, height),
                      ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    axes.set_xticks(positions, [label(y.fy) for y in years])
    axes.set_ylim(0, 105)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}%"))
    axes.set_title("Success rate (children diverted / children closed)", loc="left", fontsize=11, fontweight="bold")
    return figure


def _high_cost_chart(years: Sequence[YearFigures]) -> Figure:
    figure, axes = _new_figure(height=2.8)
    positions = list(range(len(years)))
    heights = [0.0 if y.high_cost_share is None else float(y.high_cost_share) * 100 for y in years]
    axes.bar(positions, heights, 0.5, color=NAVY)
    for position, year, height in zip(positions, years, heights, strict=True):
        axes.annotate(format_share(year.high_cost_share, missing="n/a"), (position, height),
                      ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    axes.set_xticks(positions, [label(y.fy) for y in years])
    axes.set_ylim(0, 105)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}%"))
    axes.set_title(f"High-cost placements avoided (daily rate {format_pounds(HIGH_COST_DAILY_RATE)} or more)",
                   loc="left", fontsize=11, fontweight="bold")
    return figure


def _sustained_chart(data: BoardReportData) -> Figure | None:
    rates = [data.sustained_rate(m) for m in CHECKPOINTS]
    if all(r is None for r in rates):
        return None
    figure, axes = _new_figure(height=2.8)
    positions = list(range(len(CHECKPOINTS)))
    axes.bar(positions, [0 if r is None else float(r) * 100 for r in rates], 0.5, color=AMBER)
    for position, rate in zip(positions, rates, strict=True):
        height = 0.0 if rate is None else float(rate) * 100
        axes.annotate(format_share(rate, missing="not available"), (position, height),
                      ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    axes.set_xticks(positions, [f"{m} months" for m in CHECKPOINTS])
    axes.set_ylim(0, 105)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}%"))
    axes.set_title("Still at home at follow-up", loc="left", fontsize=11, fontweight="bold")
    return figure


def _charts(data: BoardReportData) -> list[tuple[str, str, Figure]]:
    charts = [
        ("savings", "Gross savings by financial year: full-year effect, in year, target.", _savings_chart(data.years)),
        ("diverted", "Children diverted from care by financial year, against target.", _diverted_chart(data.years)),
        ("success", "Success rate by financial year.", _success_chart(data.years)),
        ("high_cost", "Share of children served whose projected placement costs £1,000 a day or more.",
         _high_cost_chart(data.years)),
    ]
    sustained = _sustained_chart(data)
    if sustained is not None:
        charts.append(("sustained", "Share of children still at home at each follow-up checkpoint.", sustained))
    return charts


def _svg(figure: Figure, name: str, description: str) -> str:
    _load_matplotlib()
    buffer = io.StringIO()
    with _CHART_LOCK, matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"eoc-{name}"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    if "<metadata>" in text:
        text = text[: text.index("<metadata>")] + text[text.index("</metadata>") + len("</metadata>") :]
    safe = description.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return text.replace("<svg ", f'<svg role="img" aria-label="{safe}" class="chart" ', 1)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    with _CHART_LOCK:
        figure.savefig(buffer, format="png", dpi=200)
    return buffer.getvalue()


# --- HTML -----------------------------------------------------------------------------------


def _context(data: BoardReportData) -> dict[str, Any]:
    first, last = quarter_period(data.fy, data.quarter)
    sustained_missing = [m for m in CHECKPOINTS if data.sustained_rate(m) is None]
    return {
        "title": TITLE,
        "board": BOARD,
        "organisation": data.organisation,
        "year_label": label(data.fy),
        "quarter": data.quarter,
        "period": f"Quarter {data.quarter} {label(data.fy)}: {_long_date(first)} to {_long_date(last)}",
        "prepared_on": _long_date(data.prepared_on) if data.prepared_on else None,
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


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(data: BoardReportData | Mapping[str, Any]) -> str:
    """A complete, self-contained HTML document: inline CSS and SVG charts, nothing fetched."""
    report = _coerce(data)
    context = _context(report)
    context["charts"] = [
        {"name": name, "caption": caption, "svg": _svg(figure, name, caption)}
        for name, caption, figure in _charts(report)
    ]
    return _environment().get_template("board_report.html.j2").render(**context)


# --- PDF ------------------------------------------------------------------------------------


def render_pdf(data: BoardReportData | Mapping[str, Any]) -> bytes:
    """An A4 PDF of the same paper, built with fpdf2 (pure Python) and the DejaVu fonts matplotlib ships."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos
    from fpdf.fonts import FontFace

    report = _coerce(data)
    context = _context(report)

    class Paper(FPDF):
        def header(self) -> None:
            if self.page_no() == 1:
                return
            self.set_font("DejaVu", size=8)
            self.set_text_color(90, 90, 90)
            self.cell(0, 5, f"{BOARD}: {context['period']}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(2)

        def footer(self) -> None:
            self.set_y(-14)
            self.set_font("DejaVu", size=8)
            self.set_text_color(90, 90, 90)
            self.cell(0, 5, "OFFICIAL. Aggregate figures only; no personal data.", align="L")
            self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf = Paper(orientation="P", unit="mm", format="A4")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font("DejaVu", "", str(_FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(_FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"{TITLE}: {context['period']}")
    pdf.set_author(f"{report.organisation}, finance")
    if report.prepared_on:
        day = report.prepared_on
        pdf.set_creation_date(datetime(day.year, day.month, day.day, tzinfo=UTC))
    pdf.add_page()
    width = pdf.epw
    navy = (31, 59, 92)

    def heading(text: str) -> None:
        if pdf.will_page_break(20):
            pdf.add_page()
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 12)
        pdf.set_text_color(*navy)
        pdf.cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_draw_color(*navy)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
        pdf.ln(2)
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("DejaVu", size=9.5)

    def paragraph(text: str, bullet: bool = False) -> None:
        pdf.set_font("DejaVu", size=9.5)
        if bullet:
            pdf.cell(5, 5, "•")
            pdf.multi_cell(width - 5, 5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        else:
            pdf.multi_cell(width, 5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)

    def table(header: list[str], rows: list[list[str]], widths: Sequence[float]) -> None:
        pdf.set_font("DejaVu", size=8.5)
        style = FontFace(emphasis="BOLD", fill_color=(226, 231, 238), color=(0, 0, 0))
        with pdf.table(col_widths=tuple(widths), width=width, line_height=5.2, headings_style=style,
                       borders_layout="HORIZONTAL_LINES", padding=(1, 1.5)) as built:
            head = built.row()
            for index, text in enumerate(header):
                head.cell(text, align="L" if index == 0 else "R")
            for values in rows:
                row = built.row()
                for index, text in enumerate(values):
                    row.cell(text, align="L" if index == 0 else "R")
        pdf.ln(2)

    pdf.set_font("DejaVu", size=9)
    pdf.set_text_color(90, 90, 90)
    pdf.cell(0, 5, f"{report.organisation}: {BOARD}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "B", 18)
    pdf.set_text_color(*navy)
    pdf.multi_cell(width, 9, TITLE, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "B", 11)
    pdf.set_text_color(0, 0, 0)
    pdf.cell(0, 7, context["period"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", size=9)
    prepared = f"Prepared {context['prepared_on']}. " if context["prepared_on"] else ""
    pdf.cell(0, 5, f"{prepared}For information and discussion. OFFICIAL.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    heading("1. Headlines")
    for line in context["headlines"]:
        paragraph(line, bullet=True)

    heading(f"2. Summary for {context['year_label']}")
    table(context["summary_header"], context["summary_rows"], (84, 34, 30, 26))

    heading("3. Trend by financial year")
    table(context["trend_header"], context["trend_rows"], (16, 18, 17, 16, 18, 32, 28, 17))

    image_width = width * 0.86

    def chart(caption: str, figure: Figure) -> None:
        height = image_width * figure.get_figheight() / figure.get_figwidth()
        if pdf.will_page_break(height + 10):
            pdf.add_page()
        pdf.image(io.BytesIO(_png(figure)), x=pdf.l_margin + (width - image_width) / 2, w=image_width,
                  alt_text=caption)
        pdf.set_font("DejaVu", size=8)
        pdf.set_text_color(90, 90, 90)
        pdf.multi_cell(width, 4, caption, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
        pdf.ln(3)

    figures = {name: (caption, figure) for name, caption, figure in _charts(report)}
    _caption, first_figure = figures["savings"]
    if pdf.will_page_break(image_width * first_figure.get_figheight() / first_figure.get_figwidth() + 30):
        pdf.add_page()
    heading("4. Charts")
    for name in ("savings", "diverted", "success", "high_cost"):
        chart(*figures[name])

    heading("5. Sustained outcomes after follow-up")
    table(context["sustained_header"], context["sustained_rows"], (60, 60))
    if context["sustained_missing"]:
        missing = ", ".join(f"{m} months" for m in context["sustained_missing"])
        paragraph(f"Not available ({missing}): the outcomes service's figures could not be obtained when this paper "
                  "was produced, or no follow-up at that checkpoint has been recorded yet.")
    if "sustained" in figures:
        chart(*figures["sustained"])

    if context["programme_rows"]:
        heading("6. Value for money by programme")
        table(context["programme_header"], context["programme_rows"], (32, 20, 18, 30, 24, 25, 25))

    heading("Notes on method")
    for note in context["method_notes"] + context["notes"]:
        paragraph(note, bullet=True)

    return bytes(pdf.output())
