"""The three views, built from the public APIs with the person's own token. Each returns its panels
(tables with their charts); a role is given only the views it may read, and nothing is fetched for a
view or a panel it may not read. No panel shows a child id or any child-level detail."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from eoc_dashboard import charts
from eoc_dashboard.api import Api, Unavailable
from eoc_dashboard.charts import Bar
from eoc_dashboard.tables import (
    NO_DATA,
    NOT_SHOWN,
    Table,
    count,
    number,
    pounds,
    share,
    suppressed_count,
    thousands,
)

FIRST_YEAR = 2019
VIEWS: dict[str, frozenset[str]] = {
    "board": frozenset({"board_member", "finance_officer", "placements_officer"}),
    "equity": frozenset({"team_manager", "board_member", "ops"}),
    "operations": frozenset({"team_manager", "ops"}),
}
TITLES = {"board": "Board", "equity": "Equity", "operations": "Operations"}
GROUPINGS = {
    "ethnic_group": "Ethnic group", "ethnicity": "Ethnicity (DfE code)", "primary_language": "Language",
    "interpreter_needed": "Interpreter needed", "sex": "Sex", "age_band": "Age band",
}
STAGES = [("referred", "Referred"), ("eligible", "Eligible"), ("started", "Started"),
          ("closed_at_home", "Closed at home"), ("at_home_12m", "At home at 12 months")]


def views_for(role: str) -> list[str]:
    return [v for v, roles in VIEWS.items() if role in roles]


def fy_label(fy: int) -> str:
    return f"{fy}/{(fy + 1) % 100:02d}"


def current_fy(today: date) -> int:
    return today.year if today >= date(today.year, 4, 1) else today.year - 1


@dataclass
class Page:
    view: str
    title: str
    tables: list[Table]
    fy: int | None = None
    by: str | None = None
    links: list[tuple[str, str]] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # plain statements, e.g. what this role is not shown and who is


async def _maybe(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except Unavailable:
        return None


# --------------------------------------------------------------------------------------------- board


def _has_data(summary: dict[str, Any]) -> bool:
    return bool(summary.get("children_served") or summary.get("children_closed") or summary.get("families_served"))


async def board(api: Api, fy: int, today: date) -> Page:
    last = max(current_fy(today), fy)
    summary, trend, outcomes, survival, vfm = await asyncio.gather(
        _maybe(api.get(f"/finance/summary/{fy}")),
        _maybe(api.get("/finance/summary", **{"from": FIRST_YEAR, "to": last})),
        _maybe(api.get("/outcomes/summary", financial_year=fy)),
        _maybe(api.get("/outcomes/survival")),
        _maybe(api.get(f"/finance/value-for-money/{fy}")),
    )
    label = fy_label(fy)
    page = Page("board", f"Board: {label}", [], fy=fy)
    headers = ["Measure", label, "Target", "Of target"]
    if summary is None or not _has_data(summary):
        page.tables.append(Table("headline", f"{label} against target", headers, [], empty=f"No data for {label}."))
    else:
        t = summary["targets"] or {}
        rows = [
            ["Children diverted from care", count(summary["children_diverted"]),
             NOT_SET if t.get("children_diverted") is None else count(t["children_diverted"]),
             _pct(summary.get("children_diverted_pct_of_target"))],
            ["Gross savings (full-year effect)", thousands(summary["gross_savings_full_year_effect"]),
             NOT_SET if t.get("gross_savings") is None else thousands(t["gross_savings"]),
             _pct(summary.get("gross_savings_pct_of_target"))],
            ["Gross savings (in year)", thousands(summary["gross_savings_in_year"]), "", ""],
            ["Success rate (diverted of closed)", share(summary.get("success_rate")), "", ""],
            ["High-cost share (£1,000 a day or more)", share(summary.get("high_cost_share")), "", ""],
            ["Families served", count(summary["families_served"]), "", ""],
            ["Children served", count(summary["children_served"]), "", ""],
        ]
        chart = charts.bars("chart-headline", f"{label}: share of target reached", [
            Bar("Children diverted", summary.get("children_diverted_pct_of_target"),
                _pct(summary.get("children_diverted_pct_of_target"))),
            Bar("Gross savings", summary.get("gross_savings_pct_of_target"), _pct(summary.get("gross_savings_pct_of_target"))),
        ], colour=charts.GREEN)
        page.tables.append(Table("headline", f"{label} against target", headers, rows, chart=chart, numeric={1, 2, 3}))

    trend_headers = ["Financial year", "Children served", "Children diverted", "Success rate",
                     "Savings (full-year effect)", "Savings (in year)"]
    trend_rows, trend_bars = [], []
    for s in trend or []:
        year = s["financial_year"]
        if not _has_data(s):
            trend_rows.append([year, NO_DATA, NO_DATA, NO_DATA, NO_DATA, NO_DATA])
            trend_bars.append(Bar(year, None, NO_DATA))
            continue
        trend_rows.append([year, count(s["children_served"]), count(s["children_diverted"]), share(s.get("success_rate")),
                           thousands(s["gross_savings_full_year_effect"]), thousands(s["gross_savings_in_year"])])
        trend_bars.append(Bar(year, number(s["gross_savings_full_year_effect"]), thousands(s["gross_savings_full_year_effect"])))
    page.tables.append(Table(
        "trend", "Every year: children and savings", trend_headers, trend_rows,
        chart=charts.bars("chart-trend", "Gross savings (full-year effect) by financial year", trend_bars),
        empty="" if trend is not None else "Not available.", numeric={1, 2, 3, 4, 5},
        note="A year with no children served says “no data”, not £0.",
    ))

    if outcomes is None or not outcomes.get("children_closed"):
        page.tables.append(Table("sustainability", "Sustained at home after closure", [], [], empty=f"No data for {label}."))
    else:
        sustained = outcomes.get("sustained") or {}
        evidence = outcomes.get("evidence") or {}
        rows = [["At closure", share(outcomes.get("success_rate")), count(outcomes.get("children_closed"))]]
        rows += [[f"{m} months", share(sustained.get(m)), count((evidence.get(m) or {}).get("recorded"))]
                 for m in ("6", "12", "18")]
        chart = charts.bars("chart-sustainability", f"Children at home, closures in {label}",
                            [Bar(r[0], number(outcomes.get("success_rate")) if i == 0 else number(sustained.get(r[0].split()[0])),
                                 r[1]) for i, r in enumerate(rows)], colour=charts.GREEN)
        page.tables.append(Table("sustainability", f"Sustained at home after closure ({label} closures)",
                                 ["Checkpoint", "At home", "Children with a result"], rows, chart=chart, numeric={1, 2}))

    monthly = {m["month"]: m for m in (survival or {}).get("monthly", [])}
    points = [(str(m), monthly[m]["survival"] if m in monthly else None) for m in range(0, 61, 6)]
    if not monthly or not (survival or {}).get("children"):
        page.tables.append(Table("survival", "Staying at home: survival to 60 months", [], [], empty="No data."))
    else:
        rows = [[f"{m}", share(monthly[m]["survival"]) if m in monthly else NO_DATA,
                 count(monthly[m]["at_risk"]) if m in monthly else NO_DATA] for m in range(0, 61, 6)]
        page.tables.append(Table(
            "survival", "Staying at home: survival to 60 months", ["Months after closure", "Still at home", "Children followed"],
            rows, chart=charts.lines("chart-survival", "Share still at home, months 0 to 60 after closure", points,
                                     y_label="months after closure"),
            note="Kaplan–Meier estimate over every closure at home; care entry, custody or re-referral ends it.",
            numeric={1, 2},
        ))

    vfm_rows, vfm_bars = [], []
    for p in (vfm or {}).get("programmes", []):
        vfm_rows.append([p["programme"], count(p["children_served"]), count(p["children_diverted"]),
                         pounds(p["gross_savings_full_year_effect"]), pounds(p.get("cost")), pounds(p.get("net_savings")),
                         pounds(p.get("cost_per_successful_outcome"))])
        vfm_bars.append(Bar(p["programme"], number(p["gross_savings_full_year_effect"]), thousands(p["gross_savings_full_year_effect"])))
    has_vfm = any(r[1] != "0" for r in vfm_rows)
    page.tables.append(Table(
        "value-for-money", f"Value for money by programme, {label}",
        ["Programme", "Children served", "Children diverted", "Savings (full-year effect)", "Cost", "Net savings",
         "Cost per successful outcome"], vfm_rows if has_vfm else [],
        chart=charts.bars("chart-vfm", f"Savings by programme, {label}", vfm_bars) if has_vfm else None,
        empty="" if has_vfm else f"No data for {label}.", numeric={1, 2, 3, 4, 5, 6},
    ))
    for q in (1, 2, 3, 4):
        page.links.append((f"/board/paper/{fy}/q/{q}", f"Quarter {q} briefing paper, {label} (HTML)"))
        page.links.append((f"/board/paper/{fy}/q/{q}?format=pdf", f"Quarter {q} briefing paper, {label} (PDF)"))
    return page


NOT_SET = "no target set"


def _pct(value: Any) -> str:
    return "" if value is None else f"{value}%"


# --------------------------------------------------------------------------------------------- equity


async def equity(api: Api, fy: int, by: str) -> Page:
    report, rejections = await asyncio.gather(
        _maybe(api.get("/referrals/reports/equity", financial_year=fy, by=by)),
        _maybe(api.get("/eligibility/report", financial_year=fy)),
    )
    label = fy_label(fy)
    page = Page("equity", f"Equity: {label}", [], fy=fy, by=by)
    if report is None:
        page.unavailable.append("the equity funnel")
    elif report["total"]["referred"] == 0:
        page.tables.append(Table("funnel", f"Children through the service, {label}", [], [], empty=f"No data for {label}."))
    else:
        total = report["total"]
        rows = [[name, count(total[key]), "" if i == 0 else share(total["rates"][key], NOT_SHOWN)]
                for i, (key, name) in enumerate(STAGES)]
        chart = charts.funnel("chart-funnel", f"Children through the service, {label}",
                              [Bar(name, number(total[key]), count(total[key])) for key, name in STAGES])
        page.tables.append(Table("funnel", f"Children through the service, {label}", ["Stage", "Children", "Of the stage before"],
                                 rows, chart=chart, numeric={1, 2},
                                 note="Counts of 1 to 4 are shown as “<5”; a rate over fewer than 10 children is “not shown”."))
        headers = [GROUPINGS[by]]
        for i, (_key, name) in enumerate(STAGES):
            headers.append(name)
            if i:
                headers.append(f"{name} (rate)")
        group_rows = []
        for g in report["groups"]:
            row = [g["group"]]
            for i, (key, _name) in enumerate(STAGES):
                row.append(count(g[key]))
                if i:
                    row.append(share(g["rates"][key], NOT_SHOWN))
            group_rows.append(row)
        chart = charts.bars("chart-groups", f"Children referred by {GROUPINGS[by].lower()}, {label}",
                            [Bar(g["group"], number(g["referred"]), count(g["referred"])) for g in report["groups"]])
        page.tables.append(Table("groups", f"Each stage by {GROUPINGS[by].lower()}, {label}", headers, group_rows,
                                 chart=chart, numeric=set(range(1, len(headers))),
                                 note="Each rate is the stage over the stage before it. Counts of 1 to 4 are shown as "
                                      "“<5”; a rate over fewer than 10 children is “not shown”."))
    if rejections is None:
        page.unavailable.append("the eligibility rejection report")
    elif not rejections.get("referrals_decided"):
        page.tables.append(Table("rejections", f"Families no intensive programme could take, {label}", [], [],
                                 empty=f"No data for {label}."))
    else:
        none = rejections["no_intensive_programme"]
        reasons = sorted(none.get("reasons", {}).items(), key=lambda kv: (-kv[1], kv[0]))
        rows = [["All reasons", suppressed_count(none["referrals"]),
                 share(none.get("share")) if rejections["referrals_decided"] >= 10 else NOT_SHOWN]]
        rows += [[reason, suppressed_count(n), ""] for reason, n in reasons]
        reasons_chart = charts.bars("chart-rejections", f"Referrals no intensive programme could take, by reason, {label}",
                            [Bar(r, n if n >= 5 else None, suppressed_count(n)) for r, n in reasons],
                            colour=charts.DARK_BLUE) if reasons else None
        page.tables.append(Table(
            "rejections", f"Families no intensive programme could take, {label}", ["Reason", "Referrals", "Of referrals decided"],
            rows, chart=reasons_chart, numeric={1, 2},
            note=f"Referrals decided in {label}: {suppressed_count(rejections['referrals_decided'])}. A referral counts once "
                 "per reason; a share over fewer than 10 referrals is not shown.",
        ))
    return page


# --------------------------------------------------------------------------------------------- operations


async def operations(api: Api, role: str) -> Page:
    pulse, followups = await asyncio.gather(
        _maybe(api.get("/referrals/reports/operations")),
        _maybe(api.get("/outcomes/reports/followups")),
    )
    page = Page("operations", "Operations: today", [])
    if pulse is None:
        page.unavailable.append("the referral timers and waiting lists")
    else:
        share_text = share(pulse.get("share_within_10_days"))
        rows = [
            ["Consent overdue (over 14 days unsigned)", count(pulse["consent_overdue"])],
            ["Consent overdue and escalated", count(pulse["consent_escalated"])],
            ["Assessments due (not yet decided, in time)", count(pulse["assessments_due"])],
            ["Assessments breached (over 10 working days)", count(pulse["assessments_breached"])],
            ["Assessments breached and escalated", count(pulse["assessments_escalated"])],
            [f"Decided within 10 working days, {pulse['financial_year']}",
             f"{share_text} ({pulse['decided_within_10_days']:,} of {pulse['decided_in_year']:,})"],
        ]
        chart = charts.bars("chart-timers", "Consent and assessment timers today", [
            Bar("Consent overdue", pulse["consent_overdue"], count(pulse["consent_overdue"])),
            Bar("Consent escalated", pulse["consent_escalated"], count(pulse["consent_escalated"])),
            Bar("Assessments due", pulse["assessments_due"], count(pulse["assessments_due"])),
            Bar("Assessments breached", pulse["assessments_breached"], count(pulse["assessments_breached"])),
        ], colour=charts.DARK_BLUE)
        page.tables.append(Table("timers", f"Consent and assessments, as of {pulse['as_of']}", ["Measure", "Referrals"],
                                 rows, chart=chart, numeric={1}))
        rows = [[q["programme"], "no limit" if q["capacity"] is None else count(q["capacity"]), count(q["active_families"]),
                 count(q["waiting"]), "" if q["longest_wait_days"] is None else f"{q['longest_wait_days']} days",
                 "" if q["median_wait_days"] is None else f"{q['median_wait_days']} days"] for q in pulse["queues"]]
        chart = charts.bars("chart-waiting", "Families waiting per programme",
                            [Bar(q["programme"], q["waiting"], count(q["waiting"])) for q in pulse["queues"]])
        page.tables.append(Table("waiting", "Waiting list per programme", ["Programme", "Capacity (families)", "Active families",
                                 "Waiting", "Longest wait", "Median wait"], rows, chart=chart, numeric={1, 2, 3, 4, 5}))
        review = pulse.get("feed_review") or {}
        rows = [[source, count(n)] for source, n in review.items()]
        page.tables.append(Table("feed-review", "Partner feed events waiting for review", ["Source", "Events"], rows,
                                 chart=charts.bars("chart-feed-review", "Partner feed events waiting for review",
                                                   [Bar(s, n, count(n)) for s, n in review.items()]) if rows else None,
                                 empty="" if rows else "Nothing waiting for review.", numeric={1}))
    if followups is None:
        page.unavailable.append("follow-ups due and overdue")
    else:
        rows = [[p["programme"], count(p["due"]), count(p["overdue"]), p["oldest_overdue_due_on"] or ""]
                for p in followups["programmes"]]
        page.tables.append(Table(
            "followups", f"Follow-ups without a result, as of {followups['as_of']}",
            ["Programme", "Due", "Overdue (28 days past due)", "Oldest overdue, due on"], rows,
            chart=charts.bars("chart-followups", "Follow-ups overdue per programme",
                              [Bar(p["programme"], p["overdue"], count(p["overdue"])) for p in followups["programmes"]])
            if rows else None,
            empty="" if rows else "No follow-up is due or overdue.", numeric={1, 2},
        ))
    if role in DEAD_LETTER_ROLES:
        await _dead_letters(api, page)
    else:
        page.notes.append("Dead letters (events a service could not process) are visible to operations staff.")
    return page


#: the services whose ops-only dead-letter API the operations view reads, by path prefix
DLQ_SERVICES = (("referral", "/referrals"), ("eligibility", "/eligibility"), ("outcomes", "/outcomes"),
                ("finance", "/finance"))
DEAD_LETTER_ROLES = frozenset({"ops"})  # `GET /{prefix}/dlq` needs the ops scope: nobody else's token is sent
_DLQ_PAGE = 1000


async def _parked(api: Api, prefix: str) -> list[dict[str, Any]]:
    """Every dead letter still parked at one service, page by page (the API gives at most 1,000 at a time)."""
    rows: list[dict[str, Any]] = []
    while True:
        batch = await api.get(f"{prefix}/dlq", status="parked", limit=_DLQ_PAGE, offset=len(rows))
        rows.extend(batch)
        if len(batch) < _DLQ_PAGE:
            return rows


def _age(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size or unit == "second":
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    raise AssertionError("unreachable")


async def _dead_letters(api: Api, page: Page) -> None:
    """Counts of parked messages per topic and consumer; the reasons stay in `eoc dlq list`."""
    answers = await asyncio.gather(*(_maybe(_parked(api, prefix)) for _service, prefix in DLQ_SERVICES))
    missing = [service for (service, _prefix), rows in zip(DLQ_SERVICES, answers, strict=True) if rows is None]
    if len(missing) == len(DLQ_SERVICES):
        page.unavailable.append("dead-letter counts per topic and consumer")
        return
    if missing:
        page.unavailable.append(f"dead letters parked at {', '.join(missing)} (its dead-letter API did not answer)")
    parked: dict[tuple[str, str], list[int]] = {}
    for rows in answers:
        for row in rows or []:
            parked.setdefault((row["topic"], row["consumer"]), []).append(int(row["age_seconds"]))
    keys = sorted(parked)
    per_topic: dict[str, int] = {}
    for topic, consumer in keys:
        per_topic[topic] = per_topic.get(topic, 0) + len(parked[topic, consumer])
    rows_shown = [[topic, consumer, count(len(parked[topic, consumer])), _age(max(parked[topic, consumer]))]
                  for topic, consumer in keys]
    page.tables.append(Table(
        "dead-letters", "Dead letters parked, per topic and consumer", ["Topic", "Consumer", "Parked", "Oldest parked"],
        rows_shown,
        chart=charts.bars("chart-dead-letters", "Dead letters parked per topic",
                          [Bar(topic, n, count(n)) for topic, n in per_topic.items()], colour=charts.DARK_BLUE)
        if keys else None,
        empty="" if keys else "No dead letters parked.", numeric={2},
        note="A parked message waits for its cause to be fixed; “eoc dlq list” shows why, “eoc dlq replay” sends it "
             "back to its consumer (docs/operations.md, “Dead letters”).",
    ))
