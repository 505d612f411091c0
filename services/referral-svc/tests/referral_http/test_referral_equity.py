"""The equity funnel (contract v1.1) over HTTP on PostgreSQL, with 12-month results arriving as real
`followup.recorded` events on the broker: every stage, suppression at 4/5 and 9/10, each grouping."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from eoc_shared.events.envelope import build_envelope
from eoc_shared.events.schemas import FollowupRecorded
from eoc_shared.testing.fixtures import eventually, produce_raw
from eoc_shared.testing.harness import events_consumed
from referral_svc.db.models import Inbox

from .conftest import Service, child_body

FY = 2021  # a year no other test of this package refers into
REFERRED = "2021-05-04"
ALL_BUT_OTHER = {p: True for p in ("MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION")}


async def _recorded(svc: Service, child_id: str, intervention_id: str, months: int, living: str,
                    re_referred: bool = False) -> str:
    payload = FollowupRecorded(followup_id=uuid.uuid4(), child_id=uuid.UUID(child_id),
                               intervention_id=uuid.UUID(intervention_id), checkpoint_months=months,
                               living_situation=living, re_referred=re_referred, observed_on="2022-11-01")
    env = build_envelope("followup.recorded", key=child_id, data=payload, source="urn:eoc:outcomes")
    wire = json.dumps({k: v for k, v in env.items() if not k.startswith("_")}).encode()
    await produce_raw(svc.bootstrap, "followup.recorded", wire, key=child_id.encode())
    return str(env["id"])


@pytest.fixture(scope="module")
async def scenario(world: Any) -> dict[str, Any]:
    """FY 2021/22: family A (10 children, BAFR, aged 8, Somali with an interpreter: 5 F, 4 M, 1 U) eligible,
    started MST_BSF, closed with 9 at home; of those, 12-month results: 6 at home, 1 at home but re-referred,
    1 in care, and 1 with only a 6-month result. Family B (3 WBRI babies, English) eligible only for
    OTHER_PREVENTION, so not eligible. Family C (2 MWBA aged 16, Urdu) eligible, started FGC, which MST_BSF
    superseded (still active). Family D (1 WBRI baby, English) eligible for FGC but started only
    OTHER_PREVENTION, which is not a start."""
    svc: Service = world.svc
    sexes = ["F"] * 5 + ["M"] * 4 + ["U"]
    _fa, a_children = await svc.family(
        [child_body(ethnicity="BAFR", sex=s, date_of_birth="2013-01-01") for s in sexes],
        primary_language="so", interpreter_needed=True)
    _fb, b_children = await svc.family(
        [child_body(ethnicity="WBRI", sex="U", date_of_birth="2020-12-01") for _ in range(3)], primary_language="en")
    _fc, c_children = await svc.family(
        [child_body(ethnicity="MWBA", sex="U", date_of_birth="2005-01-01") for _ in range(2)], primary_language="ur")
    _fd, d_children = await svc.family(
        [child_body(ethnicity="WBRI", sex="U", date_of_birth="2020-12-01")], primary_language="en")

    ra = await svc.referral(_fa, a_children, referred_on=REFERRED)
    rb = await svc.referral(_fb, b_children, referred_on=REFERRED)
    rc = await svc.referral(_fc, c_children, referred_on=REFERRED)
    rd = await svc.referral(_fd, d_children, referred_on=REFERRED)
    await svc.decide(ra["id"], ALL_BUT_OTHER)
    await svc.decide(rb["id"], {"OTHER_PREVENTION": True})
    await svc.decide(rc["id"], ALL_BUT_OTHER)
    await svc.decide(rd["id"], {"FGC": True, "OTHER_PREVENTION": True})

    started = await svc.start(ra["id"], "MST_BSF", started_on="2021-06-01")
    assert started.status_code == 201, started.text
    iv_a = started.json()["id"]
    body = {"closed_on": "2021-11-01", "reason": "completed",
            "child_outcomes": [{"child_id": c, "living_situation": "at_home"} for c in a_children[:9]]
            + [{"child_id": a_children[9], "living_situation": "in_care", "placement_type": "U6"}]}
    closed = await svc.client.post(f"/referrals/interventions/{iv_a}/close", json=body, headers=svc.auth("social_worker"))
    assert closed.status_code == 200, closed.text
    assert (await svc.start(rc["id"], "FGC", started_on="2021-06-01")).status_code == 201
    superseding = await svc.start(rc["id"], "MST_BSF", started_on="2021-07-01")
    assert superseding.status_code == 201, superseding.text
    assert (await svc.start(rd["id"], "OTHER_PREVENTION", started_on="2021-06-01")).status_code == 201

    ignored_before = _ignored_followups()
    events = [await _recorded(svc, c, iv_a, 12, "at_home") for c in a_children[:6]]
    events.append(await _recorded(svc, a_children[6], iv_a, 12, "at_home", re_referred=True))
    events.append(await _recorded(svc, a_children[7], iv_a, 12, "in_care"))
    six_months = await _recorded(svc, a_children[8], iv_a, 6, "at_home")  # not ours to keep
    events.append(await _recorded(svc, a_children[9], iv_a, 12, "at_home"))  # not at home at closure
    ids = [uuid.UUID(e) for e in events]

    async def all_handled() -> bool:
        return await svc.count(Inbox, Inbox.event_id.in_(ids)) == len(ids)

    await eventually(all_handled, timeout=30, interval=0.1)
    # The 6-month result was settled without a transaction: counted as ignored, no inbox row.
    await eventually(lambda: _ignored_followups() >= ignored_before + 1, timeout=30, interval=0.1)
    assert await svc.count(Inbox, Inbox.event_id == uuid.UUID(six_months)) == 0
    return {"a": a_children, "b": b_children, "c": c_children, "d": d_children}


def _ignored_followups() -> float:
    return events_consumed("referral", "followup.recorded", "ignored")


async def _report(svc: Service, by: str, role: str = "board_member") -> dict[str, Any]:
    r = await svc.client.get("/referrals/reports/equity", params={"financial_year": FY, "by": by},
                             headers=svc.auth(role))
    assert r.status_code == 200, r.text
    return r.json()


def _group(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in report["groups"] if g["group"] == name)


async def test_every_stage_is_counted_as_the_contract_defines(svc: Service, scenario: dict[str, Any]) -> None:
    report = await _report(svc, "ethnic_group")
    assert report["financial_year"] == "2021/22" and report["by"] == "ethnic_group"
    total = report["total"]
    # 16 referred; B's OTHER_PREVENTION-only decision is not eligible; D's OTHER_PREVENTION start is not a start;
    # C's superseded FGC makes no one closed at home; A: 9 at home at closure, 6 at home and not re-referred at 12 months.
    assert [total[s] for s in ("referred", "eligible", "started", "closed_at_home", "at_home_12m")] == [16, 13, 12, 9, 6]
    assert total["rates"] == {"eligible": "0.8125", "started": "0.9231", "closed_at_home": "0.7500", "at_home_12m": None}


async def test_suppression_at_four_and_five_counts_and_nine_and_ten_denominators(svc: Service, scenario: dict[str, Any]) -> None:
    by_sex = await _report(svc, "sex", role="team_manager")
    assert _group(by_sex, "F")["referred"] == 5  # five is shown
    assert _group(by_sex, "M")["referred"] == "<5"  # four is not
    assert _group(by_sex, "U")["referred"] == 7
    black = _group(await _report(svc, "ethnic_group", role="ops"), "Black")
    assert [black[s] for s in ("referred", "eligible", "started", "closed_at_home", "at_home_12m")] == [10, 10, 10, 9, 6]
    # 9 of 10 started closed at home: a rate over 10 is shown; 6 of 9 at 12 months: over 9, it is not.
    assert black["rates"] == {"eligible": "1.0000", "started": "1.0000", "closed_at_home": "0.9000", "at_home_12m": None}
    white = _group(await _report(svc, "ethnic_group"), "White")
    assert (white["referred"], white["eligible"], white["started"], white["rates"]["eligible"]) == ("<5", "<5", 0, None)
    assert _group(await _report(svc, "ethnic_group"), "Chinese")["referred"] == 0


@pytest.mark.parametrize(("by", "expected"), [
    ("ethnic_group", {"Black": 10, "White": "<5", "Mixed": "<5", "Asian": 0}),
    ("ethnicity", {"BAFR": 10, "WBRI": "<5", "MWBA": "<5"}),
    ("primary_language", {"so": 10, "en": "<5", "ur": "<5"}),
    ("interpreter_needed", {"true": 10, "false": 6}),
    ("sex", {"F": 5, "M": "<5", "U": 7}),
    ("age_band", {"5-9": 10, "under 1": "<5", "16-17": "<5", "1-4": 0, "10-15": 0}),
])
async def test_each_grouping(svc: Service, scenario: dict[str, Any], by: str, expected: dict[str, Any]) -> None:
    report = await _report(svc, by)
    got = {g["group"]: g["referred"] for g in report["groups"]}
    assert {k: got.get(k) for k in expected} == expected
    assert report["total"]["referred"] == 16
    assert not any("-" in str(g["group"]) and len(str(g["group"])) == 36 for g in report["groups"])  # no ids


async def test_roles_and_bad_input(svc: Service, scenario: dict[str, Any]) -> None:
    for role in ("finance_officer", "social_worker", "practitioner"):
        r = await svc.client.get("/referrals/reports/equity", params={"financial_year": FY}, headers=svc.auth(role))
        assert r.status_code == 403, (role, r.text)
    r = await svc.client.get("/referrals/reports/equity", params={"financial_year": FY, "by": "postcode"},
                             headers=svc.auth("board_member"))
    assert r.status_code == 422 and "by" in r.text
    r = await svc.client.get("/referrals/reports/equity", params={"financial_year": "2021/22"},
                             headers=svc.auth("board_member"))
    assert r.status_code == 422 and "financial_year" in r.text
    assert (await svc.client.get("/referrals/reports/equity", params={"financial_year": FY})).status_code == 401


async def test_a_year_without_referrals_has_every_group_at_zero(svc: Service) -> None:
    report = (await svc.client.get("/referrals/reports/equity", params={"financial_year": 2001, "by": "sex"},
                                   headers=svc.auth("board_member"))).json()
    assert report["total"]["referred"] == 0 and report["total"]["rates"]["eligible"] is None


async def test_operations_pulse_counts_only(svc: Service, scenario: dict[str, Any]) -> None:
    r = await svc.client.get("/referrals/reports/operations", headers=svc.auth("ops"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert {q["programme"] for q in body["queues"]} >= {"MST", "MST_BSF", "FGC"}
    mst_bsf = next(q for q in body["queues"] if q["programme"] == "MST_BSF")
    assert mst_bsf["active_families"] >= 1  # family C
    assert body["consent_overdue"] >= 3  # B, C and D (still open) never signed consent in 2021
    assert (await svc.client.get("/referrals/reports/operations", headers=svc.auth("board_member"))).status_code == 403
    assert (await svc.client.get("/referrals/reports/operations", params={"as_of": "2999-01-01"},
                                 headers=svc.auth("ops"))).status_code == 422
