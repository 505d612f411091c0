"""The service test harness every suite uses: start a service for real, wait until it is ready, check problems."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from eoc_shared.testing.fixtures import EventProbe, event_probe, eventually, running


def events_consumed(service: str, topic: str, outcome: str) -> float:
    """`eoc_events_consumed_total` of one service, topic and outcome (`ignored`, `handled`…) as this process
    counted it: how a test sees that an event was settled without a transaction."""
    from prometheus_client import REGISTRY

    labels = {"service": service, "topic": topic, "outcome": outcome}
    return REGISTRY.get_sample_value("eoc_events_consumed_total", labels) or 0.0


def assert_problem(r: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem with this status; with `field`, one naming that field in `errors` and in `detail`."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status, body
    if field is not None:
        assert field in [e["field"] for e in body.get("errors") or []], (field, body)
        assert field in body["detail"], (field, body)
    return body


@dataclass
class Started:
    """A service running in-process over its whole lifespan, and what its tests read the broker with."""

    app: FastAPI
    client: httpx.AsyncClient
    probe: EventProbe | None


@asynccontextmanager
async def started(app: FastAPI, *, bootstrap: str | None = None, topics: Iterable[str] = ()) -> AsyncIterator[Started]:
    """Run `app` (migrations, relay, consumers), with a probe on `topics` when given, once its consumers have
    joined their groups: a test's first event is then handled, not waiting for a join."""
    topics = list(topics)
    async with AsyncExitStack() as stack:
        if topics:
            assert bootstrap is not None, "a probe needs the broker's bootstrap address"
            client, probe = await asyncio.gather(
                stack.enter_async_context(running(app)), stack.enter_async_context(event_probe(bootstrap, topics))
            )
        else:
            client, probe = await stack.enter_async_context(running(app)), None
        if app.state.runtime.consumers.subscriptions and app.state.runtime.settings.run_consumers:
            await eventually(lambda: app.state.runtime.consumers.connected, timeout=30)
        yield Started(app, client, probe)


def wait_ready(base: str, prefixes: Iterable[str], *, timeout: float = 180,
               process: subprocess.Popen[Any] | None = None, log: Any = None) -> None:
    """Poll `GET {base}/{prefix}/readyz` of each service until all answer 200; fail early if `process` exits."""
    deadline = time.monotonic() + timeout
    pending = list(prefixes)
    while pending:
        if process is not None:
            assert process.poll() is None, f"the platform exited with {process.returncode}{_tail(log)}"
        assert time.monotonic() < deadline, f"not ready: {pending}{_tail(log)}"
        for prefix in list(pending):
            try:
                if httpx.get(f"{base}/{prefix}/readyz", timeout=2).status_code == 200:
                    pending.remove(prefix)
            except httpx.HTTPError:
                pass
        if pending:
            time.sleep(0.2)


def _tail(log: Any) -> str:
    return "" if log is None else f":\n{log.read_text()}"
