"""`GET /outcomes/reports/followups` over HTTP on PostgreSQL, closures arriving as real events: follow-ups
due and overdue per programme, computed from their dates when read, counts only."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from eoc_shared.clock import today
from eoc_shared.events.envelope import build_envelope
from eoc_shared.events.schemas import ChildOutcome, InterventionClosed
from eoc_shared.testing.fixtures import eventually, produce_raw, running, service_settings
from outcomes_svc.app import create_app
from outcomes_svc.settings import OutcomesSettings


@pytest.fixture(scope="module")
async def svc(databases: Any, broker: Any, data_dir: Any) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    url = await databases.create("outcomes_pulse")
    app = create_app(service_settings(OutcomesSettings, database_url=url, broker=broker, data_dir=data_dir,
                                      scheduler_interval_seconds=0))
    async with running(app) as client:
        await eventually(lambda: app.state.runtime.consumers.connected, timeout=30)
        yield client, broker.bootstrap


async def _close(bootstrap: str, child: uuid.UUID, closed_on: date, programme: str) -> None:
    closed = InterventionClosed(
        intervention_id=uuid.uuid4(), referral_id=uuid.uuid4(), family_id=uuid.uuid4(), child_ids=[child],
        programme=programme, started_on=closed_on - timedelta(days=120), closed_on=closed_on, reason="completed",
        child_outcomes=[ChildOutcome(child_id=child, living_situation="at_home")])
    env = build_envelope("intervention.closed", key=str(closed.referral_id), data=closed, source="urn:eoc:referral")
    wire = json.dumps({k: v for k, v in env.items() if not k.startswith("_")}).encode()
    await produce_raw(bootstrap, "intervention.closed", wire, key=str(closed.referral_id).encode())


async def test_due_and_overdue_per_programme_computed_when_read(svc: tuple[httpx.AsyncClient, str], auth: Any) -> None:
    client, bootstrap = svc
    old, recent = uuid.uuid4(), uuid.uuid4()
    await _close(bootstrap, old, date(2015, 1, 5), "FFT_CW")  # all seven checkpoints long past: overdue
    await _close(bootstrap, recent, today() - timedelta(days=190), "FFT_CW")  # 6 months fell due days ago: due
    sw = auth("social_worker")

    async def scheduled() -> list[dict[str, Any]] | None:
        rows = [(await client.get(f"/outcomes/children/{c}/followups", headers=sw)).json() for c in (old, recent)]
        return rows if all(len(r) == 7 for r in rows) else None

    old_rows, _recent_rows = await eventually(scheduled, timeout=30, interval=0.1)
    six = next(r for r in old_rows if r["checkpoint_months"] == 6)
    r = await client.post(f"/outcomes/followups/{six['id']}/result", headers=sw,
                          json={"observed_on": "2015-07-10", "living_situation": "at_home", "re_referred": False})
    assert r.status_code == 200, r.text

    r = await client.get("/outcomes/reports/followups", headers=auth("ops"))
    assert r.status_code == 200, r.text
    body = r.json()
    fft = next(p for p in body["programmes"] if p["programme"] == "FFT_CW")
    assert (fft["overdue"], fft["due"]) == (6, 1)  # the recorded one no longer counts
    assert fft["oldest_overdue_due_on"] == "2016-01-05"
    assert str(old) not in r.text and str(recent) not in r.text  # counts only
    assert (await client.get("/outcomes/reports/followups", headers=auth("team_manager"))).status_code == 200
    assert (await client.get("/outcomes/reports/followups", headers=auth("board_member"))).status_code == 403
    assert (await client.get("/outcomes/reports/followups", headers=auth("social_worker"))).status_code == 403
    assert (await client.get("/outcomes/reports/followups", params={"as_of": "2999-01-01"},
                             headers=auth("ops"))).status_code == 422
