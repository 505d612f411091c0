"""Pre-proceedings in the all-in-one mode (SQLite): the whole path, one open record per referral, the
overdue-offer escalation sent once under concurrent runs, the report."""

from __future__ import annotations

import asyncio
import uuid

from eoc_shared.testing.fixtures import running, service_settings
from referral_svc.app import create_app
from referral_svc.settings import ReferralSettings


async def test_pre_proceedings_on_sqlite(tmp_path, broker, data_dir, auth) -> None:
    settings = service_settings(ReferralSettings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'referral.sqlite3'}",
                                broker=broker, data_dir=data_dir, run_consumers=False, timers_interval_seconds=0)
    app = create_app(settings)
    sw, tm, ops = auth("social_worker"), auth("team_manager"), auth("ops")
    async with running(app) as client:
        family = (await client.post("/referrals/families", json={
            "la_reference": uuid.uuid4().hex[:10], "postcode_district": "LS6", "primary_language": "en",
            "interpreter_needed": False}, headers=sw)).json()
        child = (await client.post(f"/referrals/families/{family['id']}/children", json={
            "la_child_id": uuid.uuid4().hex[:10], "given_name": "A", "family_name": "B", "date_of_birth": "2014-03-04",
            "sex": "F", "ethnicity": "WBRI", "legal_status": "CPP"}, headers=sw)).json()
        referral = (await client.post("/referrals", json={
            "family_id": family["id"], "child_ids": [child["id"]], "referred_on": "2026-04-01",
            "source": "legal_planning_meeting", "risk_factors": ["neglect"], "threshold_for_removal_met": True},
            headers=sw)).json()
        starts = await asyncio.gather(*(client.post(f"/referrals/{referral['id']}/pre-proceedings",
                                                    json={"started_on": "2026-04-13"}, headers=sw) for _ in range(3)))
        assert sorted(r.status_code for r in starts) == [201, 409, 409]
        record = next(r.json() for r in starts if r.status_code == 201)
        assert record["offer_due_on"] == "2026-04-20"
        base = f"/referrals/pre-proceedings/{record['id']}"
        mother = (await client.post(f"{base}/parties", json={"relationship": "mother", "child_ids": [child["id"]],
                                                             "given_name": "Zoë"}, headers=sw)).json()
        father = (await client.post(f"{base}/parties", json={"relationship": "father", "child_ids": [child["id"]]},
                                    headers=sw)).json()
        assert mother["given_name"] == "Zoë"

        runs = await asyncio.gather(*(client.post("/referrals/pre-proceedings/timers/run", json={"as_of": "2026-04-21"},
                                                  headers=ops) for _ in range(3)))
        assert [rid for r in runs for rid in r.json()["offer_overdue"]] == [record["id"]], "escalated once"

        offer = (await client.post(f"{base}/offers", json={"party_id": mother["id"], "offered_on": "2026-04-22",
                                                           "in_letter_before_proceedings": True}, headers=sw)).json()
        r = await client.post(f"/referrals/pre-proceedings/offers/{offer['id']}/response",
                              json={"responded_on": "2026-04-24", "response": "accepted"}, headers=sw)
        assert r.status_code == 200, r.text
        r = await client.post(f"{base}/exceptions", json={"kind": "not_offered", "party_id": father["id"],
                                                          "decided_on": "2026-04-22", "reason": "domestic_abuse",
                                                          "explanation": "Panel decision."}, headers=tm)
        assert r.status_code == 201, r.text
        r = await client.patch(base, json={"letter_before_proceedings_on": "2026-04-22"}, headers=sw)
        assert r.status_code == 200
        r = await client.post(f"{base}/application", json={"applied_on": "2026-05-20", "order": "care",
                                                           "urgent": False}, headers=sw)
        assert r.status_code == 409 and "meeting duty" in r.json()["detail"]
        r = await client.post(f"{base}/meetings", json={"held_on": "2026-05-12", "outcome": "partly_agreed",
                                                        "child_participation": "attended",
                                                        "network_attendees": {"grandparent": 1}}, headers=sw)
        assert r.status_code == 201, r.text
        r = await client.post(f"{base}/application", json={"applied_on": "2026-05-20", "order": "care",
                                                           "urgent": False}, headers=sw)
        assert r.status_code == 201, r.text
        got = (await client.get(base, headers=sw)).json()
        assert got["status"] == "applied" and got["compliance"]["ready_to_apply"] is False
        report = (await client.get("/referrals/reports/fgdm", params={"financial_year": 2026, "quarter": 1},
                                   headers=auth("board_member"))).json()
        assert (report["started"], report["parties"], report["parties_offered"], report["offers_accepted"],
                report["meetings_held"], report["applications"], report["applications_with_meeting_before"],
                report["exceptions"]["not_offered"]["domestic_abuse"]) == (1, 2, 1, 1, 1, 1, 1, 1)
