"""All-in-one mode (SQLite): feed batches and concurrent single events keep the same promises as on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from eoc_shared.testing.fixtures import running, service_settings
from referral_svc.app import create_app
from referral_svc.db.models import Outbox, PartnerEvent
from referral_svc.settings import ReferralSettings


def feed_event(la_child_id: str, **overrides):
    return {"external_id": f"S-{uuid.uuid4().hex[:12]}", "occurred_at": "2024-06-20T21:15:00Z",
            "child": {"la_child_id": la_child_id}, "kind": "arrest", **overrides}


async def test_feed_batches_and_racing_singles_on_sqlite(tmp_path, broker, data_dir, auth) -> None:
    settings = service_settings(ReferralSettings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'referral.sqlite3'}",
                                broker=broker, data_dir=data_dir, run_consumers=False, timers_interval_seconds=0)
    app = create_app(settings)
    sw, police = auth("social_worker"), auth("partner_feed", source="police")
    async with running(app) as client:
        family = (await client.post("/referrals/families", json={
            "la_reference": uuid.uuid4().hex[:10], "postcode_district": "LS6", "primary_language": "en",
            "interpreter_needed": False}, headers=sw)).json()
        la_child_id = uuid.uuid4().hex[:10]
        r = await client.post(f"/referrals/families/{family['id']}/children", json={
            "la_child_id": la_child_id, "given_name": "A", "family_name": "B", "date_of_birth": "2011-03-04",
            "sex": "U", "ethnicity": "NOBT", "legal_status": "CIN"}, headers=sw)
        assert r.status_code == 201
        events = [feed_event(la_child_id) for _ in range(50)]
        events.append({**events[0], "kind": "caution"})
        calls = [client.post("/referrals/feeds/police/events/batch", json={"events": events}, headers=police)
                 for _ in range(2)]
        calls += [client.post("/referrals/feeds/police/events", json=e, headers=police) for e in events[:10]]
        answers = await asyncio.gather(*calls)
        assert [a.status_code for a in answers] == [200, 200] + [202] * 10
        first, second = (a.json()["results"] for a in answers[:2])
        assert first[-1] == {"external_id": events[0]["external_id"], "status": "duplicate", "id": first[0]["id"]}
        assert [x["id"] for x in first] == [x["id"] for x in second]
        assert [a.json()["id"] for a in answers[2:]] == [x["id"] for x in first[:10]]
        async with app.state.runtime.db.sessions() as s:
            assert (await s.execute(select(func.count()).select_from(PartnerEvent))).scalar_one() == 50
            assert (await s.execute(select(func.count()).select_from(Outbox).where(
                Outbox.topic == "partner.event.received"))).scalar_one() == 50
