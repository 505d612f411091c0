"""Composition root of outcomes-svc."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from eoc_shared.audit import audit_router
from eoc_shared.service import ServiceRuntime, create_service_app
from outcomes_svc import scheduling
from outcomes_svc.api.pulse_routes import router as reports_router
from outcomes_svc.api.routes import router
from outcomes_svc.db.models import DeadLetter, Inbox, Outbox
from outcomes_svc.db.repositories import AccessLogRepo
from outcomes_svc.events import handlers
from outcomes_svc.settings import OutcomesSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def _start_scheduler(settings: OutcomesSettings):  # noqa: ANN202
    def on_start(runtime: ServiceRuntime) -> None:
        if settings.scheduler_interval_seconds > 0:
            runtime.background.append(asyncio.create_task(
                scheduling.periodic(runtime, settings.scheduler_interval_seconds, settings.scheduler_batch_size),
                name="outcomes-scheduler",
            ))

    return on_start


def create_app(settings: OutcomesSettings | None = None) -> FastAPI:
    settings = settings or OutcomesSettings()
    runtime = ServiceRuntime(settings, outbox_model=Outbox, inbox_model=Inbox, migrations_dir=MIGRATIONS,
                             dead_letter_model=DeadLetter)
    handlers.register(runtime.consumers)
    return create_service_app(
        runtime,
        title="Edge of Care — outcomes service",
        description="Follow-ups to five years after each closed intervention, followup.due, detection of care "
        "entries, custody and re-referrals, sustainability figures and the survival estimate.",
        routers=[reports_router, audit_router("/outcomes", AccessLogRepo), router],
        on_start=_start_scheduler(settings),
    )
