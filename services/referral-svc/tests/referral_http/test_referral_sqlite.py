"""All-in-one mode keeps its promises on SQLite: migrations, one place given once, escalations once.

SQLite has no row locks; these are the paths that would otherwise give a place twice. The decision is
applied through the service's own operation here (no consumer group to join: this app has none).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from eoc_shared.events.schemas import EligibilityDecided, ProgrammeDecision
from eoc_shared.testing.fixtures import running, service_settings
from referral_svc import assessment
from referral_svc.app import create_app
from referral_svc.settings import ReferralSettings

PROGRAMMES = ["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION"]


async def test_capacity_and_timers_hold_under_concurrency_on_sqlite(tmp_path, broker, data_dir, auth) -> None:
    settings = service_settings(ReferralSettings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'referral.sqlite3'}",
                                broker=broker, data_dir=data_dir, run_consumers=False, timers_interval_seconds=0)
    app = create_app(settings)
    sw, ops = auth("social_worker"), auth("ops")
    async with running(app) as client:
        referral_ids = []
        for _ in range(5):
            family = (await client.post("/referrals/families", json={
                "la_reference": uuid.uuid4().hex[:10], "postcode_district": "LS6", "primary_language": "en",
                "interpreter_needed": False}, headers=sw)).json()
            child = (await client.post(f"/referrals/families/{family['id']}/children", json={
                "la_child_id": uuid.uuid4().hex[:10], "given_name": "A", "family_name": "B",
                "date_of_birth": "2011-03-04", "sex": "U", "ethnicity": "NOBT", "legal_status": "CIN"},
                headers=sw)).json()
            referral = (await client.post("/referrals", json={
                "family_id": family["id"], "child_ids": [child["id"]], "referred_on": "2024-05-01",
                "source": "partner_agency", "risk_factors": ["family_breakdown"], "threshold_for_removal_met": False},
                headers=sw)).json()
            async with app.state.runtime.uow() as uow:
                await assessment.apply_eligibility_decision(uow, EligibilityDecided(
                    referral_id=referral["id"], decision_id=uuid.uuid4(), rule_version=1, recommended="FGC",
                    programmes=[ProgrammeDecision(programme=p, eligible=p in ("FGC", "OTHER_PREVENTION"), reasons=[])
                                for p in PROGRAMMES], decided_at=datetime.now(UTC)), "urn:eoc:eligibility")
                await uow.commit()
            referral_ids.append(referral["id"])

        assert (await client.put("/referrals/programmes/FGC/capacity", json={"capacity": 1}, headers=ops)).status_code == 200
        answers = await asyncio.gather(*(client.post(f"/referrals/{rid}/interventions",
                                                     json={"programme": "FGC", "started_on": "2024-06-01"}, headers=sw)
                                         for rid in referral_ids))
        assert sorted(a.status_code for a in answers) == [201, 202, 202, 202, 202]

        runs = await asyncio.gather(*(client.post("/referrals/timers/run", json={"as_of": "2024-06-01"}, headers=ops)
                                      for _ in range(3)))
        escalated = [rid for r in runs for rid in r.json()["consent_overdue"]]
        assert sorted(escalated) == sorted(referral_ids), "each referral escalated exactly once"
