"""A database that stops under a service: 503 with Retry-After (never 500), readyz 503, back without a restart.

The database is a private PostgreSQL cluster the test stops and starts, never the machine's shared server.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from datetime import date

import pytest
from journeys import family_body, make_family
from sqlalchemy import func, select

from eoc_shared.events.envelope import build_envelope
from eoc_shared.events.schemas import ChildFacts, ReferralCreated
from eoc_shared.outage import DEPENDENCY_ERRORS, is_outage
from eoc_shared.testing.fixtures import caught_up, eventually, produce_raw, running, service_settings
from eoc_shared.testing.private_postgres import PrivatePostgres


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    pg.init()
    pg.start()
    try:
        yield pg
    finally:
        pg.destroy()


def _assert_unavailable(r, what: str) -> None:
    assert r.status_code == 503, f"{what}: {r.status_code} {r.text}"
    assert r.headers["content-type"] == "application/problem+json", what
    assert int(r.headers["retry-after"]) > 0, what
    assert r.json()["status"] == 503 and "database" in r.json()["detail"]


async def test_a_stopped_database_answers_503_with_retry_after_and_writes_return_at_once(
    private_postgres: PrivatePostgres, broker, data_dir, auth
) -> None:
    from eligibility_svc.app import create_app as create_eligibility
    from eligibility_svc.settings import EligibilitySettings
    from referral_svc.app import create_app as create_referral
    from referral_svc.settings import ReferralSettings

    pg = private_postgres
    referral = create_referral(service_settings(
        ReferralSettings, database_url=pg.create_database(f"referral_{uuid.uuid4().hex[:6]}"), broker=broker,
        data_dir=data_dir))
    eligibility = create_eligibility(service_settings(
        EligibilitySettings, database_url=pg.create_database(f"eligibility_{uuid.uuid4().hex[:6]}"), broker=broker,
        data_dir=data_dir))
    sw, ops = auth("social_worker"), auth("ops")
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(running(referral))
        elig = await stack.enter_async_context(running(eligibility))
        family_id, (child_id,) = await make_family(client, sw)

        async def ready() -> bool:
            return (await client.get("/referrals/readyz")).status_code == 200

        await eventually(ready, timeout=60)
        await caught_up(broker.bootstrap, [eligibility])
        await asyncio.to_thread(pg.stop)
        statuses: list[int] = []
        for _ in range(10):
            r = await client.post("/referrals/families", json=family_body(), headers=sw)
            statuses.append(r.status_code)
            _assert_unavailable(r, "POST /referrals/families")
        _assert_unavailable(await client.get(f"/referrals/families/{family_id}", headers=sw), "GET a family")
        _assert_unavailable(await client.get(f"/referrals/children/{child_id}", headers=sw), "GET a child")
        _assert_unavailable(await elig.get("/eligibility/rules", headers=ops), "GET /eligibility/rules")
        assert (await client.get("/referrals/readyz")).status_code == 503
        assert (await client.get("/referrals/metrics", headers=ops)).status_code == 200, "metrics still answer"
        assert set(statuses) == {503}

        # a consumer whose database is away waits for it rather than dead-lettering a good message
        refused = DEPENDENCY_ERRORS.labels("eligibility", "database")._value.get()
        data = ReferralCreated(
            referral_id=uuid.uuid4(), family_id=uuid.uuid4(), referred_on=date(2024, 5, 1), source="social_worker",
            risk_factors=["behaviour"], threshold_for_removal_met=True,
            children=[ChildFacts(child_id=uuid.uuid4(), age_years=14, legal_status="CPP")])
        env = build_envelope("referral.created", key=str(data.referral_id), data=data, source="urn:eoc:test")
        await produce_raw(broker.bootstrap, "referral.created",
                          json.dumps({k: v for k, v in env.items() if not k.startswith("_")}).encode(),
                          key=str(data.referral_id).encode())
        await eventually(lambda: DEPENDENCY_ERRORS.labels("eligibility", "database")._value.get() > refused + 2,
                         timeout=60)

        await asyncio.to_thread(pg.start)
        back_at = time.monotonic()
        recovered_after = None
        while time.monotonic() - back_at < 5.0:
            r = await client.post("/referrals/families", json=family_body(), headers=sw)
            if r.status_code == 201:
                recovered_after = time.monotonic() - back_at
                break
            assert r.status_code == 503, r.text
            await asyncio.sleep(0.1)
        assert recovered_after is not None, "writes came back within 5 s of the database's return"
        print(f"\noutage: {len(statuses)} writes answered {sorted(set(statuses))}; "
              f"writes back {recovered_after:.2f}s after the database returned")
        assert (await client.get(f"/referrals/families/{family_id}", headers=sw)).status_code == 200
        assert (await elig.get("/eligibility/rules", headers=ops)).status_code == 200
        assert await ready()

        from eligibility_svc.db.models import DeadLetter, DecisionRecord

        async def decided() -> bool:
            async with eligibility.state.runtime.db.sessions() as session:
                return bool((await session.execute(select(func.count()).select_from(DecisionRecord)
                                                   .where(DecisionRecord.referral_id == data.referral_id))).scalar_one())

        await eventually(decided, timeout=60)
        async with eligibility.state.runtime.db.sessions() as session:
            parked = select(func.count()).select_from(DeadLetter).where(DeadLetter.event_id == uuid.UUID(env["id"]))
            assert (await session.execute(parked)).scalar_one() == 0, "the outage dead-lettered nothing"


def test_what_counts_as_an_outage() -> None:
    """Connection failures and a locked SQLite file are outages; a constraint violation or bad SQL is not."""
    import sqlite3

    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    assert is_outage(ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5)"))
    assert is_outage(OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 5432, 0, 0)"))
    assert is_outage(PoolTimeout("QueuePool limit of size 10 overflow 10 reached"))
    assert is_outage(OperationalError("INSERT …", {}, sqlite3.OperationalError("database is locked")))
    assert not is_outage(OperationalError("SELECT …", {}, sqlite3.OperationalError("no such table: families")))
    assert not is_outage(IntegrityError("INSERT …", {}, sqlite3.IntegrityError("UNIQUE constraint failed")))
    assert not is_outage(ProgrammingError("SELECT …", {}, Exception("syntax error")))
    assert not is_outage(FileNotFoundError(2, "No such file or directory"))
    assert not is_outage(ValueError("bad"))
