"""The Family Therapies Board's quarterly paper, beside the domain: typed figures in, HTML or PDF out.

figures (what the paper shows) → words (the figures as the board reads them) → charts, html, pdf. The
domain knows nothing of it; matplotlib, jinja2 and fpdf are used here only.
"""

from finance_svc.board_paper.figures import BoardPaper, quarter_period
from finance_svc.board_paper.html import render_html
from finance_svc.board_paper.pdf import render_pdf

__all__ = ["BoardPaper", "quarter_period", "render_html", "render_pdf"]
