"""Cross-service fixtures: the four services on PostgreSQL with the real broker, started once per session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from eligibility_svc.app import create_app as create_eligibility
from eligibility_svc.settings import EligibilitySettings
from eoc_shared.broker import EmbeddedBroker
from eoc_shared.testing.fixtures import PostgresDatabases, caught_up, running, service_settings
from finance_svc.app import create_app as create_finance
from finance_svc.settings import FinanceSettings
from outcomes_svc.app import create_app as create_outcomes
from outcomes_svc.settings import OutcomesSettings
from referral_svc.app import create_app as create_referral
from referral_svc.settings import ReferralSettings

SERVICES = {
    "referral": (ReferralSettings, create_referral),
    "eligibility": (EligibilitySettings, create_eligibility),
    "outcomes": (OutcomesSettings, create_outcomes),
    "finance": (FinanceSettings, create_finance),
}


@dataclass
class Platform:
    clients: dict[str, httpx.AsyncClient]
    apps: dict[str, object]
    database_urls: dict[str, str]
    broker: EmbeddedBroker

    async def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        """Route by prefix, as the gateway does."""
        service = path.strip("/").split("/")[0]
        prefix = {"referrals": "referral"}.get(service, service)
        return await self.clients[prefix].request(method, path, **kwargs)


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
