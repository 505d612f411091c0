"""Pre-proceedings and the FGDM duty over HTTP on PostgreSQL with the real broker (contract v1.1).

The scenario runs in financial year 2025/26, which no other test of this service touches, so the test's
own tally of what it recorded is the whole truth the report must match. Refusals run in 2026/27.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest

from eoc_shared.clock import today
from eoc_shared.testing.fixtures import event_probe

TOPICS = ["pre_proceedings.started", "fgdm.offered", "fgdm.responded", "fgdm.meeting_held", "fgdm.offer_overdue",
          "care_application.made"]
REASONS = ["risk_of_harm", "domestic_abuse", "urgency", "child_wishes", "party_cannot_be_found", "other"]
# Distinctive names: none of them may ever reach the bus.
NAMES = ["Zephyrine", "Quillon", "Marisabel", "Torvald", "Ysolde", "Barnaby-Fenwick", "Octavia", "Leofric"]


@pytest.fixture(scope="module")
async def fgdm_probe(world: Any) -> AsyncIterator[Any]:
    async with event_probe(world.svc.bootstrap, TOPICS) as probe:
        yield probe


@dataclass
class Tally:
    """What the test recorded, counted its own way: one entry per record."""

    started_on: date
    parties: int = 0
    offered_parties: set[str] = field(default_factory=set)
    accepted: int = 0
    meetings: list[date] = field(default_factory=list)
    exceptions: list[tuple[str, str]] = field(default_factory=list)
    applied_on: date | None = None
    urgent: bool = False
    compliant: bool = True
    group: str = ""


class Case:
    """One family's pre-proceedings, driven over HTTP, tallied as it goes."""

    def __init__(self, svc: Any, sw: dict[str, str], tm: dict[str, str], record: dict[str, Any], child_ids: list[str],
                 tally: Tally) -> None:
        self.svc, self.sw, self.tm, self.record, self.child_ids, self.tally = svc, sw, tm, record, child_ids, tally
        self.id = record["id"]
        self.offers_made = 0

    async def party(self, relationship: str, child_ids: list[str] | None = None, name: str | None = None) -> str:
        body: dict[str, Any] = {"relationship": relationship, "child_ids": child_ids or self.child_ids}
        if name:
            body |= {"given_name": name, "family_name": "Testperson"}
        r = await self.svc.client.post(f"/referrals/pre-proceedings/{self.id}/parties", json=body, headers=self.sw)
        assert r.status_code == 201, r.text
        self.tally.parties += 1
        return r.json()["id"]

    async def offer(self, party_id: str, offered_on: str, in_letter: bool = True) -> str:
        r = await self.svc.client.post(f"/referrals/pre-proceedings/{self.id}/offers", json={
            "party_id": party_id, "offered_on": offered_on, "in_letter_before_proceedings": in_letter}, headers=self.sw)
        assert r.status_code == 201, r.text
        self.tally.offered_parties.add(party_id)
        self.offers_made += 1
        return r.json()["id"]

    async def respond(self, offer_id: str, response: str, responded_on: str) -> None:
        r = await self.svc.client.post(f"/referrals/pre-proceedings/offers/{offer_id}/response",
                                       json={"response": response, "responded_on": responded_on}, headers=self.sw)
        assert r.status_code == 200, r.text
        self.tally.accepted += response == "accepted"

    async def meeting(self, held_on: str, intervention_id: str | None = None) -> dict[str, Any]:
        body = {"held_on": held_on, "outcome": "plan_agreed", "child_participation": "views_brought",
                "network_attendees": {"grandparent": 2, "friend": 1}}
        if intervention_id:
            body["intervention_id"] = intervention_id
        r = await self.svc.client.post(f"/referrals/pre-proceedings/{self.id}/meetings", json=body, headers=self.sw)
        assert r.status_code == 201, r.text
        self.tally.meetings.append(date.fromisoformat(held_on))
        return r.json()

    async def exception(self, kind: str, reason: str, decided_on: str, party_id: str | None = None) -> None:
        body = {"kind": kind, "reason": reason, "decided_on": decided_on,
                "explanation": "Decided at the legal gateway panel.\nReviewed with the IRO."}
        if party_id:
            body["party_id"] = party_id
        r = await self.svc.client.post(f"/referrals/pre-proceedings/{self.id}/exceptions", json=body, headers=self.tm)
        assert r.status_code == 201, r.text
        self.tally.exceptions.append((kind, reason))

    async def apply(self, applied_on: str, order: str = "care", urgent: bool = False, compliant: bool = True) -> None:
        body: dict[str, Any] = {"applied_on": applied_on, "order": order, "urgent": urgent}
        if urgent:
            body["urgent_reason"] = "Serious injury; emergency protection needed the same day."
        r = await self.svc.client.post(f"/referrals/pre-proceedings/{self.id}/application", json=body, headers=self.sw)
        assert r.status_code == 201, r.text
        self.tally.applied_on, self.tally.urgent, self.tally.compliant = date.fromisoformat(applied_on), urgent, compliant


async def open_case(svc: Any, sw: dict[str, str], tm: dict[str, str], started_on: str, letter: str | None = None,
                    children: list[dict[str, Any]] | None = None, group: str = "", referral_id: str | None = None,
                    child_ids: list[str] | None = None) -> Case:
    if referral_id is None:
        family_id, child_ids = await svc.family(children, headers=sw)
        referral_id = (await svc.referral(family_id, child_ids, headers=sw, referred_on="2025-03-01"))["id"]
    body: dict[str, Any] = {"started_on": started_on}
    if letter:
        body["letter_before_proceedings_on"] = letter
    r = await svc.client.post(f"/referrals/{referral_id}/pre-proceedings", json=body, headers=sw)
    assert r.status_code == 201, r.text
    assert child_ids is not None
    return Case(svc, sw, tm, r.json(), child_ids, Tally(date.fromisoformat(started_on), group=group))


def expected(tallies: list[Tally], start: date, end: date) -> dict[str, Any]:
    mine = [t for t in tallies if start <= t.started_on <= end]
    apps = [t for t in mine if t.applied_on is not None]
    exceptions: dict[str, dict[str, int]] = {k: dict.fromkeys(REASONS, 0) for k in ("not_offered", "not_held")}
    for t in mine:
        for kind, reason in t.exceptions:
            exceptions[kind][reason] += 1
    return {
        "started": len(mine), "parties": sum(t.parties for t in mine),
        "parties_offered": sum(len(t.offered_parties) for t in mine), "offers_accepted": sum(t.accepted for t in mine),
        "meetings_held": sum(len(t.meetings) for t in mine), "applications": len(apps),
        "applications_urgent": sum(t.urgent for t in apps),
        "applications_with_meeting_before": sum(any(m <= t.applied_on for m in t.meetings) for t in apps if t.applied_on),
        "applications_without_compliant_fgdm": sum(not t.compliant for t in apps),
        "exceptions": exceptions,
    }


async def test_scenario_of_eleven_families_reports_exactly(svc, sw, tm, auth, ops, fgdm_probe) -> None:
    c = lambda **kw: svc.child_body(**kw)  # noqa: E731
    cases: list[Case] = []

    # 0. Started in March 2025: the year before; never counted in 2025/26.
    old = await open_case(svc, sw, tm, "2025-03-20", "2025-03-21")
    await old.offer(await old.party("mother"), "2025-03-21")

    # 1. Accepted and held: the FGC intervention of the referral coordinated the meeting.
    r = await svc.client.put("/referrals/programmes/FGC/capacity", json={"capacity": None}, headers=ops)
    assert r.status_code == 200, r.text
    family_id, kids = await svc.family([c(ethnicity="WBRI")], headers=sw)
    made = await svc.referral(family_id, kids, headers=sw, referred_on="2025-03-01", risk_factors=["family_breakdown"])
    await svc.decide(made["id"])
    started = await svc.start(made["id"], "FGC", started_on="2025-04-10", headers=sw, practitioner="pr-fgc-15")
    assert started.status_code == 201, started.text
    one = await open_case(svc, sw, tm, "2025-04-07", "2025-04-08", referral_id=made["id"], child_ids=kids,
                          group="White")
    mother, father = await one.party("mother", name=NAMES[0]), await one.party("father", name=NAMES[1])
    await one.respond(await one.offer(mother, "2025-04-08"), "accepted", "2025-04-10")
    await one.respond(await one.offer(father, "2025-04-08"), "accepted", "2025-04-11")
    meeting = await one.meeting("2025-05-02", intervention_id=started.json()["id"])
    assert meeting["intervention_id"] == started.json()["id"]
    await one.apply("2025-06-02")
    cases.append(one)

    # 2. Declined by all: no meeting is owed; a supervision order.
    two = await open_case(svc, sw, tm, "2025-05-12", "2025-05-13", [c(ethnicity="BAFR")], group="Black")
    for rel, name in (("mother", NAMES[2]), ("father", NAMES[3])):
        await two.respond(await two.offer(await two.party(rel, name=name), "2025-05-13"), "declined", "2025-05-20")
    await two.apply("2025-06-20", order="supervision")
    cases.append(two)

    # 3. Mixed responses; meeting held; no application yet.
    three = await open_case(svc, sw, tm, "2025-07-01", "2025-07-02", [c(ethnicity="WBRI")], group="White")
    responses = [("mother", "accepted"), ("father", "declined"), ("special_guardian", "no_response")]
    for rel, response in responses:
        await three.respond(await three.offer(await three.party(rel), "2025-07-02"), response, "2025-07-09")
    await three.meeting("2025-07-20")
    cases.append(three)

    # 4. Not offered by exception: one party is not offered (domestic abuse); the other declines.
    four = await open_case(svc, sw, tm, "2025-08-04", "2025-08-05", [c(ethnicity="APKN")], group="Asian")
    m4, f4 = await four.party("mother", name=NAMES[4]), await four.party("father", name=NAMES[5])
    await four.respond(await four.offer(m4, "2025-08-05"), "declined", "2025-08-12")
    await four.exception("not_offered", "domestic_abuse", "2025-08-05", party_id=f4)
    await four.apply("2025-09-15")
    cases.append(four)

    # 5. Accepted but not held by exception (risk of harm).
    five = await open_case(svc, sw, tm, "2025-10-06", "2025-10-07", [c(ethnicity="WBRI")], group="White")
    await five.respond(await five.offer(await five.party("mother"), "2025-10-07"), "accepted", "2025-10-09")
    await five.exception("not_held", "risk_of_harm", "2025-10-20")
    await five.apply("2025-11-03")
    cases.append(five)

    # 6. Urgent application: nobody offered yet; recorded on its own path, counted apart and as not compliant.
    six = await open_case(svc, sw, tm, "2025-10-13", None, [c(ethnicity="MWBC")], group="Mixed")
    await six.party("mother")
    await six.party("father")
    await six.apply("2025-10-14", urgent=True, compliant=False)
    cases.append(six)

    # 7. Repeated offer after no response, then accepted and held.
    seven = await open_case(svc, sw, tm, "2025-11-03", "2025-11-04", [c(ethnicity="WBRI")], group="White")
    f7 = await seven.party("father", name=NAMES[6])
    await seven.respond(await seven.offer(f7, "2025-11-04"), "no_response", "2025-11-18")
    await seven.respond(await seven.offer(f7, "2025-11-19", in_letter=False), "accepted", "2025-11-21")
    await seven.meeting("2025-12-05")
    await seven.apply("2025-12-15")
    cases.append(seven)

    # 8. Two children with different parties: a shared mother and a father each.
    eight = await open_case(svc, sw, tm, "2026-01-12", "2026-01-13",
                            [c(ethnicity="WBRI"), c(ethnicity="BCRB")], group="White+Black")
    ca, cb = eight.child_ids
    m8 = await eight.party("mother", [ca, cb], name=NAMES[7])
    fa, fb = await eight.party("father", [ca]), await eight.party("father", [cb])
    await eight.respond(await eight.offer(m8, "2026-01-13"), "accepted", "2026-01-15")
    await eight.respond(await eight.offer(fa, "2026-01-13"), "declined", "2026-01-16")
    await eight.exception("not_offered", "party_cannot_be_found", "2026-01-20", party_id=fb)
    await eight.meeting("2026-02-10")
    await eight.apply("2026-02-10")  # the meeting in the morning, the application that afternoon
    cases.append(eight)

    # 9. Started and nothing more: offers overdue, escalated once, on the work list.
    nine = await open_case(svc, sw, tm, "2026-02-02", None, [c(ethnicity="WBRI")], group="White")
    await nine.party("mother")
    cases.append(nine)

    # 10. Urgent, a party accepted, no time for the meeting: a team manager's not_held (urgency) first.
    ten = await open_case(svc, sw, tm, "2026-03-02", "2026-03-02", [c(ethnicity="CHNE")], group="Chinese")
    await ten.respond(await ten.offer(await ten.party("mother"), "2026-03-02"), "accepted", "2026-03-03")
    refused = await svc.client.post(f"/referrals/pre-proceedings/{ten.id}/application", json={
        "applied_on": "2026-03-04", "order": "care", "urgent": True, "urgent_reason": "Abduction risk."}, headers=sw)
    assert refused.status_code == 409 and "meeting duty" in refused.json()["detail"], refused.text
    await ten.exception("not_held", "urgency", "2026-03-04")
    await ten.apply("2026-03-04", urgent=True)
    cases.append(ten)

    # 11. The letter recorded later by PATCH; both parents decline; application.
    eleven = await open_case(svc, sw, tm, "2026-03-09", None, [c(ethnicity="WBRI")], group="White")
    r = await svc.client.patch(f"/referrals/pre-proceedings/{eleven.id}",
                               json={"letter_before_proceedings_on": "2026-03-10"}, headers=sw)
    assert r.status_code == 200 and r.json()["letter_before_proceedings_on"] == "2026-03-10"
    for rel in ("mother", "step_parent"):
        await eleven.respond(await eleven.offer(await eleven.party(rel), "2026-03-10"), "declined", "2026-03-12")
    await eleven.apply("2026-03-20")
    cases.append(eleven)

    tallies = [k.tally for k in cases] + [old.tally]
    board = auth("board_member")

    # The year, then each quarter, exactly as the test counted.
    r = await svc.client.get("/referrals/reports/fgdm", params={"financial_year": 2025}, headers=board)
    assert r.status_code == 200, r.text
    year = r.json()
    want = expected(tallies, date(2025, 4, 1), date(2026, 3, 31))
    assert year == {"financial_year": "2025/26", **want}
    print("\nFGDM report 2025/26:", json.dumps(year))
    quarters = [(date(2025, 4, 1), date(2025, 6, 30)), (date(2025, 7, 1), date(2025, 9, 30)),
                (date(2025, 10, 1), date(2025, 12, 31)), (date(2026, 1, 1), date(2026, 3, 31))]
    for q, (start, end) in enumerate(quarters, 1):
        r = await svc.client.get("/referrals/reports/fgdm", params={"financial_year": 2025, "quarter": q},
                                 headers=board)
        assert r.status_code == 200, r.text
        assert r.json() == {"financial_year": "2025/26", "quarter": q, **expected(tallies, start, end)}, q
        print(f"Q{q}:", json.dumps(r.json()))
    starts = []
    for q in range(1, 5):
        r = await svc.client.get("/referrals/reports/fgdm", params={"financial_year": 2025, "quarter": q}, headers=board)
        starts.append(r.json()["started"])
    assert sum(starts) == year["started"] == 11

    # By ethnic group: counts of 1 to 4 shown as "<5"; the total unsuppressed.
    r = await svc.client.get("/referrals/reports/fgdm", params={"financial_year": 2025, "by": "ethnic_group"},
                             headers=board)
    assert r.status_code == 200, r.text
    grouped = r.json()
    assert {k: v for k, v in grouped.items() if k not in ("by", "groups")} == {"financial_year": "2025/26", **want}
    groups = {g["group"]: g for g in grouped["groups"]}
    assert sorted(groups) == ["Asian", "Black", "Chinese", "Mixed", "White"]
    white = [k.tally for k in cases if "White" in k.tally.group]
    assert len(white) == 7
    assert groups["White"]["started"] == 7 and groups["Black"]["started"] == "<5"
    # White parties: 2 + 3 + 1 + 1 + 1 (case 9) + 2 (case 11) + case 8's mother and first father = 12
    assert groups["White"]["parties"] == 12
    assert groups["White"]["exceptions"]["not_offered"]["party_cannot_be_found"] == 0, "the other father's"
    assert groups["Black"]["exceptions"]["not_offered"]["party_cannot_be_found"] == "<5"
    assert groups["Asian"]["applications_urgent"] == 0

    # Offers overdue: case 9 (nobody offered) and case 11's early days no longer (offered).
    r = await svc.client.post("/referrals/pre-proceedings/timers/run", json={"as_of": "2026-03-31"}, headers=ops)
    assert r.status_code == 200, r.text
    assert nine.id in r.json()["offer_overdue"] and one.id not in r.json()["offer_overdue"]
    again = await svc.client.post("/referrals/pre-proceedings/timers/run", json={"as_of": "2026-03-31"}, headers=ops)
    assert nine.id not in again.json()["offer_overdue"], "escalated once"
    overdue = await fgdm_probe.wait_for("fgdm.offer_overdue", lambda m: m["data"]["pre_proceedings_id"] == nine.id)
    assert overdue[0]["data"]["offer_due_on"] == nine.record["offer_due_on"] == "2026-02-09"
    r = await svc.client.get("/referrals/worklists/fgdm-offers-overdue", headers=sw)
    assert r.status_code == 200
    row = next(x for x in r.json() if x["pre_proceedings_id"] == nine.id)
    assert row["escalated_on"] == "2026-03-31" and row["parties_not_offered"] == 1
    assert row["days_overdue"] == (today() - date(2026, 2, 9)).days
    assert all(x["pre_proceedings_id"] != eleven.id for x in r.json())
    r = await svc.client.get("/referrals/worklists/overdue", headers=sw)
    row = next(x for x in r.json() if x["referral_id"] == nine.record["referral_id"])
    assert {"timer": "fgdm_offer", "due_on": "2026-02-09", "days_overdue": (today() - date(2026, 2, 9)).days,
            "escalated_on": "2026-03-31"} in row["overdue"]

    # The record as read: compliance computed today; the practitioner of the FGC intervention reads it too.
    r = await svc.client.get(f"/referrals/pre-proceedings/{one.id}", headers=auth("practitioner", subject="pr-fgc-15"))
    assert r.status_code == 200 and r.json()["application"]["order"] == "care"
    r = await svc.client.get(f"/referrals/pre-proceedings/{three.id}", headers=sw)
    got = r.json()
    assert got["compliance"] == {"all_parties_offered": True, "any_accepted": True, "meeting_held": True,
                                 "ready_to_apply": True, "unmet": []}
    assert [o["response"] for o in got["offers"]] == ["accepted", "declined", "no_response"]
    r = await svc.client.get(f"/referrals/pre-proceedings/{nine.id}", headers=sw)
    assert r.json()["offer_overdue"] is True and r.json()["compliance"]["ready_to_apply"] is False
    assert len(r.json()["compliance"]["unmet"]) == 2  # no letter, the mother not offered

    # On the bus: every step, ids, codes and dates only — no party's name anywhere.
    ids = {k.id for k in cases}
    await fgdm_probe.wait_for("care_application.made", lambda m: m["data"]["pre_proceedings_id"] in ids, count=9)
    offers_made = sum(k.offers_made for k in cases)
    offered = await fgdm_probe.wait_for("fgdm.offered", lambda m: m["data"]["pre_proceedings_id"] in ids,
                                        count=offers_made)
    assert len(offered) == offers_made == 16
    started_events = await fgdm_probe.wait_for("pre_proceedings.started",
                                               lambda m: m["data"]["pre_proceedings_id"] in ids, count=len(ids))
    assert {m["data"]["pre_proceedings_id"]: m["data"]["offer_due_on"] for m in started_events} == {
        k.id: k.record["offer_due_on"] for k in cases}
    answered = await fgdm_probe.wait_for("fgdm.responded", lambda m: m["data"]["pre_proceedings_id"] in ids,
                                         count=offers_made)
    assert Counter(m["data"]["response"] for m in answered) == {"accepted": 7, "declined": 7, "no_response": 2}
    made = {m["data"]["pre_proceedings_id"]: m["data"] for m in fgdm_probe.on("care_application.made")}
    assert made[six.id]["urgent"] is True and made[six.id]["fgdm_compliant"] is False
    assert made[one.id]["fgdm_compliant"] is True and made[one.id]["child_ids"] == one.child_ids
    held = await fgdm_probe.wait_for("fgdm.meeting_held", lambda m: m["data"]["pre_proceedings_id"] == one.id)
    assert held[0]["data"]["intervention_id"] == started.json()["id"]
    everything = json.dumps([v for _t, _k, v, _h in fgdm_probe.messages if isinstance(v, dict)])
    for name in [*NAMES, "Testperson"]:
        assert name not in everything, name
    for key in ("given_name", "family_name", "explanation", "urgent_reason"):
        assert f'"{key}"' not in everything

    # The child's timeline and the audit log show every step.
    r = await svc.client.get(f"/referrals/children/{one.child_ids[0]}/timeline", headers=sw)
    kinds = Counter(e["kind"] for e in r.json())
    assert kinds["pre_proceedings.started"] == 1 and kinds["fgdm.offered"] == 2 and kinds["fgdm.responded"] == 2
    assert kinds["fgdm.meeting_held"] == 1 and kinds["care_application.made"] == 1
    assert not any(n in json.dumps(r.json()) for n in NAMES)
    r = await svc.client.get(f"/referrals/children/{ten.child_ids[0]}/timeline", headers=sw)
    steps = [e["kind"] for e in r.json() if e["kind"].startswith(("pre_proceedings.", "fgdm.", "care_application."))]
    assert steps == ["pre_proceedings.started", "pre_proceedings.letter_sent", "fgdm.offered", "fgdm.responded",
                     "fgdm.exception_not_held", "care_application.made"], "same-day steps in the journey's order"
    r = await svc.client.get(f"/referrals/children/{eight.child_ids[1]}/timeline", headers=sw)
    kinds = Counter(e["kind"] for e in r.json())
    assert kinds["fgdm.offered"] == 1 and kinds["fgdm.exception_not_offered"] == 1, "only this child's parties"
    r = await svc.client.get("/referrals/audit", params={"child_id": eight.child_ids[1]}, headers=tm)
    actions = [e["action"] for e in r.json()]
    for action in ("pre_proceedings.started", "pre_proceedings.party_added", "fgdm.offered", "fgdm.accepted",
                   "fgdm.exception_not_offered", "fgdm.meeting_held", "care_application.made"):
        assert action in actions, action
    assert "fgdm.declined" not in actions, "the other father's answer is not about this child"


async def test_refusals_name_the_field_or_duty_and_change_nothing(svc, sw, tm, auth) -> None:
    board, practitioner = auth("board_member"), auth("practitioner", subject="pr-nobody")
    day = today()
    start = (day - timedelta(days=60)).isoformat()
    d = lambda n: (day - timedelta(days=60 - n)).isoformat()  # noqa: E731 - n days after the start
    tomorrow = (day + timedelta(days=1)).isoformat()
    family_id, kids = await svc.family(headers=sw)
    _other_family, (stranger,) = await svc.family(headers=sw)
    referral = await svc.referral(family_id, kids, headers=sw, referred_on=start)
    other_ref = await svc.referral(*(await svc.family(headers=sw)), headers=sw, referred_on=start)
    base = "/referrals/pre-proceedings"

    async def unchanged(call, status: int, field: str | None = None, words: str | None = None) -> Any:
        before = await svc.outbox()
        r = await call
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/problem+json"
        if field:
            assert field in [e["field"] for e in r.json().get("errors", [])] and field in r.json()["detail"], r.json()
        if words:
            assert words in r.json()["detail"], r.json()
        assert await svc.outbox() == before, "a refusal publishes nothing"
        return r

    post = svc.client.post
    await unchanged(post(f"/referrals/{referral['id']}/pre-proceedings", json={"started_on": tomorrow}, headers=sw),
                    422, "started_on")
    await unchanged(post(f"/referrals/{referral['id']}/pre-proceedings",
                         json={"started_on": start, "letter_before_proceedings_on": d(-1)}, headers=sw),
                    422, "letter_before_proceedings_on")
    await unchanged(post(f"/referrals/{uuid.uuid4()}/pre-proceedings", json={"started_on": start}, headers=sw), 404)
    await unchanged(post(f"/referrals/{referral['id']}/pre-proceedings", json={"started_on": start}, headers=board),
                    403)
    r = await post(f"/referrals/{referral['id']}/pre-proceedings", json={"started_on": start}, headers=sw)
    assert r.status_code == 201
    rid = r.json()["id"]
    await unchanged(post(f"/referrals/{referral['id']}/pre-proceedings", json={"started_on": start}, headers=sw),
                    409, words="already has an open pre-proceedings record")
    other = (await post(f"/referrals/{other_ref['id']}/pre-proceedings", json={"started_on": start}, headers=sw)).json()
    foreign_party = (await post(f"{base}/{other['id']}/parties", json={"relationship": "mother",
                                                                       "child_ids": other["child_ids"]},
                                headers=sw)).json()["id"]

    # Parties: children of this referral only; the vocabulary; names without control characters.
    await unchanged(post(f"{base}/{rid}/parties", json={"relationship": "mother", "child_ids": [stranger]}, headers=sw),
                    422, "child_ids.0")
    await unchanged(post(f"{base}/{rid}/parties", json={"relationship": "aunt", "child_ids": kids}, headers=sw),
                    422, "relationship")
    await unchanged(post(f"{base}/{rid}/parties", json={"relationship": "mother", "child_ids": []}, headers=sw),
                    422, "child_ids")
    await unchanged(post(f"{base}/{rid}/parties", json={"relationship": "mother", "child_ids": kids,
                                                        "given_name": "Ann\u202eE"}, headers=sw), 422, "given_name")
    mother = (await post(f"{base}/{rid}/parties", json={"relationship": "mother", "child_ids": kids}, headers=sw)).json()
    father = (await post(f"{base}/{rid}/parties", json={"relationship": "father", "child_ids": kids}, headers=sw)).json()

    # Offers: a party of this record; not before the start; not after today; a strict boolean.
    offer = lambda party, on, **kw: post(f"{base}/{rid}/offers", json={  # noqa: E731
        "party_id": party, "offered_on": on, "in_letter_before_proceedings": True, **kw}, headers=sw)
    await unchanged(offer(foreign_party, d(1)), 422, "party_id")
    await unchanged(offer(mother["id"], d(-1)), 422, "offered_on")
    await unchanged(offer(mother["id"], tomorrow), 422, "offered_on")
    await unchanged(post(f"{base}/{rid}/offers", json={"party_id": mother["id"], "offered_on": d(1),
                                                       "in_letter_before_proceedings": "yes"}, headers=sw),
                    422, "in_letter_before_proceedings")
    # Applying now: no letter, nobody offered — every unmet duty named at once.
    r = await unchanged(post(f"{base}/{rid}/application", json={"applied_on": d(2), "order": "care", "urgent": False},
                             headers=sw), 409, words="letter before proceedings")
    assert mother["id"] in r.json()["detail"] and father["id"] in r.json()["detail"]
    assert len(r.json()["unmet"]) == 3

    offer_id = (await offer(mother["id"], d(1))).json()["id"]
    respond = lambda oid, on, response="accepted": post(  # noqa: E731
        f"{base}/offers/{oid}/response", json={"responded_on": on, "response": response}, headers=sw)
    await unchanged(respond(offer_id, d(0)), 422, "responded_on")
    await unchanged(respond(offer_id, tomorrow), 422, "responded_on")
    await unchanged(respond(offer_id, d(3), "maybe"), 422, "response")
    await unchanged(respond(uuid.uuid4(), d(3)), 404)
    # A meeting before anyone accepted: the duty named.
    meeting = lambda on, **kw: post(f"{base}/{rid}/meetings", json={  # noqa: E731
        "held_on": on, "outcome": "plan_agreed", "child_participation": "none", "network_attendees": {}, **kw},
        headers=sw)
    await unchanged(meeting(d(5)), 409, words="no party has accepted")
    assert (await respond(offer_id, d(4))).status_code == 200
    await unchanged(respond(offer_id, d(5), "declined"), 409, words="already recorded")
    await unchanged(offer(mother["id"], d(6)), 409, "party_id")
    await unchanged(meeting(d(3)), 422, "held_on")
    await unchanged(meeting(tomorrow), 422, "held_on")
    await unchanged(meeting(d(6), intervention_id=str(uuid.uuid4())), 422, "intervention_id")
    await unchanged(meeting(d(6), network_attendees={"friend": -1}), 422, "network_attendees.friend")

    # Exceptions: a team manager only; the party of a not_offered; prose without control characters.
    exception = lambda headers, **kw: post(f"{base}/{rid}/exceptions", json={  # noqa: E731
        "kind": "not_offered", "party_id": father["id"], "decided_on": d(2), "reason": "risk_of_harm",
        "explanation": "Risk to the mother.", **kw}, headers=headers)
    await unchanged(exception(sw), 403, words="team_manager")
    await unchanged(exception(tm, party_id=None), 422, "party_id")
    await unchanged(exception(tm, party_id=foreign_party), 422, "party_id")
    await unchanged(exception(tm, party_id=mother["id"]), 409, "party_id")
    await unchanged(exception(tm, decided_on=tomorrow), 422, "decided_on")
    await unchanged(exception(tm, explanation="bad\x1b[31m"), 422, "explanation")
    await unchanged(exception(tm, kind="not_held"), 422, "party_id")
    assert (await exception(tm, explanation="Risk to the mother.\n\tAgreed at panel.")).status_code == 201

    # The application: before the letter (unless urgent), after today, urgent without a reason, the meeting owed.
    assert (await svc.client.patch(f"{base}/{rid}", json={"letter_before_proceedings_on": d(3)},
                                   headers=sw)).status_code == 200
    await unchanged(svc.client.patch(f"{base}/{rid}", json={"letter_before_proceedings_on": tomorrow}, headers=sw),
                    422, "letter_before_proceedings_on")
    apply = lambda **kw: post(f"{base}/{rid}/application", json={  # noqa: E731
        "applied_on": d(10), "order": "care", "urgent": False, **kw}, headers=sw)
    await unchanged(apply(applied_on=d(2)), 422, "applied_on")
    await unchanged(apply(applied_on=tomorrow), 422, "applied_on")
    await unchanged(apply(urgent=True), 422, "urgent_reason")
    await unchanged(apply(order="residence"), 422, "order")
    r = await unchanged(apply(), 409, words="meeting duty")
    assert len(r.json()["unmet"]) == 1 and "letter" not in r.json()["detail"]
    assert (await meeting(d(8))).status_code == 201
    assert (await apply()).status_code == 201
    await unchanged(apply(), 409, words="application has been made")
    await unchanged(offer(father["id"], d(11)), 409, words="application has been made")

    # Reads: a practitioner without an intervention of this referral, a board member: refused.
    await unchanged(svc.client.get(f"{base}/{rid}", headers=practitioner), 403)
    await unchanged(svc.client.get(f"{base}/{rid}", headers=board), 403)
    await unchanged(svc.client.get(f"{base}/{uuid.uuid4()}", headers=sw), 404)
    for params, name in [({"financial_year": 1999}, "financial_year"), ({}, "financial_year"),
                          ({"financial_year": 2026, "quarter": 5}, "quarter"),
                          ({"financial_year": 2026, "by": "religion"}, "by")]:
        await unchanged(svc.client.get("/referrals/reports/fgdm", params=params, headers=board), 422, name)
    await unchanged(svc.client.get("/referrals/reports/fgdm", params={"financial_year": 2026},
                                   headers=practitioner), 403)
