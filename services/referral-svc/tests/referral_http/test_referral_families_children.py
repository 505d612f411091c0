"""Families and children: strict validation, PATCH, and child.updated when a child's care status changes."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select

from eoc_shared.testing.fixtures import running, service_settings
from eoc_shared.testing.harness import assert_problem
from referral_svc.app import create_app
from referral_svc.db.models import AuditEntry
from referral_svc.settings import ReferralSettings

from .conftest import child_body, new_nhs_number


def _family_body(la_reference: str) -> dict[str, object]:
    return {"la_reference": la_reference, "postcode_district": "LS6", "primary_language": "en",
            "interpreter_needed": False}


async def _registrations_together(client, headers, taken: str, others: list[str]) -> None:
    """Four registrations of one la_reference among others, sent at once: concurrent registrations share a
    statement (group commit), and each la_reference is still registered once."""
    answers = await asyncio.gather(*(client.post("/referrals/families", json=_family_body(ref), headers=headers)
                                     for ref in [taken, *others[:3], taken, taken, *others[3:], taken]))
    same = [answers[0], answers[4], answers[5], answers[-1]]
    assert sorted(a.status_code for a in same) == [201, 409, 409, 409], [a.text for a in same]
    for refused in (a for a in same if a.status_code == 409):
        assert_problem(refused, 409, "la_reference")
    made = [a for a in answers if a.status_code == 201]
    assert sorted(a.json()["la_reference"] for a in made) == sorted([taken, *others])
    for answer in made:  # each family answered as created is there, as answered
        got = await client.get(f"/referrals/families/{answer.json()['id']}", headers=headers)
        assert got.status_code == 200 and got.json()["la_reference"] == answer.json()["la_reference"]
    again = await client.post("/referrals/families", json=_family_body(others[0]), headers=headers)
    assert_problem(again, 409, "la_reference")


async def _children_together(client, headers, audited: Callable[[], Awaitable[int]]) -> None:
    """Child registrations sent at once (group commit): each answered as it would be alone — a missing family
    404, a date of birth in the future 422, a taken la_child_id or NHS number 409 naming it — and the others made,
    each with its audit row (`audited()`: how many child.created rows the audit log holds) and no refused one."""
    family = (await client.post("/referrals/families", json=_family_body(f"LA-{uuid.uuid4().hex[:10]}"),
                                headers=headers)).json()
    path = f"/referrals/families/{family['id']}/children"
    la, nhs = f"CH-{uuid.uuid4().hex[:10]}", new_nhs_number()
    calls = [
        (path, child_body(la_child_id=la)), (path, child_body(la_child_id=la)),
        (path, child_body(nhs_number=nhs)), (path, child_body(nhs_number=nhs)),
        (f"/referrals/families/{uuid.uuid4()}/children", child_body()),
        (path, child_body(date_of_birth="2999-01-01")),
        (path, child_body()), (path, child_body()),
    ]
    audited_before = await audited()
    answers = await asyncio.gather(*(client.post(where, json=body, headers=headers) for where, body in calls))
    assert sorted(a.status_code for a in answers[:2]) == [201, 409]
    assert_problem(next(a for a in answers[:2] if a.status_code == 409), 409, "la_child_id")
    assert sorted(a.status_code for a in answers[2:4]) == [201, 409]
    assert_problem(next(a for a in answers[2:4] if a.status_code == 409), 409, "nhs_number")
    assert answers[4].status_code == 404, answers[4].text
    assert_problem(answers[5], 422, "date_of_birth")
    made = [a.json() for a in answers if a.status_code == 201]
    assert len(made) == 4
    assert await audited() == audited_before + 4
    got = await client.get(f"/referrals/families/{family['id']}", headers=headers)
    assert sorted(got.json()["child_ids"]) == sorted(c["id"] for c in made)
    for child in made:  # each child answered as created is there, as answered
        read = await client.get(f"/referrals/children/{child['id']}", headers=headers)
        assert read.status_code == 200 and read.json()["la_child_id"] == child["la_child_id"]


async def test_registrations_arriving_together_register_each_la_reference_once(quiet, sw) -> None:
    await _registrations_together(quiet.client, sw, f"LA-{uuid.uuid4().hex[:10]}",
                                 [f"LA-{uuid.uuid4().hex[:10]}" for _ in range(6)])


async def test_registrations_arriving_together_on_sqlite(tmp_path, broker, data_dir, auth) -> None:
    settings = service_settings(ReferralSettings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'referral.sqlite3'}",
                                broker=broker, data_dir=data_dir, run_consumers=False, timers_interval_seconds=0)
    async with running(create_app(settings)) as client:
        await _registrations_together(client, auth("social_worker"), "LA-TAKEN", [f"LA-{i}" for i in range(6)])
        await _children_together(client, auth("social_worker"), functools.partial(_sqlite_audited, tmp_path / "referral.sqlite3"))


async def test_child_registrations_arriving_together_are_each_answered_as_alone(quiet, sw) -> None:
    await _children_together(quiet.client, sw, lambda: quiet.count(AuditEntry, AuditEntry.action == "child.created"))


async def _sqlite_audited(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT count(*) FROM audit_log WHERE action = 'child.created'").fetchone()[0])


async def test_family_and_child_read_and_patch(quiet, sw, auth) -> None:
    family_id, (child_id,) = await quiet.family()
    r = await quiet.client.get(f"/referrals/families/{family_id}", headers=sw)
    assert r.status_code == 200 and r.json()["child_ids"] == [child_id]

    r = await quiet.client.patch(f"/referrals/families/{family_id}",
                                 json={"postcode_district": "ls7", "interpreter_needed": True}, headers=sw)
    assert r.status_code == 200, r.text
    assert r.json()["postcode_district"] == "LS7" and r.json()["interpreter_needed"] is True
    assert r.json()["primary_language"] == "en"

    r = await quiet.client.patch(f"/referrals/children/{child_id}", json={"given_name": "Sam", "ethnicity": "MWBC"},
                                 headers=sw)
    assert r.status_code == 200, r.text
    assert (r.json()["given_name"], r.json()["ethnicity"], r.json()["legal_status"]) == ("Sam", "MWBC", "CPP")
    got = await quiet.client.get(f"/referrals/children/{child_id}", headers=auth("team_manager"))
    assert got.status_code == 200 and got.json()["given_name"] == "Sam"


async def test_bad_patches_are_refused_and_change_nothing(quiet, sw) -> None:
    nhs = quiet.nhs_number()
    family_id, (child_id,) = await quiet.family([quiet.child_body(nhs_number=nhs)])
    _other, (other_child,) = await quiet.family()
    taken = (await quiet.client.get(f"/referrals/children/{other_child}", headers=sw)).json()["la_child_id"]
    before = await quiet.outbox()
    cases = [
        ({"sex": "X"}, "sex", 422),
        ({"sex": None}, "sex", 422),
        ({"ethnicity": "ZZZZ"}, "ethnicity", 422),
        ({"nhs_number": "9434765918"}, "nhs_number", 422),
        ({"nhs_number": int(nhs)}, "nhs_number", 422),
        ({"legal_status": "LAC"}, "placement_type", 422),
        ({"legal_status": "LAC", "placement_type": "U9"}, "placement_type", 422),
        ({"legal_status": "LAC", "placement_type": "U6", "effective_on": "2999-01-01"}, "effective_on", 422),
        ({"legal_status": "LAC", "placement_type": "U6", "effective_on": "2001-01-01"}, "effective_on", 422),
        ({"given_name": "Kim", "effective_on": "2024-01-01"}, "effective_on", 422),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", 422),
        ({"colour": "red"}, "colour", 422),
        ({}, "body", 422),
        ({"la_child_id": taken}, "la_child_id", 409),
    ]
    for body, field, code in cases:
        r = await quiet.client.patch(f"/referrals/children/{child_id}", json=body, headers=sw)
        assert r.status_code == code, (body, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        if code == 422:
            assert field in [e["field"] for e in r.json()["errors"]], (body, r.json())
    for body, field in [({"interpreter_needed": "yes"}, "interpreter_needed"), ({"primary_language": "eng"},
                        "primary_language"), ({"la_reference": None}, "la_reference")]:
        r = await quiet.client.patch(f"/referrals/families/{family_id}", json=body, headers=sw)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    child = (await quiet.client.get(f"/referrals/children/{child_id}", headers=sw)).json()
    assert (child["legal_status"], child["sex"], child["nhs_number"]) == ("CPP", "M", nhs)
    assert await quiet.outbox() == before
    r = await quiet.client.patch(f"/referrals/children/{uuid.uuid4()}", json={"sex": "F"}, headers=sw)
    assert r.status_code == 404


async def test_entering_and_leaving_care_publishes_child_updated(quiet, sw, probe) -> None:
    _family, (child_id,) = await quiet.family()
    r = await quiet.client.patch(f"/referrals/children/{child_id}",
                                 json={"legal_status": "LAC", "placement_type": "U6", "effective_on": "2024-07-01"},
                                 headers=sw)
    assert r.status_code == 200, r.text
    assert (r.json()["legal_status"], r.json()["placement_type"]) == ("LAC", "U6")
    r = await quiet.client.patch(f"/referrals/children/{child_id}", json={"placement_type": "K2"}, headers=sw)
    assert r.status_code == 200
    r = await quiet.client.patch(f"/referrals/children/{child_id}", json={"legal_status": "CIN"}, headers=sw)
    assert r.status_code == 200 and r.json()["placement_type"] is None
    # Not a care change: no event.
    assert (await quiet.client.patch(f"/referrals/children/{child_id}", json={"given_name": "Jo"},
                                     headers=sw)).status_code == 200
    events = await probe.wait_for("child.updated", lambda m: m["data"]["child_id"] == child_id, count=3)
    data = [e["data"] for e in events]
    assert data[0]["legal_status_before"] == "CPP" and data[0]["legal_status"] == "LAC"
    assert data[0]["placement_type"] == "U6" and data[0]["effective_on"] == "2024-07-01"
    assert (data[1]["placement_type_before"], data[1]["placement_type"]) == ("U6", "K2")
    assert (data[2]["legal_status_before"], data[2]["legal_status"], data[2]["placement_type"]) == ("LAC", "CIN", None)
    raw = json.dumps(events)
    assert "Jo" not in raw and "2010-06-15" not in raw and "given_name" not in raw
    assert len(probe.on("child.updated", lambda m: m["data"]["child_id"] == child_id)) == 3


async def test_children_validation_on_create(quiet, sw) -> None:
    family_id, _ = await quiet.family()
    dup = quiet.child_body()
    assert (await quiet.client.post(f"/referrals/families/{family_id}/children", json=dup, headers=sw)).status_code == 201
    r = await quiet.client.post(f"/referrals/families/{family_id}/children", json={**dup}, headers=sw)
    assert r.status_code == 409 and "la_child_id" in r.json()["detail"]
    for body, field in [
        (quiet.child_body(legal_status="LAC", placement_type="U7"), "placement_type"),
        (quiet.child_body(legal_status="XYZ"), "legal_status"),
        (quiet.child_body(sex="f"), "sex"),
        (quiet.child_body(nhs_number="4010232138"), "nhs_number"),
    ]:
        r = await quiet.client.post(f"/referrals/families/{family_id}/children", json=body, headers=sw)
        assert r.status_code == 422 and field in [e["field"] for e in r.json()["errors"]], (field, r.text)


async def test_board_members_and_partners_never_read_a_child(quiet, auth) -> None:
    family_id, (child_id,) = await quiet.family()
    for role, source in (("board_member", None), ("partner_feed", "police"), ("ops", None),
                         ("finance_officer", None), ("placements_officer", None)):
        headers = auth(role, source=source)
        for path in (f"/referrals/children/{child_id}", f"/referrals/families/{family_id}",
                     f"/referrals/children/{child_id}/timeline"):
            r = await quiet.client.get(path, headers=headers)
            assert r.status_code == 403, (role, path, r.status_code)
        r = await quiet.client.patch(f"/referrals/children/{child_id}", json={"sex": "F"}, headers=headers)
        assert r.status_code == 403, role


async def test_a_referral_is_stored_with_all_that_belongs_to_it(quiet, sw) -> None:
    """Making a referral writes, together: the referral, its children in the order given, its first status
    (received, from nothing), its announcement and an audit row per child (one statement on PostgreSQL)."""
    from referral_svc.db.models import Outbox, ReferralChild, StatusChange

    family_id, children = await quiet.family(children=[child_body(), child_body()])
    made = await quiet.referral(family_id, list(reversed(children)), headers=sw)
    rid = uuid.UUID(made["id"])
    async with quiet.app.state.runtime.db.sessions() as s:
        links = (await s.execute(select(ReferralChild.child_id).where(ReferralChild.referral_id == rid)
                                 .order_by(ReferralChild.position))).scalars().all()
        statuses = (await s.execute(select(StatusChange.from_status, StatusChange.to_status, StatusChange.cause)
                                    .where(StatusChange.referral_id == rid))).all()
        announced = (await s.execute(select(Outbox.topic).where(Outbox.key == str(rid)))).scalars().all()
    assert [str(c) for c in links] == list(reversed(children))
    assert [tuple(row) for row in statuses][:1] == [(None, "received", "referral.created")]
    assert "referral.created" in announced
    for child_id in children:
        assert await quiet.count(AuditEntry, AuditEntry.child_id == uuid.UUID(child_id),
                                 AuditEntry.action == "referral.created") == 1
