"""care_application.made on the bus: a signal on the child's follow-ups (`care_application_on`), never a
care entry — the follow-ups stay unrecorded. On PostgreSQL with the real broker."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from eoc_shared.events.envelope import build_envelope
from eoc_shared.events.schemas import CareApplicationMade, ChildOutcome, EventPayload, InterventionClosed
from eoc_shared.testing.fixtures import eventually, produce_raw, running, service_settings
from outcomes_svc.app import create_app
from outcomes_svc.db.care_application_models import CareApplicationSeen
from outcomes_svc.settings import OutcomesSettings


@pytest.fixture(scope="module")
async def app_client(databases: Any, broker: Any, data_dir: Any) -> AsyncIterator[tuple[Any, Any]]:
    url = await databases.create("outcomes_care_applications")
    app = create_app(service_settings(OutcomesSettings, database_url=url, broker=broker, data_dir=data_dir,
                                      scheduler_interval_seconds=0))
    async with running(app) as client:
        await eventually(lambda: app.state.runtime.consumers.connected, timeout=30)
        yield app, client


async def send(bootstrap: str, topic: str, data: EventPayload, key: uuid.UUID) -> None:
    env = build_envelope(topic, key=str(key), data=data, source="urn:eoc:referral")
    wire = json.dumps({k: v for k, v in env.items() if not k.startswith("_")}).encode()
    await produce_raw(bootstrap, topic, wire, key=str(key).encode())


async def test_a_care_application_shows_on_the_follow_ups_and_records_none(app_client, broker, auth) -> None:
    app, client = app_client
    served, never_served = uuid.uuid4(), uuid.uuid4()
    referral_id, intervention_id = uuid.uuid4(), uuid.uuid4()
    await send(broker.bootstrap, "intervention.closed", InterventionClosed(
        intervention_id=intervention_id, referral_id=referral_id, family_id=uuid.uuid4(), child_ids=[served],
        programme="MST", started_on=date(2023, 6, 1), closed_on=date(2024, 1, 31), reason="completed",
        child_outcomes=[ChildOutcome(child_id=served, living_situation="at_home")]), referral_id)
    application = CareApplicationMade(
        pre_proceedings_id=uuid.uuid4(), referral_id=uuid.uuid4(), family_id=uuid.uuid4(),
        application_id=uuid.uuid4(), child_ids=[served, never_served], applied_on=date(2024, 9, 10), order="care",
        urgent=False, fgdm_compliant=True)
    await send(broker.bootstrap, "care_application.made", application, application.referral_id)
    await send(broker.bootstrap, "care_application.made", application, application.referral_id)  # a new envelope
    headers = auth("social_worker")

    async def shown() -> list[dict[str, Any]] | None:
        rows = (await client.get(f"/outcomes/children/{served}/followups", headers=headers)).json()
        return rows if len(rows) == 7 and any("care_application_on" in r for r in rows) else None

    rows = {r["checkpoint_months"]: r for r in await eventually(shown, timeout=30)}
    assert "care_application_on" not in rows[6], "due 2024-07-31, before the application"
    assert all(rows[m]["care_application_on"] == "2024-09-10" for m in (12, 18, 24, 36, 48, 60))
    assert all(r["status"] in ("scheduled", "due", "overdue") and "living_situation" not in r for r in rows.values()), \
        "an application is not a care entry: no follow-up is recorded"
    async with app.state.runtime.db.sessions() as s:
        count = (await s.execute(select(func.count()).select_from(CareApplicationSeen).where(
            CareApplicationSeen.application_id == application.application_id))).scalar_one()
    assert count == 2, "kept once per child, also for a child with no closure yet"
