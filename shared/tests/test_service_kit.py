"""What every service gets from eoc_shared, proved once: bulk publishing, who is acting, locks, jobs, the registry."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import DeclarativeBase

from eoc_platform import registry
from eoc_shared.acting import SYSTEM_ROLE, Acting
from eoc_shared.auth import ROLE_SCOPES, Principal, Role
from eoc_shared.db import Database, UnitOfWork, new_ids
from eoc_shared.events.envelope import Envelope, source_of
from eoc_shared.events.schemas import FollowupDue
from eoc_shared.events.store import event_tables, naming_metadata
from eoc_shared.jobs import Job
from eoc_shared.locks import lock_ids


class Base(DeclarativeBase):
    metadata = naming_metadata()


Outbox, Inbox = event_tables(Base)
SOURCE = source_of("kit-test")


def due(months: int) -> tuple[uuid.UUID, FollowupDue]:
    child = uuid.uuid4()
    return child, FollowupDue(followup_id=uuid.uuid4(), child_id=child, intervention_id=uuid.uuid4(),
                              checkpoint_months=months, due_on=date(2025, 2, 28))


async def _outbox_after(db: Database, publish: Any) -> list[Any]:
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with UnitOfWork(db, Outbox, SOURCE) as uow:
        await publish(uow)
        await uow.commit()
    async with db.sessions() as session:
        return list((await session.execute(select(Outbox).order_by(Outbox.seq))).scalars())


@pytest.fixture(params=["postgresql", "sqlite"])
async def database(request: pytest.FixtureRequest, databases: Any, tmp_path: Path) -> Any:
    url = await databases.create("kit") if request.param == "postgresql" else \
        f"sqlite+aiosqlite:///{tmp_path / 'kit.sqlite3'}"
    db = Database(url)
    yield db
    await db.dispose()


@pytest.mark.parametrize("count", [3, UnitOfWork.COPY_FROM + 7])
async def test_publish_many_writes_what_publish_writes_one_by_one(database: Database, count: int) -> None:
    items = [due(6 + i) for i in range(count)]
    single = await _outbox_after(database, lambda uow: _publish_each(uow, items[:1]))
    many = await _outbox_after(database, lambda uow: uow.publish_many("followup.due", items))
    bulk = many[len(single):]
    assert len(bulk) == count and len({row.id for row in bulk}) == count
    reference = single[0].payload
    for row, (key, data) in zip(bulk, items):
        assert (row.topic, row.key, row.published_at, row.attempts) == ("followup.due", str(key), None, 0)
        assert row.payload.keys() == reference.keys()
        assert {k: row.payload[k] for k in ("source", "type", "specversion", "datacontenttype")} == {
            k: reference[k] for k in ("source", "type", "specversion", "datacontenttype")}
        envelope = Envelope.model_validate(row.payload)
        assert (envelope.id, envelope.subject) == (row.id, str(key))
        assert FollowupDue.model_validate(envelope.data) == data


@pytest.mark.parametrize("form", ["dict", "json"])
@pytest.mark.parametrize("count", [3, UnitOfWork.COPY_FROM + 7])
async def test_publish_many_takes_payloads_already_dumped(database: Database, count: int, form: str) -> None:
    """Bulk paths hand over `model_dump(mode="json")` dicts, or their JSON text: the outbox holds what the
    models would give."""
    items = [due(6 + i) for i in range(count)]
    models = await _outbox_after(database, lambda uow: uow.publish_many("followup.due", items))
    dumped = await _outbox_after(database, lambda uow: uow.publish_many(
        "followup.due", [(key, data.model_dump(mode="json") if form == "dict" else data.model_dump_json())
                         for key, data in items]))
    for by_model, by_dict in zip(models, dumped[len(models):], strict=True):
        assert (by_dict.topic, by_dict.key) == (by_model.topic, by_model.key)
        assert by_dict.payload["data"] == by_model.payload["data"]
        assert by_dict.payload.keys() == by_model.payload.keys()


async def test_publish_many_checks_a_dumped_payload_against_its_model(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with UnitOfWork(database, Outbox, SOURCE) as uow:
        with pytest.raises(ValueError):
            await uow.publish_many("followup.due", [(uuid.uuid4(), {"followup_id": "not an id"})])
        with pytest.raises(ValueError):
            await uow.publish_many("followup.due", [(uuid.uuid4(), '{"followup_id": "not an id"}')])


def test_bulk_ids_are_distinct_version_4_uuids() -> None:
    ids = new_ids(2000)
    assert len(set(ids)) == 2000
    assert all(isinstance(i, uuid.UUID) and i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)
    assert all(uuid.UUID(str(i)) == i and hash(uuid.UUID(str(i))) == hash(i) for i in ids[:50])


async def _publish_each(uow: UnitOfWork, items: list[tuple[uuid.UUID, FollowupDue]]) -> None:
    for key, data in items:
        uow.publish("followup.due", key=key, data=data)


async def test_publish_many_rolls_back_with_the_transaction(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with UnitOfWork(database, Outbox, SOURCE) as uow:
        await uow.publish_many("followup.due", [due(6) for _ in range(UnitOfWork.COPY_FROM)])
    async with database.sessions() as session:
        assert (await session.execute(select(Outbox))).first() is None


def test_acting_has_one_set_of_roles() -> None:
    practitioner = Principal("p-1", Role.PRACTITIONER, ROLE_SCOPES[Role.PRACTITIONER])
    partner = Principal("police-1", Role.PARTNER_FEED, ROLE_SCOPES[Role.PARTNER_FEED], source="police")
    assert Acting.of(practitioner, "r-1") == Acting("p-1", "practitioner", "r-1", None)
    assert Acting.of(practitioner).is_practitioner and not Acting.of(partner).is_practitioner
    assert Acting.of(partner).source == "police"
    service = Acting.system("finance")
    assert (service.actor, service.role, service.is_system) == ("finance", SYSTEM_ROLE, True)


async def test_a_child_lock_is_held_until_the_transaction_ends(databases: Any) -> None:
    db = Database(await databases.create("locks"))
    child = uuid.uuid4()
    try:
        async with db.sessions() as holder, db.sessions() as other:
            await lock_ids(holder, [child, child])
            key = int.from_bytes(child.bytes[:8], "big", signed=True)
            try_lock = text("SELECT pg_try_advisory_xact_lock(:key)")
            assert (await other.execute(try_lock, {"key": key})).scalar() is False
            await holder.commit()
            assert (await other.execute(try_lock, {"key": key})).scalar() is True
            await other.rollback()
    finally:
        await db.dispose()


async def test_a_job_runs_again_after_a_failed_run() -> None:
    runs: list[int] = []
    third = asyncio.Event()

    async def run() -> None:
        runs.append(len(runs))
        if len(runs) == 3:
            third.set()
        if len(runs) == 1:
            raise RuntimeError("the first run fails")

    task = Job("kit-test", 0.01, run).start()
    try:
        await asyncio.wait_for(third.wait(), 30)
    finally:
        task.cancel()
    assert runs[:3] == [0, 1, 2]


def test_the_registry_agrees_with_each_service() -> None:
    for service in registry.SERVICES:
        app_module = __import__(f"{service.package}.app", fromlist=["MIGRATIONS"])
        assert service.settings.service_name == service.name
        assert service.settings.prefix == f"/{service.prefix}"
        assert service.migrations_dir == app_module.MIGRATIONS and (service.migrations_dir / "versions").is_dir()
        assert service.create_app is app_module.create_app
        assert {"outbox", "inbox"} <= set(service.metadata.tables)
    assert registry.NAMES == ("referral", "eligibility", "outcomes", "finance")
