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
    """Closures in 2003 (no other suite closes anything that early; all suites share one broker), read `as_of`
    days in 2004: the statuses follow the dates, not the scheduler (which never ran here)."""
    client, bootstrap = svc
    a, b = uuid.uuid4(), uuid.uuid4()
    await _close(bootstrap, a, date(2003, 3, 10), "FFT_REUNIFICATION")
    await _close(bootstrap, b, date(2003, 1, 6), "FFT_REUNIFICATION")
    sw = auth("social_worker")

    async def scheduled() -> list[dict[str, Any]] | None:
        rows = [(await client.get(f"/outcomes/children/{c}/followups", headers=sw)).json() for c in (a, b)]
        return rows if all(len(r) == 7 for r in rows) else None

    a_rows, _b_rows = await eventually(scheduled, timeout=30, interval=0.1)
    six = next(r for r in a_rows if r["checkpoint_months"] == 6)
    r = await client.post(f"/outcomes/followups/{six['id']}/result", headers=sw,
                          json={"observed_on": "2003-09-15", "living_situation": "at_home", "re_referred": False})
    assert r.status_code == 200, r.text

    async def on(day: str) -> tuple[int, int, str | None]:
        r = await client.get("/outcomes/reports/followups", params={"as_of": day}, headers=auth("ops"))
        assert r.status_code == 200, r.text
        assert str(a) not in r.text and str(b) not in r.text  # counts only
        row = next(p for p in r.json()["programmes"] if p["programme"] == "FFT_REUNIFICATION")
        return row["due"], row["overdue"], row["oldest_overdue_due_on"]

    # A's 12 months fell due on 10 March 2004 (due, 10 days); B's 6 and 12 months are past 28 days (overdue);
    # A's 6 months has a result and no longer counts.
    assert await on("2004-03-20") == (1, 2, "2003-07-06")
    assert await on("2004-04-20") == (0, 3, "2003-07-06")  # A's 12 months is now 41 days past due
    assert (await client.get("/outcomes/reports/followups", headers=auth("team_manager"))).status_code == 200
    assert (await client.get("/outcomes/reports/followups", headers=auth("board_member"))).status_code == 403
    assert (await client.get("/outcomes/reports/followups", headers=auth("social_worker"))).status_code == 403
    assert (await client.get("/outcomes/reports/followups", params={"as_of": "2999-01-01"},
                             headers=auth("ops"))).status_code == 422
