"""finance-svc over HTTP on PostgreSQL with the real broker, started once for this module.

Referrals, interventions and follow-ups arrive as real events on the broker; what the service publishes
is read back from the broker. Other suites' services publish to the same broker, so these tests work in
financial years nobody else uses (2031/32 and its neighbours) and check figures to the penny.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from eoc_shared.broker import free_port
from eoc_shared.events.bus import producer_for
from eoc_shared.events.envelope import build_envelope
from eoc_shared.events.schemas import (
    ChildFacts,
    ChildOutcome,
    FollowupRecorded,
    InterventionClosed,
    InterventionStarted,
    ReferralCreated,
)
from eoc_shared.testing import harness
from eoc_shared.testing.fixtures import eventually, service_settings
from eoc_shared.testing.harness import assert_problem
from finance_svc.api.schemas import SummaryOut
from finance_svc.app import create_app
from finance_svc.db.models import (
    AccessEntry,
    LedgerEntry,
    LedgerFamily,
    LedgerProgramme,
    LedgerYear,
    Projection,
    ProjectionVersion,
    Rate,
    Target,
)
from finance_svc.settings import FinanceSettings

FY = 2031
D = Decimal


@dataclass
class Svc:
    client: httpx.AsyncClient
    app: Any
    producer: AIOKafkaProducer
    probe: Any
    auth: Any

    async def count(self, model: Any, *where: Any) -> int:
        async with self.app.state.runtime.db.sessions() as s:
            return int((await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one())

    async def send(self, topic: str, key: uuid.UUID, data: Any, event_id: str | None = None) -> dict[str, Any]:
        env = build_envelope(topic, key=str(key), data=data, source="urn:eoc:test")
        wire = {k: v for k, v in env.items() if not k.startswith("_")}
        if event_id is not None:
            wire["id"] = event_id
        await self.producer.send_and_wait(topic, json.dumps(wire).encode(), key=str(key).encode())
        return wire

    async def get(self, path: str, role: str = "finance_officer", **params: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.auth(role), params=params)

    async def put(self, path: str, body: Any, role: str = "finance_officer") -> httpx.Response:
        return await self.client.put(path, json=body, headers=self.auth(role))

    async def projection(self, child_id: uuid.UUID, **expected: Any) -> dict[str, Any]:
        async def ready() -> dict[str, Any] | None:
            r = await self.get(f"/finance/children/{child_id}/projection")
            if r.status_code != 200:
                return None
            body = r.json()
            return body if all(body.get(k) == v for k, v in expected.items()) else None

        return await eventually(ready, timeout=30, interval=0.05)

    async def summary_when(self, fy: int, **expected: Any) -> dict[str, Any]:
        async def ready() -> dict[str, Any] | None:
            body = (await self.get(f"/finance/summary/{fy}")).json()
            return body if all(body.get(k) == v for k, v in expected.items()) else None

        return await eventually(ready, timeout=30, interval=0.05)

    async def ledger_snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every ledger row, without the timestamps of when it was written."""
        async with self.app.state.runtime.db.sessions() as s:
            snapshot = {}
            for model, order in ((LedgerEntry, (LedgerEntry.fy, LedgerEntry.child_id)),
                                 (LedgerFamily, (LedgerFamily.fy, LedgerFamily.family_id)),
                                 (LedgerYear, (LedgerYear.fy,)),
                                 (LedgerProgramme, (LedgerProgramme.fy, LedgerProgramme.programme))):
                columns = [c for c in model.__table__.columns if c.name != "updated_at"]
                rows = (await s.execute(select(*columns).order_by(*order))).all()
                snapshot[model.__tablename__] = [tuple(r) for r in rows]
            return snapshot


@pytest.fixture(scope="module")
async def svc(databases: Any, broker: Any, data_dir: Any, auth: Any) -> AsyncIterator[Svc]:
    url = await databases.create("finance")
    settings = service_settings(FinanceSettings, database_url=url, broker=broker, data_dir=data_dir,
                                outcomes_url=f"http://127.0.0.1:{free_port()}", outcomes_timeout_seconds=1.0)
    app = create_app(settings)
    async with harness.started(app, bootstrap=broker.bootstrap, topics=["projection.updated"]) as s, \
            AsyncExitStack() as stack:
        client, probe = s.client, s.probe
        producer = producer_for(broker.bootstrap)
        await producer.start()
        stack.push_async_callback(producer.stop)
        yield Svc(client, app, producer, probe, auth)


# ----------------------------------------------------------------------------------------------- the case book

FAMILY_A, FAMILY_B = uuid.uuid4(), uuid.uuid4()
REF_A, REF_B = uuid.uuid4(), uuid.uuid4()
A1, A2, A3, B1 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
IA, IB1, IB2 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def referral(ref: uuid.UUID, family: uuid.UUID, referred_on: date, factors: list[str],
             children: list[ChildFacts]) -> ReferralCreated:
    return ReferralCreated(referral_id=ref, family_id=family, referred_on=referred_on, source="social_worker",
                           risk_factors=factors, threshold_for_removal_met=True, children=children)


def started(i: uuid.UUID, ref: uuid.UUID, family: uuid.UUID, children: list[uuid.UUID], programme: str,
            on: date) -> InterventionStarted:
    return InterventionStarted(intervention_id=i, referral_id=ref, family_id=family, child_ids=children,
                               programme=programme, started_on=on, expected_end_on=date(on.year + 1, 1, 1))


def closed(i: uuid.UUID, ref: uuid.UUID, family: uuid.UUID, programme: str, on: date, off: date, reason: str,
           outcomes: dict[uuid.UUID, str]) -> InterventionClosed:
    return InterventionClosed(intervention_id=i, referral_id=ref, family_id=family, child_ids=list(outcomes),
                              programme=programme, started_on=on, closed_on=off, reason=reason,
                              child_outcomes=[ChildOutcome(child_id=c, living_situation=s) for c, s in outcomes.items()])


# ----------------------------------------------------------------------------------------------- roles


async def test_rates_targets_and_costs_are_written_by_finance_officers_and_ops_only(svc: Svc) -> None:
    card = [{"placement_type": "K2", "daily_rate": 1200.00}, {"placement_type": "K1", "daily_rate": 1000},
            {"placement_type": "U6", "daily_rate": 150.0}]
    for role in ("placements_officer", "board_member", "team_manager", "social_worker", "partner_feed"):
        headers = svc.auth(role, source="police" if role == "partner_feed" else None)
        r = await svc.client.put(f"/finance/rates/{FY}", json=card, headers=headers)
        assert_problem(r, 403)
        r = await svc.client.put(f"/finance/targets/{FY}", json={"children_diverted": 1, "gross_savings": 1},
                                 headers=headers)
        assert_problem(r, 403)
    assert await svc.count(Rate, Rate.fy == FY) == 0
    r = await svc.put(f"/finance/rates/{FY}", card, role="ops")
    assert r.status_code == 200, r.text
    r = await svc.put(f"/finance/rates/{FY}", card)
    assert r.status_code == 200, r.text
    assert r.json()["financial_year"] == "2031/32"
    assert r.json()["rates"] == [{"placement_type": "K1", "daily_rate": 1000.0},
                                 {"placement_type": "K2", "daily_rate": 1200.0},
                                 {"placement_type": "U6", "daily_rate": 150.0}]
    r = await svc.put(f"/finance/targets/{FY}", {"children_diverted": 4, "gross_savings": 1_000_000})
    assert r.status_code == 200, r.text
    assert r.json() == {"financial_year": "2031/32", "children_diverted": 4, "gross_savings": 1000000.0}


async def test_figures_are_read_by_finance_placements_board_and_ops_and_nobody_else(svc: Svc) -> None:
    for role in ("finance_officer", "placements_officer", "board_member", "ops"):
        assert (await svc.get(f"/finance/summary/{FY}", role=role)).status_code == 200
        assert (await svc.get("/finance/summary", role=role, **{"from": FY, "to": FY})).status_code == 200
        assert (await svc.get(f"/finance/value-for-money/{FY}", role=role)).status_code == 200
    for role in ("team_manager", "social_worker", "practitioner"):
        assert_problem(await svc.get(f"/finance/summary/{FY}", role=role), 403)
        assert_problem(await svc.get(f"/finance/board-report/{FY}/q/1", role=role), 403)
        assert_problem(await svc.get(f"/finance/rates/{FY}", role=role), 403)
    # board members read aggregates only: never a child's projection, the high-cost list or the rate card
    assert_problem(await svc.get(f"/finance/children/{uuid.uuid4()}/projection", role="board_member"), 403)
    assert_problem(await svc.get(f"/finance/high-cost/{FY}", role="board_member"), 403)
    assert_problem(await svc.get(f"/finance/rates/{FY}", role="board_member"), 403)


# ----------------------------------------------------------------------------------------------- bad input


async def test_bad_rates_are_refused_naming_the_field_and_nothing_is_stored(svc: Svc) -> None:
    before = (await svc.get(f"/finance/rates/{FY}")).json()
    cases = [
        ([{"placement_type": "K2", "daily_rate": -1}], "0.daily_rate"),
        ([{"placement_type": "K2", "daily_rate": "1200"}], "0.daily_rate"),
        ([{"placement_type": "K2", "daily_rate": "abc"}], "0.daily_rate"),
        ([{"placement_type": "K2", "daily_rate": True}], "0.daily_rate"),
        ([{"placement_type": "K2", "daily_rate": 12.345}], "0.daily_rate"),
        ([{"placement_type": "U6", "daily_rate": 1}, {"placement_type": "Z9", "daily_rate": 1}], "1.placement_type"),
        ([{"placement_type": "K2", "daily_rate": 1, "extra": 1}], "0.extra"),
        ([{"placement_type": "K2", "daily_rate": 1}, {"placement_type": "K2", "daily_rate": 2}], "1.placement_type"),
    ]
    for body, field in cases:
        assert_problem(await svc.put(f"/finance/rates/{FY}", body), 422, field)
    assert_problem(await svc.put(f"/finance/rates/{FY}", []), 422)
    assert_problem(await svc.put("/finance/rates/1999", [{"placement_type": "K2", "daily_rate": 1}]), 422, "fy")
    assert_problem(await svc.put("/finance/rates/2101", [{"placement_type": "K2", "daily_rate": 1}]), 422, "fy")
    assert_problem(await svc.put("/finance/rates/next", [{"placement_type": "K2", "daily_rate": 1}]), 422, "fy")
    assert (await svc.get(f"/finance/rates/{FY}")).json() == before
    assert await svc.count(Rate, Rate.fy.in_([1999, 2101])) == 0

    assert_problem(await svc.put(f"/finance/targets/{FY}", {"children_diverted": -1, "gross_savings": 5}), 422,
                   "children_diverted")
    assert_problem(await svc.put(f"/finance/targets/{FY}", {"children_diverted": 1.5, "gross_savings": 5}), 422,
                   "children_diverted")
    assert_problem(await svc.put(f"/finance/targets/{FY}", {"children_diverted": 1, "gross_savings": "x"}), 422,
                   "gross_savings")
    assert (await svc.get(f"/finance/targets/{FY}")).json()["children_diverted"] == 4
    assert_problem(await svc.put(f"/finance/programme-costs/{FY}", [{"programme": "NOPE", "cost": 1}]), 422,
                   "0.programme")
    assert_problem(await svc.get(f"/finance/board-report/{FY}/q/5"), 422, "quarter")
    assert_problem(await svc.get(f"/finance/board-report/{FY}/q/0"), 422, "quarter")
    assert_problem(await svc.get("/finance/summary/1999"), 422, "fy")
    assert_problem(await svc.get("/finance/summary", **{"from": 2023, "to": 2020}), 422, "from")
    assert_problem(await svc.get("/finance/summary", **{"from": 1990, "to": 2020}), 422, "from")


async def test_a_projection_for_an_unknown_child_is_404_and_nothing_is_stored(svc: Svc) -> None:
    stranger = uuid.uuid4()
    body = {"placement_type": "K2", "basis": "panel review", "verified_by": "J Smith"}
    assert_problem(await svc.put(f"/finance/children/{stranger}/projection", body, role="placements_officer"), 404,
                   "child_id")
    assert_problem(await svc.get(f"/finance/children/{stranger}/projection"), 404, "child_id")
    assert_problem(await svc.put("/finance/children/not-a-uuid/projection", body, role="placements_officer"), 422,
                   "child_id")
    assert await svc.count(Projection, Projection.child_id == stranger) == 0
    assert await svc.count(ProjectionVersion, ProjectionVersion.child_id == stranger) == 0


# ----------------------------------------------------------------------------------------------- the journey


async def test_a_referral_proposes_a_projection_for_every_child_by_default_rule_v1(svc: Svc) -> None:
    await svc.send("referral.created", REF_A, referral(REF_A, FAMILY_A, date(2031, 5, 1), ["behaviour"], [
        ChildFacts(child_id=A1, age_years=14, legal_status="CPP"),
        ChildFacts(child_id=A2, age_years=9, legal_status="LAC", placement_type="K1"),
        ChildFacts(child_id=A3, age_years=5, legal_status="NONE"),
    ]))
    await svc.send("referral.created", REF_B, referral(REF_B, FAMILY_B, date(2031, 7, 1), ["neglect"], [
        ChildFacts(child_id=B1, age_years=8, legal_status="CIN"),
    ]))
    a1 = await svc.projection(A1)
    assert {k: a1[k] for k in ("child_id", "placement_type", "daily_rate", "annual_cost_avoided", "status")} == {
        "child_id": str(A1), "placement_type": "K2", "daily_rate": 1200.0, "annual_cost_avoided": 438000.0,
        "status": "proposed"}
    assert a1["basis"] == "default rule v1: older_child_behaviour_offending_exploitation"
    a2 = await svc.projection(A2)
    assert (a2["placement_type"], a2["daily_rate"], a2["annual_cost_avoided"]) == ("K1", 1000.0, 365000.0)
    a3 = await svc.projection(A3)
    assert (a3["placement_type"], a3["daily_rate"], a3["status"]) == ("U6", 150.0, "proposed")
    b1 = await svc.projection(B1)
    assert (b1["placement_type"], b1["daily_rate"], b1["financial_year"]) == ("U6", 150.0, "2031/32")

    [published] = await svc.probe.wait_for(
        "projection.updated", lambda m: isinstance(m, dict) and m["data"]["child_id"] == str(A1), timeout=20)
    assert published["data"]["placement_type"] == "K2"
    assert Decimal(str(published["data"]["annual_cost_avoided"])) == D("438000")
    assert published["data"]["status"] == "proposed"


async def test_the_placements_team_verifies_and_every_version_is_kept(svc: Svc) -> None:
    body = {"placement_type": "R1", "daily_rate": 333.33, "basis": "residential panel 12 June", "verified_by": "P Officer"}
    assert_problem(await svc.put(f"/finance/children/{A3}/projection", body, role="finance_officer"), 403)
    assert_problem(await svc.put(f"/finance/children/{A3}/projection", {**body, "daily_rate": -5},
                                 role="placements_officer"), 422, "daily_rate")
    assert_problem(await svc.put(f"/finance/children/{A3}/projection", {**body, "placement_type": "XX"},
                                 role="placements_officer"), 422, "placement_type")
    # no 2031/32 rate for R1 and none given: refused, naming the field
    assert_problem(await svc.put(f"/finance/children/{A3}/projection", {**body, "daily_rate": None},
                                 role="placements_officer"), 422, "daily_rate")
    assert (await svc.projection(A3))["status"] == "proposed"

    r = await svc.put(f"/finance/children/{A3}/projection", body, role="placements_officer")
    assert r.status_code == 200, r.text
    got = r.json()
    assert {k: got[k] for k in ("child_id", "placement_type", "daily_rate", "annual_cost_avoided", "status")} == {
        "child_id": str(A3), "placement_type": "R1", "daily_rate": 333.33, "annual_cost_avoided": 121665.45,
        "status": "verified"}
    assert got["changed_by"] == "P Officer"
    # without a daily rate the year's rate for the type applies
    r = await svc.put(f"/finance/children/{B1}/projection",
                      {"placement_type": "U6", "basis": "confirmed at panel", "verified_by": "P Officer"},
                      role="placements_officer")
    assert r.status_code == 200, r.text
    assert (r.json()["daily_rate"], r.json()["status"]) == (150.0, "verified")

    history = (await svc.get(f"/finance/children/{A3}/projection/history", role="placements_officer")).json()
    assert [v["version"] for v in history] == [1, 2]
    assert history[0]["before"] is None and history[0]["after"]["placement_type"] == "U6"
    assert history[1]["before"]["placement_type"] == "U6" and history[1]["before"]["status"] == "proposed"
    assert history[1]["after"] == {"placement_type": "R1", "daily_rate": "333.33", "status": "verified",
                                   "basis": "residential panel 12 June"}
    assert history[1]["changed_by"] == "P Officer" and history[1]["basis"] == "residential panel 12 June"
    assert await svc.count(AccessEntry, AccessEntry.child_id == A3) >= 2


async def test_savings_method_v1_to_the_penny(svc: Svc) -> None:
    # Family A: MST from 1 June 2031 to 1 December 2031; A1 and A2 stay at home, A3 goes into care.
    await svc.send("intervention.started", IA, started(IA, REF_A, FAMILY_A, [A1, A2, A3], "MST", date(2031, 6, 1)))
    await svc.send("intervention.closed", IA, closed(IA, REF_A, FAMILY_A, "MST", date(2031, 6, 1), date(2031, 12, 1),
                                                     "completed", {A1: "at_home", A2: "at_home", A3: "in_care"}))
    # Family B: FGC superseded by MST_BSF from 1 September 2031 (closed 1 February 2032, at home). The
    # closure arrives before the start: order must not matter.
    await svc.send("intervention.started", IB1, started(IB1, REF_B, FAMILY_B, [B1], "FGC", date(2031, 8, 1)))
    await svc.send("intervention.closed", IB1, closed(IB1, REF_B, FAMILY_B, "FGC", date(2031, 8, 1), date(2031, 9, 1),
                                                      "superseded", {B1: "at_home"}))
    await svc.send("intervention.closed", IB2, closed(IB2, REF_B, FAMILY_B, "MST_BSF", date(2031, 9, 1),
                                                      date(2032, 2, 1), "completed", {B1: "at_home"}))
    await svc.send("intervention.started", IB2, started(IB2, REF_B, FAMILY_B, [B1], "MST_BSF", date(2031, 9, 1)))

    got = await svc.summary_when(FY, children_diverted=3, children_closed=4, families_served=2)
    # in year: 1 June 2031 to 31 March 2032 is 305 days (2032 is a leap year); 1 September is 213 days.
    assert got == {
        "financial_year": "2031/32",
        "families_served": 2,
        "children_served": 4,
        "children_closed": 4,
        "children_diverted": 3,
        "success_rate": 0.75,
        "gross_savings_full_year_effect": 857750.0,  # 1200×365 + 1000×365 + 150×365
        "gross_savings_in_year": 702950.0,  # 1200×305 + 1000×305 + 150×213
        "average_annual_cost_avoided": 244853.86,  # (438000 + 365000 + 121665.45 + 54750) / 4 = 244853.8625
        "high_cost_share": 0.5,
        "targets": {"children_diverted": 4, "gross_savings": 1000000.0},
        "children_diverted_pct_of_target": 75,
        "gross_savings_pct_of_target": 86,  # 85.775
        "breakdowns": [],
    }

    # A1 enters care after closure: the saving stands, the child is listed under breakdowns.
    await svc.send("followup.recorded", A1, FollowupRecorded(
        followup_id=uuid.uuid4(), child_id=A1, intervention_id=IA, checkpoint_months=6, living_situation="in_care",
        re_referred=False, observed_on=date(2032, 6, 1)))
    got = await svc.summary_when(FY, breakdowns=[{"child_id": str(A1), "date": "2032-06-01",
                                                  "living_situation": "in_care"}])
    assert got["gross_savings_full_year_effect"] == 857750.0 and got["children_diverted"] == 3

    rows = (await svc.get("/finance/summary", **{"from": FY - 1, "to": FY + 1})).json()
    assert [r["financial_year"] for r in rows] == ["2030/31", "2031/32", "2032/33"]
    assert rows[1] == got
    assert rows[0]["children_served"] == 0 and rows[0]["success_rate"] is None


async def test_a_redelivered_event_changes_nothing(svc: Svc) -> None:
    before = await svc.ledger_snapshot()
    event_id = str(uuid.uuid4())
    late = closed(IA, REF_A, FAMILY_A, "MST", date(2031, 6, 1), date(2031, 12, 1), "completed",
                  {A1: "at_home", A2: "at_home", A3: "in_care"})
    await svc.send("intervention.closed", IA, late, event_id=event_id)
    await svc.send("intervention.closed", IA, late, event_id=event_id)
    marker = uuid.uuid4()  # an unrelated event after them: once it is handled, theirs are too
    await svc.send("followup.recorded", marker, FollowupRecorded(child_id=marker, living_situation="at_home",
                                                                 re_referred=False, observed_on=date(2020, 1, 1)))
    from finance_svc.db.models import FollowupFact

    await eventually(lambda: svc.count(FollowupFact, FollowupFact.child_id == marker), timeout=30)
    assert await svc.ledger_snapshot() == before


async def test_value_for_money_per_programme(svc: Svc) -> None:
    r = await svc.put(f"/finance/programme-costs/{FY}", [{"programme": "MST", "cost": 300000},
                                                         {"programme": "MST_BSF", "cost": 60000.5}])
    assert r.status_code == 200, r.text
    assert_problem(await svc.put(f"/finance/programme-costs/{FY}", [{"programme": "MST", "cost": -1}],
                                 role="ops"), 422, "0.cost")
    rows = {p["programme"]: p for p in (await svc.get(f"/finance/value-for-money/{FY}", role="board_member")).json()[
        "programmes"]}
    assert rows["MST"] == {
        "programme": "MST", "families_served": 1, "children_served": 3, "children_diverted": 2,
        "gross_savings_full_year_effect": 803000.0, "gross_savings_in_year": 671000.0, "cost": 300000.0,
        "net_savings": 503000.0, "cost_per_successful_outcome": 150000.0}
    assert rows["MST_BSF"]["net_savings"] == -5250.5 and rows["MST_BSF"]["cost_per_successful_outcome"] == 60000.5
    assert rows["FGC"]["children_diverted"] == 0 and rows["FGC"]["cost"] is None
    assert rows["FGC"]["net_savings"] is None


async def test_high_cost_placements_share_and_list(svc: Svc) -> None:
    body = (await svc.get(f"/finance/high-cost/{FY}", role="placements_officer")).json()
    assert (body["high_cost_children"], body["children_served"], body["high_cost_share"]) == (2, 4, 0.5)
    assert [(i["child_id"], i["daily_rate"]) for i in body["items"]] == [(str(A1), 1200.0), (str(A2), 1000.0)]
    assert body["items"][0]["diverted"] is True and body["items"][0]["programme"] == "MST"
    assert (await svc.get(f"/finance/high-cost/{FY}", limit=1, offset=1)).json()["items"][0]["child_id"] == str(A2)


async def test_rebuilding_the_ledger_from_events_equals_what_was_built_incrementally(svc: Svc) -> None:
    incremental = await svc.ledger_snapshot()
    assert len([r for r in incremental["ledger_entries"] if r[0] == FY]) >= 4
    summary = (await svc.get(f"/finance/summary/{FY}")).json()
    assert_problem(await svc.client.post("/finance/ledger/rebuild", headers=svc.auth("finance_officer")), 403)
    r = await svc.client.post("/finance/ledger/rebuild", headers=svc.auth("ops"))
    assert r.status_code == 200, r.text
    assert r.json()["children"] >= 4
    assert await svc.ledger_snapshot() == incremental
    assert (await svc.get(f"/finance/summary/{FY}")).json() == summary


async def test_a_new_rate_card_moves_proposed_projections_but_not_verified_ones(svc: Svc) -> None:
    card = [{"placement_type": "K2", "daily_rate": 1300}, {"placement_type": "K1", "daily_rate": 1000},
            {"placement_type": "U6", "daily_rate": 160}]
    r = await svc.put(f"/finance/rates/{FY}", card)
    assert r.status_code == 200, r.text
    assert r.json()["projections_updated"] == 1  # A1 (proposed K2); B1 and A3 are verified, A2's rate is unchanged
    assert (await svc.projection(A1))["daily_rate"] == 1300.0
    assert (await svc.projection(B1))["daily_rate"] == 150.0
    got = (await svc.get(f"/finance/summary/{FY}")).json()
    assert got["gross_savings_full_year_effect"] == 894250.0  # 1300×365 + 1000×365 + 150×365
    assert got["gross_savings_in_year"] == 733450.0  # 1300×305 + 1000×305 + 150×213
    incremental = await svc.ledger_snapshot()
    assert (await svc.client.post("/finance/ledger/rebuild", headers=svc.auth("ops"))).status_code == 200
    assert await svc.ledger_snapshot() == incremental


# ----------------------------------------------------------------------------------------------- the board paper


async def test_board_paper_html_says_when_outcomes_are_not_available(svc: Svc) -> None:
    r = await svc.get(f"/finance/board-report/{FY}/q/2", role="board_member")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "Quarter 2 2031/32" in html
    assert "<svg" in html
    assert "£894,250.00" in html
    assert "not available" in html.lower()
    assert "outcomes-svc could not be reached" in html
    assert str(A1) not in html  # aggregates only


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
async def test_board_paper_pdf_renders_to_a_page_that_is_not_blank(svc: Svc, tmp_path: Path) -> None:
    from PIL import Image, ImageStat

    r = await svc.get(f"/finance/board-report/{FY}/q/2", role="board_member", format="pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    source = tmp_path / "paper.pdf"
    source.write_bytes(r.content)
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", str(source),
                    str(tmp_path / "page")], check=True, timeout=60)
    with Image.open(tmp_path / "page.png") as page:
        grey = page.convert("L")
        variance = ImageStat.Stat(grey).var[0]
        dark = sum(grey.histogram()[:128])
    assert variance > 100, variance
    assert dark > 500, dark
    assert_problem(await svc.get(f"/finance/board-report/{FY}/q/2", format="docx"), 422, "format")


async def test_targets_are_stored_once_per_year(svc: Svc) -> None:
    assert await svc.count(Target, Target.fy == FY) == 1


async def test_the_placement_rule_is_data_and_a_new_version_applies_to_new_referrals(svc: Svc) -> None:
    current = (await svc.get("/finance/placement-rules", role="placements_officer")).json()
    assert current["version"] == 1
    assert [r["name"] for r in current["rules"]] == [
        "looked_after_keeps_placement", "older_child_behaviour_offending_exploitation", "any_other_child"]
    v2 = {"rules": [
        {"name": "looked_after_keeps_placement", "placement_type": None, "legal_statuses": ["LAC"]},
        {"name": "exploited_child_secure", "placement_type": "K1", "min_age_years": 13,
         "any_risk_factors": ["exploitation"], "description": "Exploitation at 13 or over: secure children's home."},
        {"name": "any_other_child", "placement_type": "U6"},
    ]}
    assert_problem(await svc.put("/finance/placement-rules", v2, role="placements_officer"), 403)
    assert_problem(await svc.put("/finance/placement-rules", {"rules": v2["rules"][:2]}), 422, "rules")
    assert_problem(await svc.put("/finance/placement-rules", {"rules": [
        {"name": "x", "placement_type": "U6", "any_risk_factors": ["astrology"]}]}), 422, "rules.0.any_risk_factors.0")
    assert (await svc.get("/finance/placement-rules")).json()["version"] == 1
    r = await svc.put("/finance/placement-rules", v2)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2

    ref, family, child = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await svc.send("referral.created", ref, referral(ref, family, date(2031, 10, 1), ["exploitation"], [
        ChildFacts(child_id=child, age_years=15, legal_status="CPP")]))
    got = await svc.projection(child)
    assert (got["placement_type"], got["daily_rate"], got["basis"]) == ("K1", 1000.0,
                                                                        "default rule v2: exploited_child_secure")
    assert (await svc.projection(A1))["basis"].startswith("default rule v1")  # earlier proposals keep theirs


async def test_random_events_in_any_order_give_savings_method_v1_and_rebuild_gives_the_same_ledger(svc: Svc) -> None:
    """Forty families' events, shuffled and sent at once on every topic: the summary equals savings method v1
    computed from the same facts in one go, and a rebuild reproduces the ledger row for row."""
    import random

    from finance_svc.domain import savings
    from finance_svc.domain.projection import PlacementRuleSet, propose_placement

    fy, rng = 2033, random.Random(20331)
    in_force = PlacementRuleSet.from_dict((await svc.get("/finance/placement-rules")).json())
    rates = {"K2": D("1111.11"), "K1": D("1500.05"), "U6": D("123.45"), "U4": D("99.99")}
    assert (await svc.put(f"/finance/rates/{fy}", [{"placement_type": t, "daily_rate": float(r)}
                                                   for t, r in rates.items()])).status_code == 200

    def day() -> date:
        return date(2033, 4, 1) + timedelta(days=rng.randrange(300))

    events: list[tuple[str, uuid.UUID, Any]] = []
    interventions, projections, followups = [], {}, []
    for _ in range(40):
        family, ref = uuid.uuid4(), uuid.uuid4()
        kids = [(uuid.uuid4(), rng.randrange(0, 18), rng.choice(["NONE", "CIN", "CPP", "LAC"])) for _ in
                range(rng.randrange(1, 4))]
        factors = rng.sample(["behaviour", "offending", "neglect", "exploitation", "family_breakdown"], 2)
        facts = [ChildFacts(child_id=c, age_years=a, legal_status=s, placement_type="U4" if s == "LAC" else None)
                 for c, a, s in kids]
        events.append(("referral.created", ref, referral(ref, family, date(2033, 4, 1), factors, facts)))
        for c, a, s in kids:
            placement = propose_placement(in_force, a, s, "U4" if s == "LAC" else None, factors)
            projections[str(c)] = savings.Projection(str(c), placement, rates[placement])
        for _ in range(rng.randrange(1, 3)):
            i, on = uuid.uuid4(), day()
            served = [c for c, _a, _s in kids if rng.random() < 0.8] or [kids[0][0]]
            programme = rng.choice(["MST", "MST_BSF", "FFT_CW", "FGC", "OTHER_PREVENTION"])
            events.append(("intervention.started", i, started(i, ref, family, served, programme, on)))
            if rng.random() < 0.8:
                off = on + timedelta(days=rng.randrange(1, 200))
                reason = rng.choice(["completed", "completed", "disengaged", "superseded", "escalated_to_care"])
                outcomes = {c: rng.choice(["at_home", "at_home", "in_care", "other"]) for c in served}
                events.append(("intervention.closed", i, closed(i, ref, family, programme, on, off, reason, outcomes)))
                interventions.append(savings.Intervention(str(i), str(family), tuple(map(str, served)), programme, on,
                                                          off, reason, {str(c): s for c, s in outcomes.items()}))
                for c in served:
                    if rng.random() < 0.3:
                        seen = off + timedelta(days=rng.randrange(-30, 400))
                        living = rng.choice(["in_care", "custody", "at_home"])
                        events.append(("followup.recorded", c, FollowupRecorded(
                            followup_id=uuid.uuid4(), child_id=c, living_situation=living, re_referred=False,
                            observed_on=seen)))
                        followups.append(savings.FollowUp(str(c), seen, living))
            else:
                interventions.append(savings.Intervention(str(i), str(family), tuple(map(str, served)), programme, on))
    rng.shuffle(events)
    await asyncio.gather(*(svc.send(topic, key, data) for topic, key, data in events))

    expected = SummaryOut.model_validate(
        savings.financial_summary(fy, interventions, projections, None, followups)).model_dump(mode="json")

    async def settled() -> dict[str, Any] | None:
        got = (await svc.get(f"/finance/summary/{fy}")).json()
        return got if got == expected else None

    try:
        await eventually(settled, timeout=60, interval=0.2)
    except AssertionError:
        assert (await svc.get(f"/finance/summary/{fy}")).json() == expected
    incremental = await svc.ledger_snapshot()
    assert (await svc.client.post("/finance/ledger/rebuild", headers=svc.auth("ops"))).status_code == 200
    assert await svc.ledger_snapshot() == incremental
    assert (await svc.get(f"/finance/summary/{fy}")).json() == expected
