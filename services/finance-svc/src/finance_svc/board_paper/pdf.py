"""The paper as an A4 PDF, built with fpdf2 (pure Python) and the DejaVu fonts matplotlib ships."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace
from matplotlib.figure import Figure

from finance_svc.board_paper.charts import charts, png
from finance_svc.board_paper.figures import BoardPaper
from finance_svc.board_paper.words import BOARD, TITLE, context_of

_FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


PADDING = 1.5  # mm each side of a table cell


def fitted_widths(measure: Callable[[str], float], header: Sequence[str], rows: Sequence[Sequence[str]],
                  total: float) -> list[float]:
    """Column widths in mm for a table `total` wide: each figure column as wide as its widest figure (so no
    figure ever wraps onto a second line) and its header's longest word; the first column takes the rest."""
    def fitted(whole_header: bool) -> list[float]:
        widths = []
        for column in range(1, len(header)):
            figures = [measure(row[column]) for row in rows]
            words = [measure(header[column])] if whole_header else [measure(w) for w in header[column].split()]
            widths.append(max([*figures, *words, 0.0]) + 2 * PADDING + 0.5)
        return widths

    widths = fitted(whole_header=True)  # headers on one line where the page allows
    if sum(widths) > total * 0.7:
        widths = fitted(whole_header=False)
    first = total - sum(widths)
    if first < total * 0.15:
        raise ValueError("the table's figures are too wide for the page")
    return [first, *widths]


def render_pdf(report: BoardPaper) -> bytes:
    """An A4 PDF of the same paper as the HTML."""
    context = context_of(report)

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

    def table(header: list[str], rows: list[list[str]]) -> None:
        pdf.set_font("DejaVu", "B", 8.5)  # the widest a figure can be drawn (headings are bold)
        widths = fitted_widths(pdf.get_string_width, header, rows, width)
        pdf.set_font("DejaVu", size=8.5)
        style = FontFace(emphasis="BOLD", fill_color=(226, 231, 238), color=(0, 0, 0))
        with pdf.table(col_widths=tuple(widths), width=width, line_height=5.2, headings_style=style,
                       borders_layout="HORIZONTAL_LINES", padding=(1, PADDING)) as built:
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
    table(context["summary_header"], context["summary_rows"])

    heading("3. Trend by financial year")
    table(context["trend_header"], context["trend_rows"])

    image_width = width * 0.86

    def chart(caption: str, figure: Figure) -> None:
        height = image_width * figure.get_figheight() / figure.get_figwidth()
        if pdf.will_page_break(height + 10):
            pdf.add_page()
        pdf.image(io.BytesIO(png(figure)), x=pdf.l_margin + (width - image_width) / 2, w=image_width,
                  alt_text=caption)
        pdf.set_font("DejaVu", size=8)
        pdf.set_text_color(90, 90, 90)
        pdf.multi_cell(width, 4, caption, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
        pdf.ln(3)

    figures = {name: (caption, figure) for name, caption, figure in charts(report)}
    _caption, first_figure = figures["savings"]
    if pdf.will_page_break(image_width * first_figure.get_figheight() / first_figure.get_figwidth() + 30):
        pdf.add_page()
    heading("4. Charts")
    for name in ("savings", "diverted", "success", "high_cost"):
        chart(*figures[name])

    heading("5. Sustained outcomes after follow-up")
    table(context["sustained_header"], context["sustained_rows"])
    if context["sustained_missing"]:
        missing = ", ".join(f"{m} months" for m in context["sustained_missing"])
        paragraph(f"Not available ({missing}): the outcomes service's figures could not be obtained when this paper "
                  "was produced, or no follow-up at that checkpoint has been recorded yet.")
    if "sustained" in figures:
        chart(*figures["sustained"])

    if context["programme_rows"]:
        heading("6. Value for money by programme")
        table(context["programme_header"], context["programme_rows"])

    heading("Notes on method")
    for note in context["method_notes"] + context["notes"]:
        paragraph(note, bullet=True)

    return bytes(pdf.output())
