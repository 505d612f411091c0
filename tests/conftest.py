"""Cross-service fixtures: the four services on PostgreSQL with the real broker, started once per session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from eoc_platform import registry
from eoc_shared.broker import EmbeddedBroker
from eoc_shared.testing.fixtures import PostgresDatabases, caught_up, running, service_settings

SERVICES = {s.name: (s.settings, s.create_app) for s in registry.SERVICES}


@dataclass
class Platform:
    clients: dict[str, httpx.AsyncClient]
    apps: dict[str, object]
    database_urls: dict[str, str]
    broker: EmbeddedBroker

    async def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        """Route by prefix, as the gateway does."""
        service = path.strip("/").split("/")[0]
        return await self.clients[registry.BY_PREFIX[service].name].request(method, path, **kwargs)


async def start_platform(
    stack: AsyncExitStack, databases: PostgresDatabases, broker: EmbeddedBroker, data_dir: Path, names: list[str]
) -> Platform:
    urls = {name: await databases.create(name) for name in names}
    apps = {
        name: SERVICES[name][1](service_settings(SERVICES[name][0], database_url=urls[name], broker=broker, data_dir=data_dir))
        for name in names
    }
    clients = dict(
        zip(names, await asyncio.gather(*(stack.enter_async_context(running(apps[n])) for n in names)))
    )
    await caught_up(broker.bootstrap, apps.values())
    return Platform(clients, apps, urls, broker)


@pytest.fixture(scope="session")
async def platform(databases: PostgresDatabases, broker: EmbeddedBroker, data_dir: Path) -> AsyncIterator[Platform]:
    async with AsyncExitStack() as stack:
        yield await start_platform(stack, databases, broker, data_dir, list(SERVICES))
