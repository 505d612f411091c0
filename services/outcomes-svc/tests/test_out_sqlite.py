"""All-in-one mode keeps the promises on SQLite: migrations, follow-ups due exactly once under concurrent
runs, a result recorded once, detection. SQLite has no row locks; these are the paths that rely on them.
Events are handed to the service's own operations here (this app joins no consumer group)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

from sqlalchemy import func, select

from eoc_shared.clock import fixed_today
from eoc_shared.events.schemas import ChildOutcome, ChildUpdated, InterventionClosed
from eoc_shared.testing.fixtures import running, service_settings
from outcomes_svc import detecting, tracking
from outcomes_svc.app import create_app
from outcomes_svc.db.models import Followup, Outbox
from outcomes_svc.settings import OutcomesSettings

D = date.fromisoformat


async def test_scheduler_results_and_detection_hold_on_sqlite(tmp_path, broker, data_dir, auth) -> None:
    settings = service_settings(OutcomesSettings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'outcomes.sqlite3'}",
                                broker=broker, data_dir=data_dir, run_consumers=False, scheduler_interval_seconds=0,
                                scheduler_batch_size=4)
    app = create_app(settings)
    runtime = app.state.runtime
    ops, sw = auth("ops"), auth("social_worker")
    async with running(app) as client:
        children = [uuid.uuid4() for _ in range(6)]
        async with runtime.uow() as uow:
            await tracking.record_closure(uow, InterventionClosed(
                intervention_id=uuid.uuid4(), referral_id=uuid.uuid4(), family_id=uuid.uuid4(), child_ids=children,
                programme="FFT_CW", started_on=D("2023-03-01"), closed_on=D("2023-08-31"), reason="completed",
                child_outcomes=[ChildOutcome(child_id=c, living_situation="at_home") for c in children]))
            await uow.commit()

        runs = await asyncio.gather(*(client.post("/outcomes/scheduler/run", json={"as_of": "2024-09-01"}, headers=ops)
                                      for _ in range(3)))
        assert [r.status_code for r in runs] == [200, 200, 200]
        assert sum(r.json()["due"] for r in runs) == 12, [r.json() for r in runs]  # 6 and 12 months, 6 children
        async with runtime.db.sessions() as s:
            due_events = (await s.execute(select(func.count()).select_from(Outbox)
                                          .where(Outbox.topic == "followup.due"))).scalar_one()
            published = (await s.execute(select(func.count()).select_from(Followup)
                                         .where(Followup.due_published_at.is_not(None)))).scalar_one()
        assert (due_events, published) == (12, 12)

        with fixed_today(D("2024-09-01")):  # read on the scheduler's day
            rows = (await client.get(f"/outcomes/children/{children[0]}/followups", headers=sw)).json()
        assert [(r["checkpoint_months"], r["due_on"], r["status"]) for r in rows[:3]] == [
            (6, "2024-02-29", "overdue"), (12, "2024-08-31", "due"), (18, "2025-02-28", "scheduled")]
        with fixed_today(D("2025-03-01")):  # later, with no run since: from the dates alone
            later = (await client.get(f"/outcomes/children/{children[0]}/followups", headers=sw)).json()
        assert [r["status"] for r in later[:3]] == ["overdue", "overdue", "due"]

        body = {"observed_on": "2024-03-05", "living_situation": "at_home", "re_referred": False}
        answers = await asyncio.gather(*(client.post(f"/outcomes/followups/{rows[0]['id']}/result", json=body,
                                                     headers=sw) for _ in range(3)))
        assert sorted(a.status_code for a in answers) == [200, 409, 409]

        async with runtime.uow() as uow:
            await detecting.on_child_updated(uow, ChildUpdated(
                child_id=children[0], family_id=uuid.uuid4(), legal_status_before="CPP", legal_status="LAC",
                placement_type="U1", effective_on=D("2024-10-01")))
            await uow.commit()
        rows = (await client.get(f"/outcomes/children/{children[0]}/followups", headers=sw)).json()
        assert rows[0]["living_situation"] == "at_home"            # the practitioner's result stays
        assert {r["living_situation"] for r in rows[1:]} == {"in_care"}

        summary = (await client.get("/outcomes/summary", params={"financial_year": 2023}, headers=ops)).json()
        assert (summary["children_closed"], summary["success_rate"], summary["sustained"]["6"]) == (6, 1.0, 1.0)
        survival = (await client.get("/outcomes/survival", params={"programme": "FFT_CW"}, headers=ops)).json()
        assert (survival["children"], survival["events"]) == (6, 1)
