"""The decision path's consumers fetch with a short wait only while their topics are busy.

Tansu answers a fetch only when its wait expires, so eligibility-svc reads `referral.created` with a 10 ms wait
to keep decisions quick; at rest that wait was a hundred empty fetches a second. These tests watch the wait of
the consumer's next fetch (the value aiokafka builds each fetch request from) go long at rest and short again
when a referral arrives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from test_reliability import _referral_created, _wire

from conftest import SERVICES
from eoc_shared.settings import DECISION_PATH_FETCH_WAIT_MS
from eoc_shared.testing.fixtures import caught_up, eventually, produce_raw, running, service_settings

SHORT = DECISION_PATH_FETCH_WAIT_MS["eligibility"]["referral.created"]


@asynccontextmanager
async def _service(name: str, databases: Any, broker: Any, data_dir: Any, window: float) -> AsyncIterator[Any]:
    """One service on its own database, its short waits kept `window` seconds, caught up with the broker."""
    settings_cls, create_app = SERVICES[name]
    url = await databases.create(f"{name}_waits")
    app = create_app(service_settings(settings_cls, database_url=url, broker=broker, data_dir=data_dir,
                                      consumer_short_wait_seconds=window))
    async with running(app):
        await caught_up(broker.bootstrap, [app])
        yield app


async def test_the_decision_path_waits_long_at_rest_and_short_again_when_a_referral_arrives(
        databases, broker, data_dir) -> None:
    async with _service("eligibility", databases, broker, data_dir, window=0.5) as app:
        consumers = app.state.runtime.consumers
        at_rest = consumers.fetch_max_wait_ms
        assert at_rest > SHORT

        await eventually(lambda: consumers.fetch_wait_now() == at_rest, timeout=30)

        await produce_raw(broker.bootstrap, "referral.created", _wire(_referral_created()))
        await eventually(lambda: consumers.fetch_wait_now() == SHORT, timeout=30, interval=0.01)
        # and back once the topic has been quiet for the window
        await eventually(lambda: consumers.fetch_wait_now() == at_rest, timeout=30)

