"""Server-rendered SVG charts: bars, lines and a funnel. Each is an image with a title and a text
description (its table sits beside it on the page); suppressed or missing values draw nothing and say so.

Colours are GOV.UK's, each at least 3:1 against white (WCAG 2.2 non-text contrast); labels are text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from markupsafe import Markup

BLUE = "#1d70b8"
DARK_BLUE = "#003078"
GREEN = "#00703c"
TEXT = "#0b0c0c"
GREY = "#505a5f"
WIDTH = 640
Number = int | float | Decimal


@dataclass(frozen=True)
class Bar:
    label: str
    value: Number | None  # None: suppressed or no data; no bar is drawn
    shown: str  # the figure as printed beside the bar ("<5", "no data", "£1,234k")


def _frame(chart_id: str, title: str, description: str, height: int, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="eoc-chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="GDS Transport, arial, sans-serif" font-size="14">'
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-d">{escape(description)}</desc>'
        + "".join(body) + "</svg>"
    )


def bars(chart_id: str, title: str, items: Sequence[Bar], colour: str = BLUE) -> Markup:
    """Horizontal bars, one per item, scaled to the largest value."""
    top = max((float(b.value) for b in items if b.value is not None), default=0.0)
    row, label_w, value_w = 30, 190, 90
    span = WIDTH - label_w - value_w - 10
    body = []
    for i, b in enumerate(items):
        y = 10 + i * row
        body.append(f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" fill="{TEXT}">{escape(b.label)}</text>')
        length = 0.0 if b.value is None or top <= 0 else max(float(b.value), 0.0) / top * span
        if length > 0:
            body.append(f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" fill="{colour}"/>')
        body.append(f'<text x="{label_w + length + 6:.1f}" y="{y + 17}" fill="{TEXT}">{escape(b.shown)}</text>')
    description = "; ".join(f"{b.label}: {b.shown}" for b in items) or "no data"
    return _frame(chart_id, title, description, 20 + row * max(len(items), 1), body)


def funnel(chart_id: str, title: str, stages: Sequence[Bar]) -> Markup:
    """Centred bars narrowing stage by stage, each labelled with its count."""
    top = max((float(b.value) for b in stages if b.value is not None), default=0.0)
    row, label_w = 44, 200
    span = WIDTH - label_w - 20
    body = []
    for i, b in enumerate(stages):
        y = 10 + i * row
        width = 0.0 if b.value is None or top <= 0 else max(float(b.value), 0.0) / top * span
        x = label_w + (span - width) / 2
        body.append(f'<text x="{label_w - 8}" y="{y + 24}" text-anchor="end" fill="{TEXT}">{escape(b.label)}</text>')
        if width > 0:
            body.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{width:.1f}" height="{row - 10}" fill="{DARK_BLUE}"/>')
            body.append(f'<text x="{label_w + span / 2:.1f}" y="{y + 25}" text-anchor="middle" fill="#ffffff" '
                        f'font-weight="bold">{escape(b.shown)}</text>' if width > 60 else
                        f'<text x="{x + width + 6:.1f}" y="{y + 25}" fill="{TEXT}">{escape(b.shown)}</text>')
        else:
            body.append(f'<text x="{label_w + span / 2:.1f}" y="{y + 25}" text-anchor="middle" fill="{TEXT}">'
                        f'{escape(b.shown)}</text>')
    description = "; ".join(f"{b.label}: {b.shown}" for b in stages) or "no data"
    return _frame(chart_id, title, description, 20 + row * max(len(stages), 1), body)


def lines(chart_id: str, title: str, points: Sequence[tuple[str, Number | None]], y_max: float = 1.0,
          y_label: str = "", percent: bool = True) -> Markup:
    """One line over labelled x positions; a gap where a value is missing. Values from 0 to `y_max`."""
    left, right, top_pad, height = 60, 20, 15, 240
    plot_h = height - top_pad - 40
    n = max(len(points), 1)
    step = (WIDTH - left - right) / max(n - 1, 1)
    body = [f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{WIDTH - right}" y2="{top_pad + plot_h}" stroke="{GREY}"/>',
            f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}" stroke="{GREY}"/>']
    for frac in (0.0, 0.5, 1.0):
        y = top_pad + plot_h - frac * plot_h
        tick = f"{frac * y_max:.0%}" if percent else f"{frac * y_max:,.0f}"
        body.append(f'<text x="{left - 6}" y="{y + 5:.1f}" text-anchor="end" fill="{TEXT}">{escape(tick)}</text>')
    path: list[str] = []
    every = max(1, n // 8)
    for i, (label, value) in enumerate(points):
        x = left + i * step
        if i % every == 0 or i == n - 1:
            body.append(f'<text x="{x:.1f}" y="{top_pad + plot_h + 20}" text-anchor="middle" fill="{TEXT}">{escape(label)}</text>')
        if value is None:
            if len(path) > 1:
                body.append(f'<polyline points="{" ".join(path)}" fill="none" stroke="{BLUE}" stroke-width="3"/>')
            path = []
            continue
        y = top_pad + plot_h - min(float(value), y_max) / y_max * plot_h if y_max else top_pad + plot_h
        path.append(f"{x:.1f},{y:.1f}")
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{BLUE}"/>')
    if len(path) > 1:
        body.append(f'<polyline points="{" ".join(path)}" fill="none" stroke="{BLUE}" stroke-width="3"/>')
    if y_label:
        body.append(f'<text x="{left}" y="{height - 2}" fill="{TEXT}">{escape(y_label)}</text>')
    shown = [f"{label}: {'no data' if v is None else (f'{float(v):.0%}' if percent else f'{float(v):,.0f}')}"
             for label, v in points]
    return _frame(chart_id, title, "; ".join(shown) or "no data", height, body)
