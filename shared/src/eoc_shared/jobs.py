"""Periodic background jobs a service registers on its runtime (timers, schedulers), run one way for all."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from eoc_shared.metrics import record_job_run

log = structlog.get_logger("eoc.jobs")


@dataclass(frozen=True)
class Job:
    """`run()` at start and then every `interval_seconds`; a failed run is logged and retried at the next.
    Every run is counted in the scheduler metrics under the job's name (`job` label) and `service`."""

    name: str
    interval_seconds: float
    run: Callable[[], Awaitable[Any]]
    service: str = ""

    async def loop(self) -> None:
        while True:
            try:
                await self.run()
                record_job_run(self.service, self.name, True)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a failed run is retried at the next interval
                log.warning("job.run_failed", job=self.name, error=type(exc).__name__)
                record_job_run(self.service, self.name, False)
            await asyncio.sleep(self.interval_seconds)

    def start(self) -> asyncio.Task[None]:
        return asyncio.create_task(self.loop(), name=self.name)
