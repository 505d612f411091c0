"""The paper as one self-contained HTML document: inline CSS and SVG charts, nothing fetched."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from finance_svc.board_paper.charts import charts, svg
from finance_svc.board_paper.figures import BoardPaper
from finance_svc.board_paper.words import context_of

_TEMPLATES = Path(__file__).with_name("templates")


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(paper: BoardPaper) -> str:
    """A complete, self-contained HTML document: inline CSS and SVG charts, nothing fetched."""
    context = context_of(paper)
    context["charts"] = [
        {"name": name, "caption": caption, "svg": svg(figure, name, caption)} for name, caption, figure in charts(paper)
    ]
    return _environment().get_template("board_report.html.j2").render(**context)
