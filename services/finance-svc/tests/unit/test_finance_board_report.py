"""The Family Therapies Board paper: the figures a board member reads, in HTML and in PDF."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from finance_svc.board_paper import BoardPaper, quarter_period, render_html, render_pdf
from finance_svc.board_paper.pdf import fitted_widths
from finance_svc.domain.savings import Breakdown, ProgrammeValue, Targets, YearSummary

D = Decimal


def summary(fy: int, **figures: object) -> YearSummary:
    base: dict[str, object] = {
        "fy": fy, "families_served": 0, "children_served": 0, "children_closed": 0, "children_diverted": 0,
        "success_rate": None, "gross_savings_full_year_effect": D("0.00"), "gross_savings_in_year": D("0.00"),
        "average_annual_cost_avoided": None, "high_cost_share": None, "targets": Targets(),
        "children_diverted_pct_of_target": None, "gross_savings_pct_of_target": None, "breakdowns": (),
    }
    base.update(figures)
    return YearSummary(**base)  # type: ignore[arg-type]


def paper(**overrides: object) -> BoardPaper:
    data: dict[str, object] = {
        "fy": 2023,
        "quarter": 2,
        "prepared_on": date(2023, 10, 12),
        "years": (
            summary(2019),
            summary(2022, families_served=9, children_served=12, children_closed=10, children_diverted=7,
                    success_rate=D("0.7000"), gross_savings_full_year_effect=D("812345.67"),
                    gross_savings_in_year=D("402000.10"), high_cost_share=D("0.2500"),
                    targets=Targets(10, D("900000.00")),
                    children_diverted_pct_of_target=70, gross_savings_pct_of_target=90),
            summary(2023, families_served=4, children_served=6, children_closed=5, children_diverted=4,
                    success_rate=D("0.8000"), gross_savings_full_year_effect=D("1197200.00"),
                    gross_savings_in_year=D("692841.51"), average_annual_cost_avoided=D("215965.03"),
                    high_cost_share=D("0.3333"), targets=Targets(32, D("1500000.00")),
                    children_diverted_pct_of_target=13, gross_savings_pct_of_target=80,
                    breakdowns=(Breakdown("C5", date(2024, 8, 29), "custody"),)),
        ),
        "sustained": {"6": D("0.8125"), "12": D("0.6667"), "18": None},
        "programmes": (
            ProgrammeValue("FFT_CW", 1, 1, 1, D("29203.65"), D("1000.00"), D("80000.00"), D("-50796.35"),
                           D("80000.00")),
            ProgrammeValue("FFT_REUNIFICATION", 3, 4, 2, D("9999999.99"), D("1000.00"), D("1234567.89"),
                           D("8765432.10"), D("617283.95")),
        ),
    }
    data.update(overrides)
    return BoardPaper(**data)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("quarter", "first", "last"),
    [
        (1, date(2023, 4, 1), date(2023, 6, 30)),
        (2, date(2023, 7, 1), date(2023, 9, 30)),
        (3, date(2023, 10, 1), date(2023, 12, 31)),
        (4, date(2024, 1, 1), date(2024, 3, 31)),
    ],
)
def test_quarters_follow_the_financial_year(quarter: int, first: date, last: date) -> None:
    assert quarter_period(2023, quarter) == (first, last)


def test_there_is_no_fifth_quarter() -> None:
    with pytest.raises(ValueError):
        quarter_period(2023, 5)
    with pytest.raises(ValueError):
        render_html(paper(quarter=0))


def test_html_is_a_complete_document_with_the_figures_and_inline_charts() -> None:
    html = render_html(paper())
    assert html.startswith("<!DOCTYPE html>")
    assert html.rstrip().endswith("</html>")
    for text in [
        "Family Therapies Board",
        "Quarter 2 2023/24: 1 July 2023 to 30 September 2023",
        "Prepared 12 October 2023",
        "£1,197,200.00",  # the year's summary: a detail table, to the penny
        "£1,500,000.00",
        "£692,841.51",
        "£215,965.03",
        "£812k",  # the trend: thousands
        "£900k",
        "80.0%",
        "70.0%",
        "33.3%",
        "13%",
        "80%",
        "81.3%",
        "66.7%",
        "-£50,796.35",
        "FFT CW",
        "Notes on method",
        "365",
        "superseded",
    ]:
        assert text in html, text
    assert html.count("<svg") >= 4
    assert "<?xml" not in html
    assert 'role="img"' in html
    for fetch in ('src="http', "href=\"http", "url(http", "<script", "<link", "@import"):
        assert fetch not in html, fetch


def test_headline_money_is_in_thousands_as_the_strategy_writes_it() -> None:
    html = render_html(paper())
    headlines = html[html.index("1. Headlines"):html.index("2. Summary")]
    assert "Gross savings (full-year effect) of £1,197k against a target of £1,500k (80% of target); £693k falls" \
        in headlines
    assert ".00" not in headlines and ".51" not in headlines


def test_a_year_without_data_says_so_instead_of_zeros() -> None:
    html = render_html(paper())
    trend = html[html.index("3. Trend by financial year"):html.index("</table>", html.index("3. Trend"))]
    row = trend[trend.index("2019/20"):trend.index("</tr>", trend.index("2019/20"))]
    assert row.count("no data") == 4 and "no target" in row
    assert "£0" not in row and ">0<" not in row
    empty = render_html(paper(fy=2019, years=(summary(2019, targets=Targets(5, D("1000"))),)))
    assert "No intervention has started in 2019/20 yet: there is no data for this year." in empty
    assert "0 children diverted" not in empty


def test_unreachable_outcomes_show_not_available() -> None:
    html = render_html(paper(sustained=None))
    assert html.count("not available") >= 3
    assert "Still at home at follow-up" not in html
    partial = render_html(paper(sustained={"6": 0.5}))
    assert "50.0%" in partial
    assert "Not available (12 months, 18 months)" in partial


def test_text_is_escaped() -> None:
    html = render_html(paper(organisation="Smith & <Jones> Borough"))
    assert "Smith &amp; &lt;Jones&gt; Borough" in html
    assert "<Jones>" not in html


def test_a_programme_without_a_cost_says_not_entered() -> None:
    data = paper(fy=2024, quarter=1, years=(summary(2024, families_served=2, children_served=3, children_diverted=3,
                                                   gross_savings_full_year_effect=D("100.01")),),
                 programmes=(ProgrammeValue("MST", 2, 3, 3, D("100.01"), D("50.00"), None, None, None),))
    html = render_html(data)
    assert "£100.01" in html
    assert "Quarter 1 2024/25: 1 April 2024 to 30 June 2024" in html
    assert "not entered" in html


def test_the_current_year_must_be_among_the_figures() -> None:
    with pytest.raises(ValueError, match="2025/26"):
        render_html(paper(fy=2025))
    with pytest.raises(ValueError):
        render_html(paper(sustained={"6": 1.5}))


def test_pdf_is_a_pdf() -> None:
    pdf = render_pdf(paper())
    assert pdf.startswith(b"%PDF")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert len(pdf) > 10_000


def test_pdf_without_outcomes_or_programmes() -> None:
    assert render_pdf(paper(sustained=None, programmes=())).startswith(b"%PDF")


def test_no_figure_in_a_pdf_table_is_wider_than_its_column() -> None:
    """The value-for-money cost column used to wrap its last digit onto a second line."""
    import fpdf

    pdf = fpdf.FPDF()
    pdf.add_font("DejaVu", "B", str(Path(__import__("matplotlib").get_data_path()) / "fonts/ttf/DejaVuSans-Bold.ttf"))
    pdf.set_font("DejaVu", "B", 8.5)
    header = ["Programme", "Children served", "Diverted", "Savings (full-year effect)", "Cost", "Net savings",
              "Cost per child diverted"]
    rows = [["FFT REUNIFICATION", "4", "2", "£9,999,999.99", "£1,234,567.89", "-£8,765,432.10", "£617,283.95"]]
    widths = fitted_widths(pdf.get_string_width, header, rows, 174)
    assert abs(sum(widths) - 174) < 1e-9
    for column, width in enumerate(widths[1:], start=1):
        assert pdf.get_string_width(rows[0][column]) + 3 <= width, (header[column], width)


def test_pdf_first_page_renders_to_a_picture_that_is_not_blank(tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (Debian package poppler-utils) is not on PATH, so the PDF cannot be rasterised here")
    image_module = pytest.importorskip("PIL.Image", reason="Pillow is needed to read the rendered page")
    stat_module = pytest.importorskip("PIL.ImageStat")
    source = tmp_path / "paper.pdf"
    source.write_bytes(render_pdf(paper()))
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", str(source),
                    str(tmp_path / "page")], check=True, timeout=60)
    with image_module.open(tmp_path / "page.png") as page:
        grey = page.convert("L")
        variance = stat_module.Stat(grey).var[0]
        dark = sum(grey.histogram()[:128])
    assert variance > 100, variance
    assert dark > 500, dark
