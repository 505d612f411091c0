"""outcomes-svc over HTTP on PostgreSQL with the real broker, started once for this module.

Closures, referrals, care-status changes and partner events arrive as real events produced onto the
broker (build_envelope + produce_raw); what the service publishes is read back from the broker.
Other suites share the broker (and their events reach this service too), so every test uses its own
children and a financial year or date range nobody else uses.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from eoc_shared.clock import fixed_today, today
from eoc_shared.events.envelope import build_envelope
from eoc_shared.events.schemas import (
    ChildFacts,
    ChildOutcome,
    ChildUpdated,
    EventPayload,
    FollowupRecorded,
    InterventionClosed,
    PartnerEventReceived,
    ReferralCreated,
)
from eoc_shared.testing import harness
from eoc_shared.testing.fixtures import eventually, produce_raw, service_settings
from eoc_shared.testing.harness import events_consumed
from outcomes_svc import scheduling
from outcomes_svc.app import create_app
from outcomes_svc.db.models import Followup, Inbox, Outbox, Signal
from outcomes_svc.settings import OutcomesSettings

D = date.fromisoformat
TOPICS = ["followup.due", "followup.recorded"]


@dataclass
class Svc:
    client: httpx.AsyncClient
    app: Any
    probe: Any
    bootstrap: str
    auth: Any

    async def count(self, model: Any, *where: Any) -> int:
        async with self.app.state.runtime.db.sessions() as s:
            return int((await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one())

    async def send(self, topic: str, data: EventPayload, key: uuid.UUID, envelope: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
        env = envelope or build_envelope(topic, key=str(key), data=data, source="urn:eoc:referral")
        wire = json.dumps({k: v for k, v in env.items() if not k.startswith("_")}).encode()
        await produce_raw(self.bootstrap, topic, wire, key=str(key).encode())
        return env

    async def close(self, children: dict[uuid.UUID, str], closed_on: str, programme: str = "MST",
                    reason: str = "completed", referral_id: uuid.UUID | None = None,
                    intervention_id: uuid.UUID | None = None) -> InterventionClosed:
        closed = closure(children, closed_on, programme, reason, referral_id, intervention_id)
        await self.send("intervention.closed", closed, closed.referral_id)
        return closed

    async def followups(self, child_id: uuid.UUID, count: int = 7, where: Any = None) -> list[dict[str, Any]]:
        """Wait until the child has `count` follow-ups (and `where` holds for them)."""
        headers = self.auth("social_worker")

        async def ready() -> list[dict[str, Any]] | None:
            r = await self.client.get(f"/outcomes/children/{child_id}/followups", headers=headers)
            assert r.status_code == 200, r.text
            rows = r.json()
            return rows if len(rows) == count and (where is None or where(rows)) else None

        return await eventually(ready, timeout=20, interval=0.05)

    def recorded(self, child_id: uuid.UUID) -> list[dict[str, Any]]:
        return [m["data"] for m in self.probe.on("followup.recorded", _for_child(child_id))]

    async def result(self, followup_id: str, observed_on: str, living: str = "at_home", re_referred: bool = False,
                     role: str = "social_worker") -> httpx.Response:
        return await self.client.post(f"/outcomes/followups/{followup_id}/result", headers=self.auth(role), json={
            "observed_on": observed_on, "living_situation": living, "re_referred": re_referred})


def _for_child(child_id: uuid.UUID) -> Any:
    return lambda m: isinstance(m, dict) and isinstance(m.get("data"), dict) and m["data"].get("child_id") == str(child_id)


def closure(children: dict[uuid.UUID, str], closed_on: str, programme: str = "MST", reason: str = "completed",
            referral_id: uuid.UUID | None = None, intervention_id: uuid.UUID | None = None) -> InterventionClosed:
    return InterventionClosed(
        intervention_id=intervention_id or uuid.uuid4(), referral_id=referral_id or uuid.uuid4(),
        family_id=uuid.uuid4(), child_ids=list(children), programme=programme, started_on=D("2010-01-01"),
        closed_on=D(closed_on), reason=reason,
        child_outcomes=[ChildOutcome(child_id=c, living_situation=living) for c, living in children.items()],
    )


def referral(child_id: uuid.UUID, referred_on: str, referral_id: uuid.UUID | None = None,
             legal_status: str = "CPP") -> ReferralCreated:
    return ReferralCreated(
        referral_id=referral_id or uuid.uuid4(), family_id=uuid.uuid4(), referred_on=D(referred_on),
        source="social_worker", risk_factors=["behaviour"], threshold_for_removal_met=True,
        children=[ChildFacts(child_id=child_id, age_years=12, legal_status=legal_status)],
    )


def by_checkpoint(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {r["checkpoint_months"]: r for r in rows}


@pytest.fixture(scope="module")
async def svc(databases: Any, broker: Any, data_dir: Any, auth: Any) -> AsyncIterator[Svc]:
    url = await databases.create("outcomes")
    # A small batch makes concurrent scheduler runs interleave over many transactions.
    app = create_app(service_settings(OutcomesSettings, database_url=url, broker=broker, data_dir=data_dir,
                                      scheduler_interval_seconds=0, scheduler_batch_size=7))
    async with harness.started(app, bootstrap=broker.bootstrap, topics=TOPICS) as s:
        yield Svc(s.client, app, s.probe, broker.bootstrap, auth)


# --------------------------------------------------------------------------------------------- schedule


async def test_a_closure_schedules_seven_follow_ups_per_child_once(svc: Svc) -> None:
    home, away, superseded = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    referral_id = uuid.uuid4()
    # Same key (the referral) → same partition → handled in this order.
    await svc.close({superseded: "at_home"}, "2019-08-31", reason="superseded", referral_id=referral_id)
    closed = await svc.close({home: "at_home", away: "in_care"}, "2019-08-31", referral_id=referral_id)
    # the same event delivered again, and the same closure in a new envelope: nothing more
    await svc.send("intervention.closed", closed, referral_id)
    rows = await svc.followups(home)
    # The statuses are those of the dates today: all five years have passed without a result.
    assert [(r["checkpoint_months"], r["due_on"], r["status"]) for r in rows] == [
        (6, "2020-02-29", "overdue"), (12, "2020-08-31", "overdue"), (18, "2021-02-28", "overdue"),
        (24, "2021-08-31", "overdue"), (36, "2022-08-31", "overdue"), (48, "2023-08-31", "overdue"),
        (60, "2024-08-31", "overdue"),
    ]
    with fixed_today(D("2019-09-01")):  # read the day after the closure: nothing has fallen due yet
        assert {r["status"] for r in await svc.followups(home)} == {"scheduled"}
    assert all("living_situation" not in r and "re_referred" not in r for r in rows)
    assert {r["intervention_id"] for r in rows} == {str(closed.intervention_id)}
    assert len(await svc.followups(away)) == 7
    await asyncio.sleep(0.5)
    assert await svc.count(Followup, Followup.child_id == home) == 7
    r = await svc.client.get(f"/outcomes/children/{superseded}/followups", headers=svc.auth("team_manager"))
    assert (r.status_code, r.json()) == (200, [])

    record = (await svc.client.get(f"/outcomes/children/{away}", headers=svc.auth("team_manager"))).json()
    assert [(c["checkpoint_months"], c["living_situation"], c["closed_on"]) for c in record["closures"]] == [
        (0, "in_care", "2019-08-31")]


async def test_a_back_dated_closure_shows_overdue_follow_ups_at_once_with_no_scheduler_run(svc: Svc) -> None:
    """A closure entered late (or imported) years after the fact: its past follow-ups are `overdue` in every
    read — the child's list, one follow-up, the child's record, the work list and its `?status=` filter, the
    report — straight away; the scheduler has not run and has published nothing for them."""
    child = uuid.uuid4()
    closed_on = date(today().year - 3, today().month, 1)
    closed = await svc.close({child: "at_home"}, closed_on.isoformat(), programme="FFT_REUNIFICATION")
    rows = by_checkpoint(await svc.followups(child))
    # 6 to 24 months are long past; 36 months fell due on the 1st of this month (due, or overdue from the 29th)
    expected = {6: "overdue", 12: "overdue", 18: "overdue", 24: "overdue",
                36: "due" if today().day <= 28 else "overdue", 48: "scheduled", 60: "scheduled"}
    assert {m: r["status"] for m, r in rows.items()} == expected
    assert await svc.count(Followup, Followup.child_id == child, Followup.status != "scheduled") == 0  # no run
    tm = svc.auth("team_manager")
    six = rows[6]["id"]
    assert (await svc.client.get(f"/outcomes/followups/{six}", headers=tm)).json()["status"] == "overdue"
    record = (await svc.client.get(f"/outcomes/children/{child}", headers=tm)).json()
    assert {f["checkpoint_months"]: f["status"] for f in record["followups"]} == expected
    listed = (await svc.client.get("/outcomes/followups", headers=tm, params={
        "status": "overdue", "programme": "FFT_REUNIFICATION", "limit": 1000})).json()
    mine = {r["checkpoint_months"] for r in listed if r["child_id"] == str(child)}
    assert mine == {m for m, st in expected.items() if st == "overdue"}
    assert all(r["status"] == "overdue" for r in listed)
    scheduled = (await svc.client.get("/outcomes/followups", headers=tm, params={
        "status": "scheduled", "programme": "FFT_REUNIFICATION", "limit": 1000})).json()
    assert {r["checkpoint_months"] for r in scheduled if r["child_id"] == str(child)} == {
        m for m, st in expected.items() if st == "scheduled"}
    report = (await svc.client.get("/outcomes/reports/followups", headers=svc.auth("ops"))).json()
    row = next(p for p in report["programmes"] if p["programme"] == "FFT_REUNIFICATION")
    assert row["overdue"] >= len(mine)
    assert {r["intervention_id"] for r in rows.values()} == {str(closed.intervention_id)}
    await asyncio.sleep(0.5)
    assert not svc.probe.on("followup.due", _for_child(child))


# --------------------------------------------------------------------------------------------- scheduler


async def test_concurrent_scheduler_runs_publish_each_follow_up_due_exactly_once(svc: Svc) -> None:
    children = [uuid.uuid4() for _ in range(30)]
    for group in range(5):
        await svc.close({c: "at_home" for c in children[group * 6:(group + 1) * 6]}, "2015-01-31")
    for c in children:
        await svc.followups(c)
    # as of 2016-02-15: the 6-month (2015-07-31, overdue by then) and 12-month (2016-01-31, due) follow-ups
    ops = svc.auth("ops")
    runs = await asyncio.gather(
        svc.client.post("/outcomes/scheduler/run", json={"as_of": "2016-02-15"}, headers=ops),
        svc.client.post("/outcomes/scheduler/run", json={"as_of": "2016-02-15"}, headers=ops),
        scheduling.run(svc.app.state.runtime.uow, D("2016-02-15"), 5),
    )
    assert [r.status_code for r in runs[:2]] == [200, 200]
    counts = [r.json()["due"] for r in runs[:2]] + [runs[2].due]
    overdue = sum(r.json()["overdue"] for r in runs[:2]) + runs[2].overdue
    # Each follow-up marked by exactly one run. Closures that other modules sent on the session's broker
    # reach this service too (its consumer group is new), so more than our 60 may fall due as of that day.
    as_of = D("2016-02-15")
    assert sum(counts) == await svc.count(Followup, Followup.due_as_of == as_of) >= 60, counts
    assert overdue == await svc.count(Followup, Followup.due_as_of == as_of, Followup.overdue_as_of == as_of) >= 30

    ids = {}
    with fixed_today(as_of):  # read on the scheduler's day: the statuses come from the dates, not from its run
        for c in children:
            for row in by_checkpoint(await svc.followups(c)).values():
                ids[row["id"]] = row
    due_ids = {i for i, r in ids.items() if r["checkpoint_months"] in (6, 12)}
    assert {ids[i]["status"] for i in due_ids} == {"due", "overdue"}
    assert {r["status"] for i, r in ids.items() if i not in due_ids} == {"scheduled"}

    def mine(m: Any) -> bool:
        return isinstance(m, dict) and isinstance(m.get("data"), dict) and m["data"].get("followup_id") in ids

    await svc.probe.wait_for("followup.due", mine, count=60, timeout=20)
    await asyncio.sleep(1.0)  # anything sent twice would have arrived by now
    published = [m["data"]["followup_id"] for m in svc.probe.on("followup.due", mine)]
    assert sorted(published) == sorted(due_ids), "one followup.due per follow-up, none twice"
    sample = next(m["data"] for m in svc.probe.on("followup.due", mine))
    assert set(sample) == {"followup_id", "child_id", "intervention_id", "checkpoint_months", "due_on"}

    again = await svc.client.post("/outcomes/scheduler/run", json={"as_of": "2016-02-15"}, headers=ops)
    assert again.json()["due"] == 0

    # overdue: 28 days after due without a result (6-month ones); the 12-month ones (due 2016-01-31) are not yet
    sixes = {i for i in due_ids if ids[i]["checkpoint_months"] == 6}
    assert {ids[i]["status"] for i in sixes} == {"overdue"}
    twelves = {i for i in due_ids if ids[i]["checkpoint_months"] == 12}
    assert {ids[i]["status"] for i in twelves} == {"due"}
    with fixed_today(as_of):
        listed = (await svc.client.get("/outcomes/followups", params={"status": "overdue", "limit": 1000},
                                       headers=svc.auth("team_manager"))).json()
    assert sixes <= {r["id"] for r in listed} and not twelves & {r["id"] for r in listed}
    assert all(r["status"] == "overdue" and r["days_since_due"] >= 28 for r in listed)
    # Today the 12-month ones are overdue too, though the scheduler's run (as of 2016) stored them `due`.
    assert {by_checkpoint(await svc.followups(c))[12]["status"] for c in children} == {"overdue"}


async def test_scheduler_marks_due_then_overdue_28_days_later(svc: Svc) -> None:
    child = uuid.uuid4()
    await svc.close({child: "at_home"}, "2011-02-15")
    six = by_checkpoint(await svc.followups(child))[6]
    assert six["due_on"] == "2011-08-15"
    ops = svc.auth("ops")
    assert (await svc.client.post("/outcomes/scheduler/run", json={"as_of": "2011-08-14"}, headers=ops)).json()["due"] == 0
    assert (await svc.client.post("/outcomes/scheduler/run", json={"as_of": "2011-08-15"}, headers=ops)).json()["due"] == 1
    with fixed_today(D("2011-08-15")):
        assert by_checkpoint(await svc.followups(child))[6]["status"] == "due"
    r = await svc.client.post("/outcomes/scheduler/run", json={"as_of": "2011-09-11"}, headers=ops)  # 27 days
    assert r.json() == {"as_of": "2011-09-11", "due": 0, "overdue": 0}
    r = await svc.client.post("/outcomes/scheduler/run", json={"as_of": "2011-09-12"}, headers=ops)  # 28 days
    assert r.json() == {"as_of": "2011-09-12", "due": 0, "overdue": 1}
    with fixed_today(D("2011-09-11")):  # the status follows the day read, whatever the scheduler stored
        assert by_checkpoint(await svc.followups(child))[6]["status"] == "due"
    with fixed_today(D("2011-09-12")):
        assert by_checkpoint(await svc.followups(child))[6]["status"] == "overdue"
    await svc.probe.wait_for("followup.due", lambda m: m["data"]["followup_id"] == six["id"])

    # recording it takes it off the review list
    assert (await svc.result(six["id"], "2011-09-20")).status_code == 200
    listed = (await svc.client.get("/outcomes/followups", params={"status": "overdue", "limit": 1000},
                                   headers=svc.auth("team_manager"))).json()
    assert six["id"] not in {r["id"] for r in listed}


async def test_scheduler_refuses_a_future_day_and_other_roles(svc: Svc) -> None:
    r = await svc.client.post("/outcomes/scheduler/run", json={"as_of": "2999-01-01"}, headers=svc.auth("ops"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "as_of"
    r = await svc.client.post("/outcomes/scheduler/run", json={"as_of": "2024-02-30"}, headers=svc.auth("ops"))
    assert r.status_code == 422 and "as_of" in r.json()["detail"]
    r = await svc.client.post("/outcomes/scheduler/run", json={"as_of": "2016-01-01"}, headers=svc.auth("social_worker"))
    assert r.status_code == 403
    r = await svc.client.post("/outcomes/scheduler/run", json={"as_of": "2016-01-01"})
    assert r.status_code == 401


# --------------------------------------------------------------------------------------------- results


async def test_a_result_is_recorded_once_and_published(svc: Svc) -> None:
    child = uuid.uuid4()
    closed = await svc.close({child: "at_home"}, "2020-05-20")
    six = by_checkpoint(await svc.followups(child))[6]
    r = await svc.result(six["id"], "2020-11-25", "at_home", False)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["living_situation"], body["re_referred"], body["observed_on"]) == (
        "recorded", "at_home", False, "2020-11-25")
    again = await svc.result(six["id"], "2020-11-26", "in_care", False)
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert "already recorded" in again.json()["detail"]
    events = await svc.probe.wait_for("followup.recorded", _for_child(child))
    assert events[0]["data"] == {
        "followup_id": six["id"], "child_id": str(child), "intervention_id": str(closed.intervention_id),
        "checkpoint_months": 6, "living_situation": "at_home", "re_referred": False, "observed_on": "2020-11-25"}
    await asyncio.sleep(0.5)
    assert len(svc.recorded(child)) == 1
    shown = by_checkpoint(await svc.followups(child))
    assert (shown[6]["status"], shown[6]["living_situation"], shown[6]["re_referred"]) == ("recorded", "at_home", False)
    assert "living_situation" not in shown[12]


async def test_bad_results_store_nothing_and_publish_nothing(svc: Svc) -> None:
    child = uuid.uuid4()
    await svc.close({child: "at_home"}, "2020-06-30")
    six = by_checkpoint(await svc.followups(child))[6]
    outbox_before = await svc.count(Outbox)
    url = f"/outcomes/followups/{six['id']}/result"
    sw = svc.auth("social_worker")
    cases = [
        ({"observed_on": "2021-01-05", "living_situation": "homeless", "re_referred": False}, 422, "living_situation"),
        ({"observed_on": "2020-06-29", "living_situation": "at_home", "re_referred": False}, 422, "observed_on"),
        ({"observed_on": "2999-01-01", "living_situation": "at_home", "re_referred": False}, 422, "observed_on"),
        ({"observed_on": "2021-02-30", "living_situation": "at_home", "re_referred": False}, 422, "observed_on"),
        ({"observed_on": "05/01/2021", "living_situation": "at_home", "re_referred": False}, 422, "observed_on"),
        ({"observed_on": "2021-01-05", "living_situation": "at_home", "re_referred": "false"}, 422, "re_referred"),
        ({"observed_on": "2021-01-05", "living_situation": "at_home", "re_referred": 0}, 422, "re_referred"),
        ({"observed_on": "2021-01-05", "living_situation": "at_home"}, 422, "re_referred"),
        ({"observed_on": "2021-01-05", "living_situation": "at_home", "re_referred": False, "note": "x"}, 422, "note"),
    ]
    for body, status, field in cases:
        r = await svc.client.post(url, json=body, headers=sw)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert field in r.json()["detail"], (body, r.json())
        assert field in {e["field"] for e in r.json()["errors"]}
    r = await svc.client.post(f"/outcomes/followups/{uuid.uuid4()}/result", headers=sw,
                              json={"observed_on": "2021-01-05", "living_situation": "at_home", "re_referred": False})
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = await svc.client.post("/outcomes/followups/not-an-id/result", headers=sw,
                              json={"observed_on": "2021-01-05", "living_situation": "at_home", "re_referred": False})
    assert r.status_code == 422
    for role in ("board_member", "practitioner", "finance_officer"):
        r = await svc.client.post(url, headers=svc.auth(role),
                                  json={"observed_on": "2021-01-05", "living_situation": "at_home", "re_referred": False})
        assert r.status_code == 403, role
    assert await svc.count(Outbox) == outbox_before
    assert by_checkpoint(await svc.followups(child))[6]["status"] == "overdue"  # not recorded; due 2020-12-31
    assert svc.recorded(child) == []


async def test_child_records_are_not_for_board_members_or_partners(svc: Svc) -> None:
    child = uuid.uuid4()
    for role in ("board_member", "partner_feed", "finance_officer", "placements_officer"):
        headers = svc.auth(role, source="police" if role == "partner_feed" else None)
        for path in (f"/outcomes/children/{child}/followups", f"/outcomes/children/{child}", "/outcomes/followups"):
            assert (await svc.client.get(path, headers=headers)).status_code == 403, (role, path)
    # A practitioner is not told whether outcomes-svc knows a child who is none of theirs.
    for path in (f"/outcomes/children/{child}/followups", f"/outcomes/children/{child}"):
        assert (await svc.client.get(path, headers=svc.auth("practitioner"))).status_code == 403, path
    assert (await svc.client.get(f"/outcomes/children/{child}/followups")).status_code == 401
    r = await svc.client.get(f"/outcomes/children/{child}", headers=svc.auth("team_manager"))
    assert r.status_code == 404


async def test_a_practitioner_follows_up_their_own_cases_only(svc: Svc) -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    own = closure({mine: "at_home"}, "2016-03-31").model_copy(update={"practitioner": "pr-ada"})
    other = closure({theirs: "at_home"}, "2016-03-31").model_copy(update={"practitioner": "pr-bo"})
    await svc.send("intervention.closed", own, own.referral_id)
    await svc.send("intervention.closed", other, other.referral_id)
    six = by_checkpoint(await svc.followups(mine))[6]
    await svc.followups(theirs)
    ada, bo = svc.auth("practitioner", subject="pr-ada"), svc.auth("practitioner", subject="pr-bo")

    r = await svc.client.get(f"/outcomes/children/{mine}/followups", headers=ada)
    assert r.status_code == 200 and len(r.json()) == 7
    assert (await svc.client.get(f"/outcomes/children/{mine}", headers=ada)).status_code == 200
    for path in (f"/outcomes/children/{mine}/followups", f"/outcomes/children/{mine}", f"/outcomes/followups/{six['id']}"):
        r = await svc.client.get(path, headers=bo)
        assert r.status_code == 403 and "their own interventions" in r.json()["detail"], path
    body = {"observed_on": "2016-10-03", "living_situation": "at_home", "re_referred": False}
    r = await svc.client.post(f"/outcomes/followups/{six['id']}/result", headers=bo, json=body)
    assert r.status_code == 403
    assert by_checkpoint(await svc.followups(mine))[6]["status"] == "overdue"  # not recorded; due 2016-09-30

    await svc.client.post("/outcomes/scheduler/run", headers=svc.auth("ops"), json={"as_of": "2016-10-01"})
    listed = (await svc.client.get("/outcomes/followups?status=due&status=overdue&limit=1000", headers=ada)).json()
    assert {f["child_id"] for f in listed} == {str(mine)}
    listed = (await svc.client.get("/outcomes/followups?status=due&status=overdue&limit=1000", headers=bo)).json()
    assert {f["child_id"] for f in listed} == {str(theirs)}
    r = await svc.client.post(f"/outcomes/followups/{six['id']}/result", headers=ada, json=body)
    assert r.status_code == 200 and r.json()["status"] == "recorded"
    await svc.probe.wait_for("followup.recorded", lambda m: _for_child(mine)(m) and m["data"]["checkpoint_months"] == 6)


# --------------------------------------------------------------------------------------------- detection


async def test_a_re_referral_marks_every_open_follow_up_of_the_child(svc: Svc) -> None:
    child, original = uuid.uuid4(), uuid.uuid4()
    closed = await svc.close({child: "at_home"}, "2021-03-31", referral_id=original)
    six = by_checkpoint(await svc.followups(child))[6]
    assert (await svc.result(six["id"], "2021-09-30", "at_home", False)).status_code == 200
    # the referral the intervention served, arriving late, is not a re-referral
    await svc.send("referral.created", referral(child, "2020-11-02", original), original)
    new = uuid.uuid4()
    await svc.send("referral.created", referral(child, "2021-12-01", new), new)
    rows = by_checkpoint(await svc.followups(child, where=lambda rows: all(r["status"] == "recorded" for r in rows)))
    assert (rows[6]["re_referred"], rows[6]["recorded_source"]) == (False, "practitioner")  # a person's result stays
    for months in (12, 18, 24, 36, 48, 60):
        assert (rows[months]["re_referred"], rows[months]["re_referred_on"], rows[months]["living_situation"],
                rows[months]["recorded_source"]) == (True, "2021-12-01", "at_home", "detected"), months
    events = await svc.probe.wait_for("followup.recorded", lambda m: _for_child(child)(m) and m["data"]["re_referred"])
    assert events[0]["data"] == {
        "followup_id": rows[12]["id"], "child_id": str(child), "intervention_id": str(closed.intervention_id),
        "checkpoint_months": 12, "living_situation": "at_home", "re_referred": True, "observed_on": "2021-12-01"}
    r = await svc.result(rows[12]["id"], "2022-04-01")
    assert r.status_code == 409 and "re-referred on 2021-12-01" in r.json()["detail"]
    assert len([s for s in svc.recorded(child) if s["re_referred"]]) == 1


async def test_a_care_entry_from_child_updated_is_recorded_with_its_date(svc: Svc) -> None:
    child, family = uuid.uuid4(), uuid.uuid4()
    await svc.close({child: "at_home"}, "2021-03-31")
    await svc.followups(child)
    # not a care entry: nothing happens
    ignored_before = _ignored("child.updated")
    not_care = await svc.send("child.updated", ChildUpdated(child_id=child, family_id=family, legal_status_before="CPP",
                                                            legal_status="CIN", effective_on=D("2021-06-01")), child)
    entry = await svc.send("child.updated", ChildUpdated(child_id=child, family_id=family, legal_status_before="CIN",
                                                         legal_status="LAC", placement_type="U4",
                                                         effective_on=D("2022-01-10")), child)
    rows = by_checkpoint(await svc.followups(child, where=lambda rows: rows[0]["status"] == "recorded"))
    for months in (6, 12, 18, 24, 36, 48, 60):
        assert (rows[months]["living_situation"], rows[months]["care_entry_on"], rows[months]["re_referred"]) == (
            "in_care", "2022-01-10", False)
    events = await svc.probe.wait_for("followup.recorded", _for_child(child))
    assert [(e["data"]["living_situation"], e["data"]["observed_on"], e["data"]["checkpoint_months"]) for e in events] == [
        ("in_care", "2022-01-10", 6)]
    assert await svc.count(Signal, Signal.child_id == child) == 1
    # The change that is not a care entry (same key, so read first) was settled without a transaction.
    assert await svc.count(Inbox, Inbox.event_id == uuid.UUID(entry["id"])) == 1
    assert await svc.count(Inbox, Inbox.event_id == uuid.UUID(not_care["id"])) == 0
    assert _ignored("child.updated") == ignored_before + 1


async def test_custody_from_a_partner_event_is_dated_by_the_uk_day(svc: Svc) -> None:
    child = uuid.uuid4()
    await svc.close({child: "at_home"}, "2022-01-31")
    await svc.followups(child)
    ignored_before = _ignored("partner.event.received")
    arrest = await svc.send("partner.event.received", PartnerEventReceived(
        partner_event_id=uuid.uuid4(), child_id=child, source="police", kind="arrest",
        occurred_at=datetime(2022, 5, 1, 12, 0, tzinfo=UTC)), child)
    custody = await svc.send("partner.event.received", PartnerEventReceived(
        partner_event_id=uuid.uuid4(), child_id=child, source="youth_justice", kind="custody",
        occurred_at=datetime(2022, 6, 30, 23, 30, tzinfo=UTC)), child)  # 00:30 on 1 July in London
    rows = by_checkpoint(await svc.followups(child, where=lambda rows: rows[0]["status"] == "recorded"))
    assert (rows[6]["living_situation"], rows[6]["care_entry_on"], rows[6]["care_entry_kind"]) == (
        "custody", "2022-07-01", "custody")
    events = await svc.probe.wait_for("followup.recorded", _for_child(child))
    assert events[0]["data"]["living_situation"] == "custody" and events[0]["data"]["observed_on"] == "2022-07-01"
    assert await svc.count(Signal, Signal.child_id == child) == 1  # the arrest is not a break
    # The arrest (same key, so read before the custody) was settled without a transaction: no inbox row.
    assert await svc.count(Inbox, Inbox.event_id == uuid.UUID(custody["id"])) == 1
    assert await svc.count(Inbox, Inbox.event_id == uuid.UUID(arrest["id"])) == 0
    assert _ignored("partner.event.received") == ignored_before + 1


def _ignored(topic: str) -> float:
    return events_consumed("outcomes", topic, "ignored")


async def test_a_signal_that_arrives_before_the_closure_is_applied_when_it_comes(svc: Svc) -> None:
    child = uuid.uuid4()
    await svc.send("child.updated", ChildUpdated(child_id=child, family_id=uuid.uuid4(), legal_status_before="CPP",
                                                 legal_status="LAC", placement_type="K2",
                                                 effective_on=D("2022-09-05")), child)
    await eventually(lambda: svc.count(Signal, Signal.child_id == child), timeout=20)
    closed = await svc.close({child: "at_home"}, "2022-03-31")
    rows = by_checkpoint(await svc.followups(child, where=lambda rows: rows[0]["status"] == "recorded"))
    assert rows[6]["care_entry_on"] == "2022-09-05" and rows[60]["living_situation"] == "in_care"
    events = await svc.probe.wait_for("followup.recorded", _for_child(child))
    assert events[0]["data"]["intervention_id"] == str(closed.intervention_id)


# --------------------------------------------------------------------------------------------- figures


async def test_summary_figures_on_a_known_dataset(svc: Svc) -> None:
    """Financial year 2013 (1 April 2013 – 31 March 2014), used by no other test.

    MST closed 2013-06-30: a, b at home. FFT_CW closed 2013-09-30: c in care, d and h at home.
    MST closed 2014-03-31: e at home. Not counted: f (MST superseded 2013-07-01), g (FGC closed 2014-04-01, FY 2014).
    → children_closed 6, at_home_at_closure 5, success_rate 5/6 = 0.8333.
    6 months recorded: a at home; b at home but re-referred; c at home (came home); d in care → 2/4 = 0.5.
    12 months: a at home, c other → 1/2 = 0.5. 18 months: a at home → 1/1 = 1.0.
    Per programme: MST 3 closed, 3 at home (1.0), 6 months a ✓ b ✗ (0.5), 12 a ✓ (1.0), 18 a ✓ (1.0);
    FFT_CW 3 closed, 2 at home (0.6667), 6 months c ✓ d ✗ (0.5), 12 c ✗ (0.0), 18 none (null).
    """
    a, b, c, d, e, f, g, h = (uuid.uuid4() for _ in range(8))
    await svc.close({a: "at_home", b: "at_home"}, "2013-06-30", "MST")
    await svc.close({c: "in_care", d: "at_home", h: "at_home"}, "2013-09-30", "FFT_CW")
    await svc.close({e: "at_home"}, "2014-03-31", "MST")
    await svc.close({f: "at_home"}, "2013-07-01", "MST", reason="superseded")
    await svc.close({g: "at_home"}, "2014-04-01", "FGC")
    fu = {child: by_checkpoint(await svc.followups(child)) for child in (a, b, c, d, e, g, h)}
    results = [
        (a, 6, "2013-12-30", "at_home", False), (b, 6, "2013-12-30", "at_home", True),
        (c, 6, "2014-03-30", "at_home", False), (d, 6, "2014-03-30", "in_care", False),
        (a, 12, "2014-06-30", "at_home", False), (c, 12, "2014-09-30", "other", False),
        (a, 18, "2014-12-30", "at_home", False), (g, 6, "2014-10-01", "in_care", False),
    ]
    for child, months, observed, living, re_referred in results:
        r = await svc.result(fu[child][months]["id"], observed, living, re_referred)
        assert r.status_code == 200, r.text

    r = await svc.client.get("/outcomes/summary", params={"financial_year": 2013}, headers=svc.auth("board_member"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in ("financial_year", "children_closed", "at_home_at_closure", "success_rate",
                                 "sustained")} == {
        "financial_year": 2013, "children_closed": 6, "at_home_at_closure": 5, "success_rate": 0.8333,
        "sustained": {"6": 0.5, "12": 0.5, "18": 1.0},
    }
    assert body["evidence"]["6"] == {"fallen_due": 6, "recorded": 4, "sustained": 2, "not_recorded": 2,
                                     "rate": 0.5, "ci95": [0.15, 0.85]}
    assert body["evidence"]["24"]["rate"] is None

    for role in ("ops", "team_manager", "social_worker"):
        again = await svc.client.get("/outcomes/summary", params={"financial_year": 2013}, headers=svc.auth(role))
        assert again.status_code == 200 and again.json()["children_closed"] == 6

    per = (await svc.client.get("/outcomes/summary/programmes", params={"financial_year": 2013},
                                headers=svc.auth("board_member"))).json()
    progs = {p["programme"]: p for p in per["programmes"]}
    assert list(progs)[:6] == ["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION"]
    assert (progs["MST"]["children_closed"], progs["MST"]["at_home_at_closure"], progs["MST"]["success_rate"],
            progs["MST"]["sustained"]) == (3, 3, 1.0, {"6": 0.5, "12": 1.0, "18": 1.0})
    assert (progs["FFT_CW"]["children_closed"], progs["FFT_CW"]["at_home_at_closure"], progs["FFT_CW"]["success_rate"],
            progs["FFT_CW"]["sustained"]) == (3, 2, 0.6667, {"6": 0.5, "12": 0.0, "18": None})
    assert (progs["FGC"]["children_closed"], progs["FGC"]["success_rate"], progs["FGC"]["sustained"]) == (
        0, None, {"6": None, "12": None, "18": None})

    nxt = (await svc.client.get("/outcomes/summary", params={"financial_year": 2014}, headers=svc.auth("ops"))).json()
    assert nxt["children_closed"] >= 1  # g's year

    for bad in ("1999", "abc", "2013.5", ""):
        r = await svc.client.get("/outcomes/summary", params={"financial_year": bad}, headers=svc.auth("ops"))
        assert r.status_code == 422 and "financial_year" in r.json()["detail"], bad
    assert (await svc.client.get("/outcomes/summary", headers=svc.auth("ops"))).status_code == 422
    r = await svc.client.get("/outcomes/summary", params={"financial_year": 2013},
                             headers=svc.auth("partner_feed", source="police"))
    assert r.status_code == 403


async def test_survival_against_a_hand_computed_example(svc: Svc) -> None:
    """FGC, financial year 2012, all closed 2012-06-15.

    s1 care entry 2012-09-15 (3 months); s5 re-referred 2012-09-15 (3); s4 recorded in custody at the
    6-month follow-up, observed 2012-12-15 (6); s2 re-referred 2013-06-15 (12); s3 nothing (censored at
    60); s7 care entry 2018-01-01, after five years (censored at 60); s6 in care at closure (not at risk).
    S(3) = 1 − 2/6 = 0.6667 · S(6) = 0.6667 × (1 − 1/4) = 0.5 · S(12) = 0.5 × (1 − 1/3) = 0.3333.
    """
    s1, s2, s3, s4, s5, s6, s7 = (uuid.uuid4() for _ in range(7))
    await svc.close({s1: "at_home", s2: "at_home", s3: "at_home", s4: "at_home", s5: "at_home", s6: "in_care",
                     s7: "at_home"}, "2012-06-15", "FGC")
    for child in (s1, s2, s3, s4, s5, s6, s7):
        await svc.followups(child)
    await svc.send("child.updated", ChildUpdated(child_id=s1, family_id=uuid.uuid4(), legal_status_before="CPP",
                                                 legal_status="LAC", placement_type="U1",
                                                 effective_on=D("2012-09-15")), s1)
    await svc.send("child.updated", ChildUpdated(child_id=s7, family_id=uuid.uuid4(), legal_status_before="CPP",
                                                 legal_status="LAC", placement_type="U1",
                                                 effective_on=D("2018-01-01")), s7)
    for child, day in ((s5, "2012-09-15"), (s2, "2013-06-15")):
        rid = uuid.uuid4()
        await svc.send("referral.created", referral(child, day, rid), rid)
    six = by_checkpoint(await svc.followups(s4))[6]
    assert (await svc.result(six["id"], "2012-12-15", "custody", False)).status_code == 200
    for child in (s1, s5, s2):
        await svc.followups(child, where=lambda rows: rows[-1]["status"] == "recorded")
    await svc.followups(s7, where=lambda rows: rows[-1]["status"] == "recorded")

    r = await svc.client.get("/outcomes/survival", params={"programme": "FGC", "financial_year": 2012},
                             headers=svc.auth("board_member"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["children"], body["events"], body["censored"], body["median_months"]) == (6, 4, 2, 6.0)
    assert [(s["time_months"], s["at_risk"], s["events"], s["survival"]) for s in body["steps"]] == [
        (3.0, 6, 2, 0.6667), (6.0, 4, 1, 0.5), (12.0, 3, 1, 0.3333)]
    monthly = {m["month"]: (m["at_risk"], m["survival"]) for m in body["monthly"]}
    assert len(monthly) == 61
    assert monthly[0] == (6, 1.0) and monthly[3] == (6, 0.6667) and monthly[4] == (4, 0.6667)
    assert monthly[12] == (3, 0.3333) and monthly[13] == (2, 0.3333) and monthly[60] == (2, 0.3333)

    then = (await svc.client.get("/outcomes/survival", params={"programme": "FGC", "financial_year": 2012,
                                                               "as_of": "2012-12-31"}, headers=svc.auth("ops"))).json()
    assert (then["events"], then["censored"]) == (3, 3)

    for params in ({"programme": "XYZ"}, {"financial_year": "x"}, {"as_of": "2999-01-01"}, {"as_of": "2020-02-30"}):
        bad = await svc.client.get("/outcomes/survival", params=params, headers=svc.auth("ops"))
        assert bad.status_code == 422, params
        assert next(iter(params)) in bad.json()["detail"]


async def test_every_read_and_change_of_a_childs_record_is_logged(svc: Svc) -> None:
    child = uuid.uuid4()
    await svc.close({child: "at_home"}, "2020-02-29")
    six = by_checkpoint(await svc.followups(child))[6]
    assert (await svc.result(six["id"], "2020-08-29", role="team_manager")).status_code == 200
    log = (await svc.client.get("/outcomes/audit", params={"child_id": str(child)}, headers=svc.auth("ops"))).json()
    actions = [e["action"] for e in log]
    assert "outcomes.followups_read" in actions and "outcomes.result_recorded" in actions
    assert {e["role"] for e in log} == {"social_worker", "team_manager"}
    assert (await svc.client.get("/outcomes/audit", params={"child_id": str(child)},
                                 headers=svc.auth("social_worker"))).status_code == 403


def test_followup_recorded_is_thin() -> None:
    assert set(FollowupRecorded.model_fields) == {
        "followup_id", "child_id", "intervention_id", "checkpoint_months", "living_situation", "re_referred",
        "observed_on"}
    assert today() > D("2020-01-01")
