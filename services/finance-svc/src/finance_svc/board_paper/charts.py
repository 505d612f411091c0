"""The paper's charts, drawn on the server with matplotlib (Agg, no network): SVG for the HTML, PNG for the PDF."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from eoc_shared.finyear import label
from finance_svc.board_paper.figures import CHECKPOINTS, BoardPaper
from finance_svc.domain.money import format_pounds, format_share
from finance_svc.domain.savings import HIGH_COST_DAILY_RATE, YearSummary

_CHART_LOCK = threading.Lock()

NAVY = "#1f3b5c"
TEAL = "#2a8c82"
GREY = "#b8c0cc"
AMBER = "#c7802a"
NO_DATA = "no data"


def _money_axis(value: float, _pos: int) -> str:
    size = abs(value)
    if size >= 1_000_000:
        return f"£{value / 1_000_000:.1f}m"
    if size >= 1_000:
        return f"£{value / 1_000:.0f}k"
    return f"£{value:.0f}"


def _plain(value: Decimal | int | None) -> float:
    return float("nan") if value is None else float(value)


def _figure(year: YearSummary, value: Decimal | int | None) -> float:
    """A year's bar: none at all for a year without data (not a bar of zero)."""
    return _plain(value) if year.has_data else float("nan")


def _mark_no_data(axes: Any, years: Sequence[YearSummary]) -> None:
    for position, year in enumerate(years):
        if not year.has_data:
            axes.annotate(NO_DATA, (position, 0), ha="center", va="bottom", fontsize=8, color="#5a6270",
                          xytext=(0, 2), textcoords="offset points")


def _new_figure(width: float = 7.2, height: float = 3.4) -> tuple[Figure, Any]:
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color="#e3e6ea", linewidth=0.8)
    axes.set_axisbelow(True)
    return figure, axes


def _savings_chart(years: Sequence[YearSummary]) -> Figure:
    figure, axes = _new_figure()
    positions = range(len(years))
    width = 0.27
    axes.bar([p - width for p in positions], [_figure(y, y.gross_savings_full_year_effect) for y in years], width,
             color=NAVY, label="Full-year effect")
    axes.bar(list(positions), [_figure(y, y.gross_savings_in_year) for y in years], width, color=TEAL,
             label="In year")
    axes.bar([p + width for p in positions], [_plain(y.targets.gross_savings) for y in years], width,
             color="white", edgecolor=GREY, hatch="///", label="Target")
    _mark_no_data(axes, years)
    axes.set_xticks(list(positions), [label(y.fy) for y in years])
    axes.yaxis.set_major_formatter(FuncFormatter(_money_axis))
    axes.set_title("Gross savings against target", loc="left", fontsize=11, fontweight="bold")
    axes.legend(frameon=False, fontsize=8, ncols=3, loc="upper left", bbox_to_anchor=(0, -0.12))
    return figure


def _diverted_chart(years: Sequence[YearSummary]) -> Figure:
    figure, axes = _new_figure()
    positions = list(range(len(years)))
    width = 0.38
    axes.bar([p - width / 2 for p in positions], [_figure(y, y.children_diverted) for y in years], width,
             color=NAVY, label="Children diverted")
    axes.bar([p + width / 2 for p in positions], [_plain(y.targets.children_diverted) for y in years], width,
             color="white", edgecolor=GREY, hatch="///", label="Target")
    _mark_no_data(axes, years)
    for position, year in zip(positions, years, strict=True):
        if year.has_data and year.children_diverted_pct_of_target is not None:
            axes.annotate(f"{year.children_diverted_pct_of_target}% of target",
                          (position - width / 2, year.children_diverted), ha="center", va="bottom", fontsize=8,
                          xytext=(0, 2), textcoords="offset points")
    axes.set_xticks(positions, [label(y.fy) for y in years])
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("Children diverted from care against target", loc="left", fontsize=11, fontweight="bold")
    axes.legend(frameon=False, fontsize=8, ncols=2, loc="upper left", bbox_to_anchor=(0, -0.12))
    return figure


def _share_chart(years: Sequence[YearSummary], shares: Sequence[Decimal | None], title: str, colour: str,
                 height: float = 3.4) -> Figure:
    """A share (0–1) per year as percentage bars, each labelled; "no data" for a year without any."""
    figure, axes = _new_figure(height=height)
    positions = list(range(len(years)))
    heights = [0.0 if share is None else float(share) * 100 for share in shares]
    axes.bar(positions, heights, 0.5, color=colour)
    for position, year, share, bar in zip(positions, years, shares, heights, strict=True):
        axes.annotate(format_share(share, missing="n/a" if year.has_data else NO_DATA), (position, bar),
                      ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    axes.set_xticks(positions, [label(y.fy) for y in years])
    axes.set_ylim(0, 105)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}%"))
    axes.set_title(title, loc="left", fontsize=11, fontweight="bold")
    return figure


def _success_chart(years: Sequence[YearSummary]) -> Figure:
    return _share_chart(years, [y.success_rate for y in years], "Success rate (children diverted / children closed)",
                        TEAL)


def _high_cost_chart(years: Sequence[YearSummary]) -> Figure:
    return _share_chart(years, [y.high_cost_share for y in years],
                        f"High-cost placements avoided (daily rate {format_pounds(HIGH_COST_DAILY_RATE)} or more)",
                        NAVY, height=2.8)


def _sustained_chart(data: BoardPaper) -> Figure | None:
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


def charts(data: BoardPaper) -> list[tuple[str, str, Figure]]:
    """(name, caption, figure) of each chart the paper shows."""
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


def svg(figure: Figure, name: str, description: str) -> str:
    buffer = io.StringIO()
    with _CHART_LOCK, matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"eoc-{name}"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    if "<metadata>" in text:
        text = text[: text.index("<metadata>")] + text[text.index("</metadata>") + len("</metadata>") :]
    safe = description.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return text.replace("<svg ", f'<svg role="img" aria-label="{safe}" class="chart" ', 1)


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    with _CHART_LOCK:
        figure.savefig(buffer, format="png", dpi=200)
    return buffer.getvalue()
