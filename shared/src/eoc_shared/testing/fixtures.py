"""pytest plugin (registered by the root conftest): fixtures that talk to the real broker and database.

No fakes: the Tansu broker runs as a subprocess once per test session, and each service gets a
PostgreSQL database of its own, created for the session and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from eoc_shared.auth import ensure_dev_keypair, issue_dev_token
from eoc_shared.broker import EmbeddedBroker

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("EOC_TEST_DATABASE_URL", DEFAULT_SERVER).replace("postgresql+asyncpg://", "postgresql://")


def async_url(database: str) -> str:
    base = server_url().rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{database}"


class PostgresDatabases:
    """Creates uniquely named databases on the test server (parallel runs never collide) and drops them."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self.run = uuid.uuid4().hex[:8]

    async def create(self, label: str) -> str:
        name = f"eoc_test_{label}_{self.run}_{len(self.created)}"
        try:
            conn = await asyncpg.connect(server_url(), timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            pytest.fail(
                f"PostgreSQL is not reachable at {server_url()} ({exc}). Start it with "
                "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
                "or set EOC_TEST_DATABASE_URL."
            )
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.created.append(name)
        return async_url(name)

    async def drop_all(self) -> None:
        if not self.created:
            return
        conn = await asyncpg.connect(server_url(), timeout=5)
        try:
            for name in self.created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    b = EmbeddedBroker(log_file=tmp_path_factory.mktemp("broker") / "tansu.log")
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
async def databases() -> AsyncIterator[PostgresDatabases]:
    dbs = PostgresDatabases()
    yield dbs
    await dbs.drop_all()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("data")
    ensure_dev_keypair(d)
    return d


@pytest.fixture(scope="session")
def token(data_dir: Path) -> Callable[..., str]:
    def make(role: str, source: str | None = None, subject: str | None = None) -> str:
        return issue_dev_token(data_dir, role, source=source, subject=subject)

    return make


@pytest.fixture(scope="session")
def auth(token: Callable[..., str]) -> Callable[..., dict[str, str]]:
    def headers(role: str, source: str | None = None, subject: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(role, source=source, subject=subject)}"}

    return headers


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's whole lifespan (migrations, relay, consumers) and talk to it over ASGI."""
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
            yield client


def service_settings(settings_cls: type, *, database_url: str, broker: EmbeddedBroker, data_dir: Path, **extra: Any) -> Any:
    extra.setdefault("consumer_group_suffix", f".test-{uuid.uuid4().hex[:8]}")
    return settings_cls(
        env="test", database_url=database_url, kafka_bootstrap=broker.bootstrap, data_dir=data_dir,
        outbox_poll_seconds=0.2, consumer_backoff_seconds=0.05, log_json=True, **extra,
    )


@dataclass
class EventProbe:
    """Reads what was really published on the broker, from the beginning of each topic."""

    bootstrap: str
    messages: list[tuple[str, bytes | None, dict[str, Any] | bytes, dict[str, str]]] = field(default_factory=list)
    _consumer: AIOKafkaConsumer | None = None
    _task: asyncio.Task[None] | None = None

    async def start(self, topics: list[str]) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics, bootstrap_servers=self.bootstrap, group_id=f"probe-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest", enable_auto_commit=False, metadata_max_age_ms=1000,
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        assert self._consumer is not None
        async for record in self._consumer:
            try:
                value: Any = json.loads(record.value)
            except (ValueError, TypeError):
                value = record.value
            headers = {k: v.decode(errors="replace") for k, v in (record.headers or [])}
            self.messages.append((record.topic, record.key, value, headers))

    def on(self, topic: str, where: Callable[[Any], bool] = lambda _m: True) -> list[Any]:
        """Messages on `topic` matching `where`; poison (non-JSON) messages match only a filter that accepts them."""

        def matches(value: Any) -> bool:
            try:
                return bool(where(value))
            except (TypeError, KeyError, IndexError):
                return False

        return [value for t, _k, value, _h in self.messages if t == topic and matches(value)]

    async def wait_for(
        self, topic: str, where: Callable[[Any], bool] = lambda _m: True, timeout: float = 20.0, count: int = 1
    ) -> list[Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            found = self.on(topic, where)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {count} message(s) on {topic} matching within {timeout}s; saw {len(self.on(topic))}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        if self._consumer:
            await self._consumer.stop()


@asynccontextmanager
async def event_probe(bootstrap: str, topics: list[str]) -> AsyncIterator[EventProbe]:
    probe = EventProbe(bootstrap)
    await probe.start(topics)
    try:
        yield probe
    finally:
        await probe.stop()


async def produce_raw(bootstrap: str, topic: str, value: bytes, key: bytes | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def caught_up(bootstrap: str, apps: Iterable[FastAPI], timeout: float = 180.0) -> None:
    """Wait until every consumer of these running apps has committed up to the end of its topic as it is now.

    Test suites share one broker, and a service started mid-session reads each topic from the start (a new
    consumer group): until it has worked through the other suites' events, a test's own event waits behind
    them. A fixture that waits here first keeps each test's timing its own.
    """
    from aiokafka.structs import TopicPartition

    groups: dict[str, set[str]] = {}
    for app in apps:
        consumers = app.state.runtime.consumers
        for sub in consumers.subscriptions:  # one group per service reads all its topics
            groups.setdefault(consumers.group_id, set()).add(sub.spec.topic)
    if not groups:
        return
    # One reader per group, never subscribed (so it joins nothing): it only asks what the group committed.
    readers = {g: AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=g, enable_auto_commit=False) for g in groups}
    try:
        for reader in readers.values():
            await reader.start()
        any_reader = next(iter(readers.values()))
        await any_reader.topics()  # loads the cluster's metadata, so that every partition is known
        ends: dict[str, dict[Any, int]] = {}
        for topic in set().union(*groups.values()):
            partitions = [TopicPartition(topic, p) for p in (any_reader.partitions_for_topic(topic) or {0})]
            ends[topic] = await any_reader.end_offsets(partitions)

        async def done() -> bool:
            for group, topics in groups.items():
                for topic in topics:
                    for tp, end in ends[topic].items():
                        if end > 0 and (await readers[group].committed(tp) or 0) < end:
                            return False
            return True

        await eventually(done, timeout=timeout, interval=0.2)
    finally:
        for reader in readers.values():
            await reader.stop()


async def eventually(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll an async or sync check until it returns a truthy value."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")
