"""referral-svc over HTTP on PostgreSQL with the real broker, started once for this package.

`svc` runs with its consumers (eligibility decisions arrive as real events); `quiet` runs without
consumers, so no decision ever reaches its referrals (consent, timers, feeds). Both are torn down
when this package's tests end, so their consumer groups never compete with other suites' services.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from eoc_shared.events.envelope import build_envelope
from eoc_shared.events.schemas import EligibilityDecided, ProgrammeDecision
from eoc_shared.testing.fixtures import event_probe, eventually, produce_raw, running, service_settings
from referral_svc.app import create_app
from referral_svc.settings import ReferralSettings

PROGRAMMES = ["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION"]
MARKER_RULE_VERSION = 77  # decisions made by these tests, told apart from any real eligibility-svc's
_decision_clock = itertools.count(1)


@dataclass
class Service:
    client: httpx.AsyncClient
    app: Any
    database_url: str
    bootstrap: str
    auth: Any

    async def count(self, model: Any, *where: Any) -> int:
        async with self.app.state.runtime.db.sessions() as s:
            return int((await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one())

    async def outbox(self) -> int:
        from referral_svc.db.models import Outbox

        return await self.count(Outbox)

    # ----------------------------------------------------------------------------------- builders

    async def family(self, children: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
                     **overrides: Any) -> tuple[str, list[str]]:
        headers = headers or self.auth("social_worker")
        r = await self.client.post("/referrals/families", json=family_body(**overrides), headers=headers)
        assert r.status_code == 201, r.text
        family_id = r.json()["id"]
        child_ids = []
        for child in children if children is not None else [child_body()]:
            r = await self.client.post(f"/referrals/families/{family_id}/children", json=child, headers=headers)
            assert r.status_code == 201, r.text
            child_ids.append(r.json()["id"])
        return family_id, child_ids

    async def referral(self, family_id: str, child_ids: list[str], headers: dict[str, str] | None = None,
                       **overrides: Any) -> dict[str, Any]:
        r = await self.client.post("/referrals", json=referral_body(family_id, child_ids, **overrides),
                                   headers=headers or self.auth("social_worker"))
        assert r.status_code == 201, r.text
        return r.json()

    async def decide(self, referral_id: str, eligible: dict[str, bool] | None = None,
                     reasons: dict[str, list[str]] | None = None) -> dict[str, Any]:
        """Produce a real eligibility.decided onto the broker and wait until the referral shows it."""
        eligible = eligible or {p: True for p in PROGRAMMES}
        reasons = reasons or {}
        decided_at = datetime.now(UTC) + timedelta(hours=1, seconds=next(_decision_clock))
        programmes = [
            ProgrammeDecision(programme=p, eligible=eligible.get(p, False),
                              reasons=reasons.get(p, ["meets the rules" if eligible.get(p) else "does not meet the rules"]))
            for p in PROGRAMMES
        ]
        recommended = next((p.programme for p in programmes if p.eligible), None)
        decision = EligibilityDecided(
            referral_id=uuid.UUID(referral_id), decision_id=uuid.uuid4(), rule_version=MARKER_RULE_VERSION,
            recommended=recommended, programmes=programmes, decided_at=decided_at,
        )
        env = build_envelope("eligibility.decided", key=referral_id, data=decision, source="urn:eoc:eligibility")
        wire = json.dumps({k: v for k, v in env.items() if not k.startswith("_")}).encode()
        await produce_raw(self.bootstrap, "eligibility.decided", wire, key=referral_id.encode())
        sw = self.auth("social_worker")

        async def shown() -> dict[str, Any] | None:
            got = (await self.client.get(f"/referrals/{referral_id}", headers=sw)).json()
            e = got.get("eligibility")
            if e and e["rule_version"] == MARKER_RULE_VERSION and datetime.fromisoformat(e["decided_at"]) == decided_at:
                return got
            return None

        return await eventually(shown, timeout=20, interval=0.05)

    async def eligible_case(self, children: list[dict[str, Any]] | None = None, eligible: dict[str, bool] | None = None,
                            **referral: Any) -> tuple[str, list[str], str]:
        family_id, child_ids = await self.family(children)
        made = await self.referral(family_id, child_ids, **referral)
        await self.decide(made["id"], eligible)
        return family_id, child_ids, made["id"]

    async def start(self, referral_id: str, programme: str, started_on: str = "2024-06-03",
                    headers: dict[str, str] | None = None, **extra: Any) -> httpx.Response:
        return await self.client.post(f"/referrals/{referral_id}/interventions",
                                      json={"programme": programme, "started_on": started_on, **extra},
                                      headers=headers or self.auth("social_worker"))

    async def close(self, intervention_id: str, child_ids: list[str], closed_on: str = "2024-10-01",
                    reason: str = "completed", living: str = "at_home", headers: dict[str, str] | None = None
                    ) -> httpx.Response:
        body = {"closed_on": closed_on, "reason": reason,
                "child_outcomes": [{"child_id": c, "living_situation": living} for c in child_ids]}
        return await self.client.post(f"/referrals/interventions/{intervention_id}/close", json=body,
                                      headers=headers or self.auth("social_worker"))


def family_body(**overrides: Any) -> dict[str, Any]:
    return {"la_reference": f"FAM-{uuid.uuid4().hex[:10]}", "postcode_district": "LS6", "primary_language": "en",
            "interpreter_needed": False, **overrides}


def child_body(**overrides: Any) -> dict[str, Any]:
    return {"la_child_id": f"CH-{uuid.uuid4().hex[:10]}", "given_name": "Test", "family_name": "Child",
            "date_of_birth": "2010-06-15", "sex": "M", "ethnicity": "WBRI", "legal_status": "CPP", **overrides}


def referral_body(family_id: str, child_ids: list[str], **overrides: Any) -> dict[str, Any]:
    return {"family_id": family_id, "child_ids": child_ids, "referred_on": "2024-05-01",
            "source": "legal_planning_meeting", "risk_factors": ["behaviour"], "threshold_for_removal_met": True,
            **overrides}


def new_nhs_number() -> str:
    """A valid NHS number (modulus 11) not used before in this run: the column is unique."""
    import random

    while True:
        nine = [random.randint(0, 9) for _ in range(9)]
        check = 11 - sum(d * w for d, w in zip(nine, range(10, 1, -1))) % 11
        check = 0 if check == 11 else check
        number = "".join(map(str, nine)) + str(check)
        if check != 10 and number not in _issued:
            _issued.add(number)
            return number


_issued: set[str] = set()
Service.nhs_number = staticmethod(new_nhs_number)  # type: ignore[attr-defined]
Service.family_body = staticmethod(family_body)  # type: ignore[attr-defined]
Service.child_body = staticmethod(child_body)  # type: ignore[attr-defined]
Service.referral_body = staticmethod(referral_body)  # type: ignore[attr-defined]


@asynccontextmanager
async def _service(databases: Any, broker: Any, data_dir: Any, auth: Any, label: str,
                   **settings: Any) -> AsyncIterator[Service]:
    url = await databases.create(label)
    app = create_app(service_settings(ReferralSettings, database_url=url, broker=broker, data_dir=data_dir,
                                      timers_interval_seconds=0, **settings))
    async with running(app) as client:
        if app.state.runtime.settings.run_consumers:
            await eventually(lambda: app.state.runtime.consumers.connected, timeout=30)
        yield Service(client, app, url, broker.bootstrap, auth)


TOPICS = ["referral.created", "referral.updated", "child.updated", "intervention.started", "intervention.closed",
          "consent.overdue", "assessment.overdue", "partner.event.received"]


@dataclass
class World:
    svc: Service
    quiet: Service
    probe: Any


@pytest.fixture(scope="package")
async def world(databases: Any, broker: Any, data_dir: Any, auth: Any) -> AsyncIterator[World]:
    """Both services and one reader of everything they publish (from the beginning of each topic), started
    together: joining a consumer group costs seconds, so it is paid once, in parallel."""
    async with AsyncExitStack() as stack:
        svc, quiet, probe = await asyncio.gather(
            stack.enter_async_context(_service(databases, broker, data_dir, auth, "referral")),
            stack.enter_async_context(_service(databases, broker, data_dir, auth, "referral_quiet",
                                               run_consumers=False)),
            stack.enter_async_context(event_probe(broker.bootstrap, TOPICS)),
        )
        yield World(svc, quiet, probe)


@pytest.fixture
def svc(world: World) -> Service:
    """With consumers: eligibility decisions produced onto the broker reach its referrals."""
    return world.svc


@pytest.fixture
def quiet(world: World) -> Service:
    """Without consumers: no decision ever reaches its referrals."""
    return world.quiet


class JsonOnly:
    """The probe, reading only well-formed events: other suites put poison messages on shared topics."""

    def __init__(self, probe: Any) -> None:
        self._probe = probe

    @staticmethod
    def _guard(where: Any) -> Any:
        return lambda m: isinstance(m, dict) and isinstance(m.get("data"), dict) and where(m)

    def on(self, topic: str, where: Any = lambda _m: True) -> list[Any]:
        return self._probe.on(topic, self._guard(where))

    async def wait_for(self, topic: str, where: Any = lambda _m: True, **kwargs: Any) -> list[Any]:
        return await self._probe.wait_for(topic, self._guard(where), **kwargs)


@pytest.fixture
def probe(world: World) -> JsonOnly:
    return JsonOnly(world.probe)


@pytest.fixture
def sw(auth: Any) -> dict[str, str]:
    return auth("social_worker", subject="sw-test")


@pytest.fixture
def tm(auth: Any) -> dict[str, str]:
    return auth("team_manager", subject="tm-test")


@pytest.fixture
def ops(auth: Any) -> dict[str, str]:
    return auth("ops", subject="ops-test")


async def gather(*aws: Any) -> list[Any]:
    return list(await asyncio.gather(*aws))
