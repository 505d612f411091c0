"""The Family Therapies Board paper: the figures a board member reads, in HTML and in PDF."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from finance_svc.domain.board_report import (
    BoardReportData,
    ProgrammeFigures,
    YearFigures,
    quarter_period,
    render_html,
    render_pdf,
)

D = Decimal


def summary(fy_label: str, **figures: object) -> dict[str, object]:
    base: dict[str, object] = {
        "financial_year": fy_label,
        "families_served": 0,
        "children_served": 0,
        "children_closed": 0,
        "children_diverted": 0,
        "success_rate": None,
        "gross_savings_full_year_effect": D("0.00"),
        "gross_savings_in_year": D("0.00"),
        "average_annual_cost_avoided": None,
        "high_cost_share": None,
        "targets": {"children_diverted": None, "gross_savings": None},
        "children_diverted_pct_of_target": None,
        "gross_savings_pct_of_target": None,
        "breakdowns": [],
    }
    base.update(figures)
    return base


def paper(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "fy": 2023,
        "quarter": 2,
        "prepared_on": "2023-10-12",
        "years": [
            summary("2022/23", families_served=9, children_served=12, children_closed=10, children_diverted=7,
                    success_rate=D("0.7000"), gross_savings_full_year_effect=D("812345.67"),
                    gross_savings_in_year=D("402000.10"), high_cost_share=D("0.2500"),
                    targets={"children_diverted": 10, "gross_savings": D("900000.00")},
                    children_diverted_pct_of_target=70, gross_savings_pct_of_target=90),
            summary("2023/24", families_served=4, children_served=6, children_closed=5, children_diverted=4,
                    success_rate=D("0.8000"), gross_savings_full_year_effect=D("1197200.00"),
                    gross_savings_in_year=D("692841.51"), average_annual_cost_avoided=D("215965.03"),
                    high_cost_share=D("0.3333"),
                    targets={"children_diverted": 32, "gross_savings": D("1500000.00")},
                    children_diverted_pct_of_target=13, gross_savings_pct_of_target=80,
                    breakdowns=[{"child_id": "C5", "date": date(2024, 8, 29), "living_situation": "custody"}]),
        ],
        "sustained": {"6": D("0.8125"), "12": D("0.6667"), "18": None},
        "programmes": [
            {"programme": "FFT_CW", "children_served": 1, "children_diverted": 1,
             "gross_savings_full_year_effect": D("29203.65"), "cost": D("80000.00"), "net_savings": D("-50796.35"),
             "cost_per_successful_outcome": D("80000.00")},
        ],
    }
    data.update(overrides)
    return data


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
        "£1,197,200.00",
        "£1,500,000.00",
        "£692,841.51",
        "£215,965.03",
        "£812,345.67",
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


def test_plain_dataclasses_work_as_well_as_dicts() -> None:
    data = BoardReportData(
        fy=2024,
        quarter=1,
        years=(YearFigures(fy=2024, children_diverted=3, target_children_diverted=8,
                           gross_savings_full_year_effect=D("100.005"), target_gross_savings=D("200")),),
        programmes=(ProgrammeFigures("MST", 3, 3, D("100.00")),),
    )
    assert data.current.children_diverted_pct_of_target == 38
    assert data.current.gross_savings_pct_of_target == 50
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
    assert render_pdf(paper(sustained=None, programmes=[])).startswith(b"%PDF")


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
