"""The Family Therapies Board's quarterly paper, beside the domain: typed figures in, HTML or PDF out.

figures (what the paper shows) → words (the figures as the board reads them) → charts, html, pdf. The
domain knows nothing of it; matplotlib, jinja2 and fpdf are used here only. The renderers are imported
on first use, not at start-up: matplotlib is a third of the platform's import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from finance_svc.board_paper.figures import BoardPaper, quarter_period

if TYPE_CHECKING:
    from finance_svc.board_paper.html import render_html
    from finance_svc.board_paper.pdf import render_pdf

__all__ = ["BoardPaper", "quarter_period", "render_html", "render_pdf"]


def __getattr__(name: str) -> Any:
    if name == "render_html":
        from finance_svc.board_paper.html import render_html

        return render_html
    if name == "render_pdf":
        from finance_svc.board_paper.pdf import render_pdf

        return render_pdf
    raise AttributeError(name)
