"""eligibility-svc over HTTP on PostgreSQL with the real broker, started once for this module.

Referrals arrive as real `referral.created` / `referral.updated` events on the broker; what the service
publishes is read back from the broker. Tests that add rule sets in force today run last (they change
what "today" decides); the others pin their dates.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from eligibility_svc.app import create_app
from eligibility_svc.db.models import DecisionRecord, Outbox, RuleSetRecord
from eligibility_svc.domain.ruleset import RULES_V1
from eligibility_svc.settings import EligibilitySettings
from eoc_shared.clock import today
from eoc_shared.events.bus import producer_for
from eoc_shared.events.envelope import build_envelope
from eoc_shared.events.schemas import ChildFacts, ReferralCreated, ReferralUpdated
from eoc_shared.testing import harness
from eoc_shared.testing.fixtures import eventually, service_settings
from eoc_shared.testing.harness import assert_problem

ORDER = ["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION"]


@dataclass
class Svc:
    client: httpx.AsyncClient
    app: Any
    producer: AIOKafkaProducer
    probe: Any
    auth: Any

    async def count(self, model: Any, *where: Any) -> int:
        async with self.app.state.runtime.db.sessions() as s:
            return int((await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one())

    async def send(self, topic: str, data: ReferralCreated | ReferralUpdated) -> dict[str, Any]:
        env = build_envelope(topic, key=str(data.referral_id), data=data, source="urn:eoc:referral")
        wire = {k: v for k, v in env.items() if not k.startswith("_")}
        await self.producer.send_and_wait(topic, json.dumps(wire).encode(), key=str(data.referral_id).encode())
        return wire

    async def decisions(self, referral_id: uuid.UUID, count: int = 1) -> list[dict[str, Any]]:
        """Wait until the referral has `count` decisions; its history, oldest first."""
        headers = self.auth("social_worker")

        async def enough() -> list[dict[str, Any]] | None:
            r = await self.client.get(f"/eligibility/decisions/{referral_id}", params={"all": "true"}, headers=headers)
            return r.json() if r.status_code == 200 and len(r.json()) >= count else None

        return await eventually(enough, timeout=90, interval=0.05)

    def published(self, referral_id: uuid.UUID) -> list[dict[str, Any]]:
        return self.probe.on(
            "eligibility.decided",
            lambda m: isinstance(m, dict) and isinstance(m.get("data"), dict) and m["data"].get("referral_id") == str(referral_id),
        )


def created(children: list[tuple[int, str]], factors: list[str], threshold: bool, referred_on: date = date(2024, 5, 1),
            referral_id: uuid.UUID | None = None) -> ReferralCreated:
    return ReferralCreated(
        referral_id=referral_id or uuid.uuid4(), family_id=uuid.uuid4(), referred_on=referred_on,
        source="legal_planning_meeting", risk_factors=factors, threshold_for_removal_met=threshold,
        children=[ChildFacts(child_id=uuid.uuid4(), age_years=a, legal_status=s) for a, s in children],
    )


def updated(base: ReferralCreated, changed: list[str], **facts: Any) -> ReferralUpdated:
    children = facts.pop("children", None)
    data = {
        "referral_id": base.referral_id, "family_id": base.family_id, "status": "assessing", "changed": changed,
        "referred_on": base.referred_on, "risk_factors": base.risk_factors,
        "threshold_for_removal_met": base.threshold_for_removal_met, "children": base.children, **facts,
    }
    if children is not None:
        data["children"] = [ChildFacts(child_id=uuid.uuid4(), age_years=a, legal_status=s) for a, s in children]
    return ReferralUpdated(**data)


@pytest.fixture(scope="module")
async def svc(databases: Any, broker: Any, data_dir: Any, auth: Any) -> AsyncIterator[Svc]:
    url = await databases.create("eligibility")
    app = create_app(service_settings(EligibilitySettings, database_url=url, broker=broker, data_dir=data_dir))
    async with harness.started(app, bootstrap=broker.bootstrap, topics=["eligibility.decided"]) as s:
        producer = producer_for(broker.bootstrap)
        await producer.start()
        try:
            yield Svc(s.client, app, producer, s.probe, auth)
        finally:
            await producer.stop()


def v1_document(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(json.loads(RULES_V1.model_dump_json()))
    doc.update(changes)
    return doc


# ----------------------------------------------------------------------------------------- decisions

async def test_a_new_referral_is_decided_stored_and_published(svc: Svc) -> None:
    referral = created([(15, "CPP"), (9, "LAC")], ["behaviour"], True)
    sent = await svc.send("referral.created", referral)
    (decision,) = await svc.decisions(referral.referral_id)
    assert decision["referral_id"] == str(referral.referral_id)
    assert decision["rule_version"] == 1 and decision["recommended"] == "MST"
    assert decision["trigger"] == "referral.created"
    assert decision["inputs"] == {
        "children": [{"age_years": 15, "legal_status": "CPP"}, {"age_years": 9, "legal_status": "LAC"}],
        "risk_factors": ["behaviour"], "threshold_for_removal_met": True, "as_of": "2024-05-01",
    }
    by = {p["programme"]: p for p in decision["programmes"]}
    assert list(by) == ORDER
    assert {p for p, v in by.items() if v["eligible"]} == {"MST", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION"}
    assert by["FFT_CW"]["reasons"] == ["eligible for MST, so FFT_CW does not apply"]
    assert by["MST"]["reasons"] == ["child aged 11–17 who is not looked after (aged 15)", "risk factor: behaviour"]

    latest = (await svc.client.get(f"/eligibility/decisions/{referral.referral_id}", headers=svc.auth("team_manager"))).json()
    assert latest["decision_id"] == decision["decision_id"] and latest["decided_at"] == decision["decided_at"]

    events = await svc.probe.wait_for("eligibility.decided", lambda m: isinstance(m, dict)
                                      and m.get("data", {}).get("referral_id") == str(referral.referral_id))
    event = events[0]
    assert event["type"] == "eligibility.decided.v1" and event["source"] == "urn:eoc:eligibility"
    assert event["data"]["decision_id"] == decision["decision_id"]
    assert event["data"]["recommended"] == "MST" and event["data"]["rule_version"] == 1
    assert event["data"]["programmes"] == decision["programmes"]
    keys = [k for t, k, v, _h in svc.probe.messages if t == "eligibility.decided" and isinstance(v, dict)
            and v["data"]["referral_id"] == str(referral.referral_id)]
    assert keys == [str(referral.referral_id).encode()]
    async with svc.app.state.runtime.db.sessions() as s:
        stored = (await s.execute(select(DecisionRecord).where(DecisionRecord.referral_id == referral.referral_id))).scalar_one()
    assert str(stored.trigger_event_id) == sent["id"]


async def test_a_change_of_children_or_risk_factors_is_decided_again_and_the_old_decision_kept(svc: Svc) -> None:
    referral = created([(14, "CPP")], ["behaviour"], False)
    await svc.send("referral.created", referral)
    (first,) = await svc.decisions(referral.referral_id)
    assert first["recommended"] == "MST"

    # a status change alone decides nothing; the next three changes each make a new decision
    await svc.send("referral.updated", updated(referral, ["status"]))
    await svc.send("referral.updated", updated(referral, ["risk_factors"], risk_factors=["behaviour", "psychosis"]))
    await svc.send("referral.updated", updated(referral, ["children"], risk_factors=["neglect"], children=[(9, "CPP")]))
    await svc.send("referral.updated", updated(referral, ["threshold_for_removal_met"], risk_factors=["neglect"],
                                               children=[(9, "CPP")], threshold_for_removal_met=True))
    history = await svc.decisions(referral.referral_id, count=4)
    assert len(history) == 4, "the status-only update made no decision"
    assert history[0] == first, "the old decision is kept unchanged"
    assert [d["trigger"] for d in history] == ["referral.created"] + ["referral.updated"] * 3
    assert [d["recommended"] for d in history] == ["MST", "OTHER_PREVENTION", "OTHER_PREVENTION", "MST_BSF"]
    mst = next(p for p in history[1]["programmes"] if p["programme"] == "MST")
    assert mst == {"programme": "MST", "eligible": False, "reasons": ["excluded: psychosis"]}
    assert history[3]["inputs"]["threshold_for_removal_met"] is True
    assert [d["decided_at"] for d in history] == sorted(d["decided_at"] for d in history)
    assert len({d["decision_id"] for d in history}) == 4

    latest = (await svc.client.get(f"/eligibility/decisions/{referral.referral_id}", headers=svc.auth("social_worker"))).json()
    assert latest == history[-1]
    await eventually(lambda: len(svc.published(referral.referral_id)) >= 4, timeout=90)
    assert [e["data"]["decision_id"] for e in svc.published(referral.referral_id)] == [d["decision_id"] for d in history]


async def test_reading_decisions(svc: Svc) -> None:
    sw = svc.auth("social_worker")
    unknown = uuid.uuid4()
    assert_problem(await svc.client.get(f"/eligibility/decisions/{unknown}", headers=sw), 404)
    assert_problem(await svc.client.get(f"/eligibility/decisions/{unknown}?all=true", headers=sw), 404)
    assert_problem(await svc.client.get("/eligibility/decisions/not-a-uuid", headers=sw), 422, "referral_id")
    assert_problem(await svc.client.get(f"/eligibility/decisions/{unknown}?all=yes", headers=sw), 422, "all")
    assert_problem(await svc.client.get(f"/eligibility/decisions/{unknown}"), 401)
    for role in ("board_member", "finance_officer", "ops"):
        assert_problem(await svc.client.get(f"/eligibility/decisions/{unknown}", headers=svc.auth(role)), 403)


# ----------------------------------------------------------------------------------------- what-if

WHAT_IF = {"children": [{"age_years": 14, "legal_status": "CPP"}], "risk_factors": ["offending"],
           "threshold_for_removal_met": True, "as_of": "2024-05-01"}


async def test_what_if_answers_and_stores_and_publishes_nothing(svc: Svc) -> None:
    """Every what-if here has a looked-after 23-year-old, whose age shows in FFT_REUNIFICATION's reasons:
    no decision, outbox row or event may ever carry it (the service may meanwhile decide other referrals)."""
    sw = svc.auth("social_worker")
    marker = {"age_years": 23, "legal_status": "LAC"}
    since = datetime.now(UTC)
    r = await svc.client.post("/eligibility/assessments", json={**WHAT_IF, "children": [*WHAT_IF["children"], marker]},
                              headers=sw)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rule_version"] == 1 and body["recommended"] == "MST" and body["as_of"] == "2024-05-01"
    assert [p["programme"] for p in body["programmes"]] == ORDER
    assert body["programmes"][3]["reasons"] == ["child who is looked after (aged 23)"]
    excluded = await svc.client.post("/eligibility/assessments", headers=sw, json={
        **WHAT_IF, "children": [{"age_years": 14, "legal_status": "CPP"}, marker], "risk_factors": ["offending", "sexual_harm"]})
    mst = next(p for p in excluded.json()["programmes"] if p["programme"] == "MST")
    assert mst["reasons"] == ["excluded: sexual_harm"] and excluded.json()["recommended"] == "OTHER_PREVENTION"
    for body_ in (
        {**WHAT_IF, "children": [marker], "risk_factors": []},
        {k: v for k, v in WHAT_IF.items() if k != "as_of"} | {"children": [marker]},
    ):
        r = await svc.client.post("/eligibility/assessments", json=body_, headers=svc.auth("practitioner"))
        assert r.status_code == 200, r.text
    await asyncio.sleep(0.5)  # give a (wrong) relay time to publish
    async with svc.app.state.runtime.db.sessions() as s:
        decisions = (await s.execute(select(DecisionRecord).where(DecisionRecord.decided_at >= since))).scalars().all()
        outbox = (await s.execute(select(Outbox).where(Outbox.created_at >= since))).scalars().all()
    assert not [d for d in decisions if marker in d.inputs["children"]], "a what-if stores no decision"
    assert not [o for o in outbox if "aged 23" in json.dumps(o.payload)], "a what-if writes nothing to the outbox"
    assert not svc.probe.on("eligibility.decided", lambda m: "aged 23" in json.dumps(m)), "a what-if publishes nothing"


@pytest.mark.parametrize(("change", "field"), [
    ({"children": [{"age_years": -1, "legal_status": "CPP"}]}, "children.0.age_years"),
    ({"children": [{"age_years": 26, "legal_status": "CPP"}]}, "children.0.age_years"),
    ({"children": [{"age_years": "14", "legal_status": "CPP"}]}, "children.0.age_years"),
    ({"children": [{"age_years": 14.0, "legal_status": "CPP"}]}, "children.0.age_years"),
    ({"children": [{"age_years": True, "legal_status": "CPP"}]}, "children.0.age_years"),
    ({"children": [{"age_years": 14, "legal_status": "XYZ"}]}, "children.0.legal_status"),
    ({"children": [{"age_years": 14}]}, "children.0.legal_status"),
    ({"children": [{"age_years": 14, "legal_status": "CPP", "name": "Jo"}]}, "children.0.name"),
    ({"children": []}, "children"),
    ({"risk_factors": ["offending", "gambling"]}, "risk_factors.1"),
    ({"risk_factors": ["offending", "offending"]}, "risk_factors"),
    ({"risk_factors": "offending"}, "risk_factors"),
    ({"threshold_for_removal_met": "true"}, "threshold_for_removal_met"),
    ({"threshold_for_removal_met": 1}, "threshold_for_removal_met"),
    ({"threshold_for_removal_met": None}, "threshold_for_removal_met"),
    ({"as_of": "01/05/2024"}, "as_of"),
    ({"as_of": "1999-12-31"}, "as_of"),
    ({"colour": "red"}, "colour"),
])
async def test_what_if_refuses_bad_input(svc: Svc, change: dict[str, Any], field: str) -> None:
    r = await svc.client.post("/eligibility/assessments", json={**WHAT_IF, **change}, headers=svc.auth("social_worker"))
    assert_problem(r, 422, field)


async def test_what_if_needs_a_role_that_assesses(svc: Svc) -> None:
    assert_problem(await svc.client.post("/eligibility/assessments", json=WHAT_IF), 401)
    for role, source in (("board_member", None), ("finance_officer", None), ("partner_feed", "police")):
        r = await svc.client.post("/eligibility/assessments", json=WHAT_IF, headers=svc.auth(role, source=source))
        assert_problem(r, 403)


# ----------------------------------------------------------------------------------------- report

async def test_the_rejection_report_counts_the_latest_decision_of_each_referral(svc: Svc) -> None:
    fy = 2012  # a year no other test uses: referral dates 1 April 2012 to 31 March 2013
    mst = created([(14, "CPP")], ["behaviour"], False, date(2012, 4, 1))
    bsf = created([(8, "CPP")], ["neglect"], True, date(2012, 9, 30))
    excluded = created([(14, "CPP")], ["behaviour", "psychosis"], True, date(2013, 3, 31))
    fgc_only = created([(3, "NONE")], ["family_breakdown"], False, date(2012, 12, 1))
    changed = created([(15, "CPP")], ["offending"], False, date(2012, 6, 1))  # MST, then excluded
    next_year = created([(14, "CPP")], ["behaviour", "sexual_harm"], True, date(2013, 4, 1))
    last_year = created([(14, "CPP")], ["behaviour", "sexual_harm"], True, date(2012, 3, 31))
    for referral in (mst, bsf, excluded, fgc_only, changed, next_year, last_year):
        await svc.send("referral.created", referral)
    await svc.decisions(changed.referral_id)
    await svc.send("referral.updated", updated(changed, ["risk_factors"], risk_factors=["offending", "sexual_abuse_active"]))
    for referral in (mst, bsf, excluded, fgc_only, next_year, last_year):
        await svc.decisions(referral.referral_id)
    await svc.decisions(changed.referral_id, count=2)

    r = await svc.client.get("/eligibility/report", params={"financial_year": fy}, headers=svc.auth("team_manager"))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["financial_year"] == 2012 and report["label"] == "2012/13"
    assert report["period_start"] == "2012-04-01" and report["period_end"] == "2013-03-31"
    assert report["referrals_decided"] == 5
    assert report["eligible_per_programme"] == {
        "MST": 1, "MST_BSF": 1, "FFT_CW": 1, "FFT_REUNIFICATION": 0, "FGC": 3, "OTHER_PREVENTION": 5,
    }
    assert report["intensive_programmes"] == ["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION"]
    turned_away = report["no_intensive_programme"]
    assert turned_away["referrals"] == 3 and turned_away["share"] == 0.6
    assert turned_away["reasons"]["excluded: psychosis"] == 1
    assert turned_away["reasons"]["excluded: sexual_abuse_active"] == 1
    assert turned_away["reasons"]["no child who is looked after"] == 3
    assert turned_away["reasons"]["no child aged 11–17 who is not looked after"] == 1
    assert "excluded: sexual_harm" not in turned_away["reasons"], "referrals of other years are not counted"
    assert turned_away["by_programme"]["MST"]["excluded: psychosis"] == 1
    assert report["rule_versions"] == {"1": 5}

    raw = r.text
    for referral in (mst, bsf, excluded, fgc_only, changed):
        assert str(referral.referral_id) not in raw, "the report is aggregate only"
    for role in ("board_member", "ops", "finance_officer"):
        again = await svc.client.get("/eligibility/report", params={"financial_year": fy}, headers=svc.auth(role))
        assert again.status_code == 200 and again.json() == report
    empty = (await svc.client.get("/eligibility/report?financial_year=2005", headers=svc.auth("ops"))).json()
    assert empty["referrals_decided"] == 0 and empty["no_intensive_programme"]["share"] is None
    assert empty["eligible_per_programme"] == dict.fromkeys(ORDER, 0)


async def test_the_report_refuses_bad_years_and_roles(svc: Svc) -> None:
    tm = svc.auth("team_manager")
    assert_problem(await svc.client.get("/eligibility/report", headers=tm), 422, "financial_year")
    for year in ("abc", "2024.5", "1999", "2101", "2024/25"):
        assert_problem(await svc.client.get(f"/eligibility/report?financial_year={year}", headers=tm), 422, "financial_year")
    assert_problem(await svc.client.get("/eligibility/report?financial_year=2024"), 401)
    for role, source in (("social_worker", None), ("practitioner", None), ("placements_officer", None),
                         ("partner_feed", "police")):
        r = await svc.client.get("/eligibility/report?financial_year=2024", headers=svc.auth(role, source=source))
        assert_problem(r, 403)


# ----------------------------------------------------------------------------------------- rule sets

async def test_version_1_is_in_force_and_readable_as_data(svc: Svc) -> None:
    sw = svc.auth("social_worker")
    in_force = await svc.client.get("/eligibility/rules", headers=sw)
    assert in_force.status_code == 200
    assert in_force.json() == json.loads(RULES_V1.model_dump_json())
    assert (await svc.client.get("/eligibility/rules/1", headers=svc.auth("board_member"))).json() == in_force.json()
    assert_problem(await svc.client.get("/eligibility/rules/999", headers=sw), 404)
    assert_problem(await svc.client.get("/eligibility/rules/99999999999999", headers=sw), 404)
    assert_problem(await svc.client.get("/eligibility/rules/0", headers=sw), 404)
    assert_problem(await svc.client.get("/eligibility/rules/v1", headers=sw), 422, "version")
    assert_problem(await svc.client.get("/eligibility/rules"), 401)
    assert_problem(await svc.client.get("/eligibility/rules", headers=svc.auth("partner_feed", source="police")), 403)
    listing = (await svc.client.get("/eligibility/rule-sets", headers=svc.auth("ops"))).json()
    assert listing[0]["version"] == 1 and listing[0]["created_by"] == "system" and listing[0]["programmes"] == ORDER


BAD_RULE_SETS = [
    (lambda d: d["programmes"][0]["criteria"][1]["factors"].append("gambling"), "programmes.0.criteria.1.factors.3"),
    (lambda d: d["exclusions"][0]["factors"].append("witchcraft"), "exclusions.0.factors.3"),
    (lambda d: d["programmes"][2]["criteria"][2].update(programmes=["MST_CW"]), "programmes.2.criteria.2.programmes.0"),
    (lambda d: d["exclusions"][0]["programmes"].append("YOGA"), "exclusions.0.programmes.4"),
    (lambda d: d["programmes"][0]["criteria"][0].update(postcode="LS6"), "programmes.0.criteria.0.postcode"),
    (lambda d: d["programmes"][0]["criteria"][0].update(legal_status_in=["XYZ"]), "programmes.0.criteria.0.legal_status_in.0"),
    (lambda d: d["programmes"][0]["criteria"][0].update(max_age=30), "programmes.0.criteria.0.max_age"),
    (lambda d: d["programmes"][0]["criteria"][0].update(min_age=18), "programmes.0.criteria.0"),
    (lambda d: d["programmes"][0].update(colour="blue"), "programmes.0.colour"),
    (lambda d: d["programmes"][0]["criteria"].append({"kind": "horoscope"}), "programmes.0.criteria.2"),
    (lambda d: d["programmes"][1].update(intensive="yes"), "programmes.1.intensive"),
    (lambda d: d["programmes"].append(copy.deepcopy(d["programmes"][0])), "programmes.6.code"),
    (lambda d: d["programmes"][0]["criteria"].append({"kind": "not_eligible_for", "programmes": ["FFT_CW"]}),
     "programmes.0.criteria"),
    (lambda d: d.update(version="7"), "version"),
    (lambda d: d.update(version=10**12), "version"),
    (lambda d: d.update(effective_from="2025-02-30"), "effective_from"),
    (lambda d: d.update(programmes=[]), "programmes"),
    (lambda d: d.update(notes="x"), "notes"),
]


@pytest.mark.parametrize(("change", "field"), BAD_RULE_SETS)
async def test_a_malformed_rule_set_is_refused_naming_the_field_and_nothing_is_stored(svc: Svc, change: Any, field: str) -> None:
    before = await svc.count(RuleSetRecord)
    doc = v1_document(version=7, effective_from="2030-01-01")
    change(doc)
    assert_problem(await svc.client.post("/eligibility/rules", json=doc, headers=svc.auth("ops")), 422, field)
    assert await svc.count(RuleSetRecord) == before


async def test_rule_sets_are_added_by_ops_only_and_a_version_once(svc: Svc) -> None:
    before = await svc.count(RuleSetRecord)
    r = await svc.client.post("/eligibility/rules", json=v1_document(), headers=svc.auth("ops"))
    body = assert_problem(r, 409, "version")
    assert "already exists" in body["detail"]
    doc = v1_document(version=8, effective_from="2030-01-01")
    for role in ("social_worker", "team_manager", "board_member"):
        assert_problem(await svc.client.post("/eligibility/rules", json=doc, headers=svc.auth(role)), 403)
    assert_problem(await svc.client.post("/eligibility/rules", json=doc), 401)
    assert await svc.count(RuleSetRecord) == before


MDFT = {
    "code": "MDFT", "name": "Multidimensional Family Therapy", "duration": "4–6 months", "intensive": True,
    "criteria": [{"kind": "child", "min_age": 11, "max_age": 17, "legal_status_not_in": ["LAC"]},
                 {"kind": "risk_any", "factors": ["substance_misuse"]}],
}


async def test_a_future_rule_set_takes_effect_from_its_date(svc: Svc) -> None:
    ops = svc.auth("ops", subject="ops-rules")
    tomorrow = today() + timedelta(days=1)
    doc = v1_document(version=20, effective_from=tomorrow.isoformat(), description="threshold no longer needed for MST_BSF")
    doc["programmes"][1]["criteria"] = doc["programmes"][1]["criteria"][:2]
    r = await svc.client.post("/eligibility/rules", json=doc, headers=ops)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/eligibility/rules/20" and r.json() == doc
    assert (await svc.client.get("/eligibility/rules", headers=ops)).json()["version"] == 1, "not in force before its date"
    assert (await svc.client.get("/eligibility/rules/20", headers=ops)).json() == doc
    body = {"children": [{"age_years": 8, "legal_status": "CPP"}], "risk_factors": ["neglect"], "threshold_for_removal_met": False}
    now = (await svc.client.post("/eligibility/assessments", json=body, headers=ops)).json()
    then = (await svc.client.post("/eligibility/assessments", json={**body, "as_of": tomorrow.isoformat()}, headers=ops)).json()
    assert (now["rule_version"], now["recommended"]) == (1, "OTHER_PREVENTION")
    assert (then["rule_version"], then["recommended"]) == (20, "MST_BSF")
    listing = {s["version"]: s for s in (await svc.client.get("/eligibility/rule-sets", headers=ops)).json()}
    assert listing[20]["created_by"] == "ops-rules" and not listing[20]["in_force"] and listing[1]["in_force"]


async def test_a_new_programme_added_through_the_api_is_decided_on_a_new_referral(svc: Svc) -> None:
    """The council's bid: Multidimensional Family Therapy from today, a data change and no deploy."""
    ops = svc.auth("ops")
    doc = v1_document(version=2, effective_from=today().isoformat(), description="MDFT pilot")
    doc["programmes"].insert(4, MDFT)
    doc["exclusions"][0]["programmes"].append("MDFT")
    r = await svc.client.post("/eligibility/rules", json=doc, headers=ops)
    assert r.status_code == 201, r.text
    in_force = (await svc.client.get("/eligibility/rules", headers=ops)).json()
    assert in_force == r.json() and in_force["version"] == 2
    assert [p["code"] for p in in_force["programmes"]] == ORDER[:4] + ["MDFT"] + ORDER[4:]
    assert in_force["programmes"][4]["criteria"][0] == {**MDFT["criteria"][0], "legal_status_in": None}

    referral = created([(15, "CIN")], ["substance_misuse"], False, referred_on=today())
    await svc.send("referral.created", referral)
    (decision,) = await svc.decisions(referral.referral_id)
    assert decision["rule_version"] == 2 and decision["recommended"] == "MDFT"
    mdft = next(p for p in decision["programmes"] if p["programme"] == "MDFT")
    assert mdft == {"programme": "MDFT", "eligible": True,
                    "reasons": ["child aged 11–17 who is not looked after (aged 15)", "risk factor: substance_misuse"]}
    event = await svc.probe.wait_for("eligibility.decided", lambda m: isinstance(m, dict)
                                     and m.get("data", {}).get("referral_id") == str(referral.referral_id))
    assert event[0]["data"]["recommended"] == "MDFT" and event[0]["data"]["rule_version"] == 2

    # a referral dated before the new rule set is decided with the rules of its date
    older = created([(15, "CIN")], ["substance_misuse"], False, referred_on=date(2024, 5, 1))
    await svc.send("referral.created", older)
    (old_decision,) = await svc.decisions(older.referral_id)
    assert old_decision["rule_version"] == 1 and "MDFT" not in [p["programme"] for p in old_decision["programmes"]]

    # the report knows the new programme is intensive
    fy = today().year if today() >= date(today().year, 4, 1) else today().year - 1
    report = (await svc.client.get(f"/eligibility/report?financial_year={fy}", headers=ops)).json()
    assert "MDFT" in report["intensive_programmes"] and report["eligible_per_programme"]["MDFT"] >= 1
