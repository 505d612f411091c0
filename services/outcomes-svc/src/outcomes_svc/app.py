"""Composition root of outcomes-svc."""

from __future__ import annotations

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


def create_app(settings: OutcomesSettings | None = None) -> FastAPI:
    settings = settings or OutcomesSettings()
    runtime = ServiceRuntime(settings, outbox_model=Outbox, inbox_model=Inbox, migrations_dir=MIGRATIONS,
                             dead_letter_model=DeadLetter)
    handlers.register(runtime.consumers)
    runtime.add_job("followups", settings.scheduler_interval_seconds,
                    lambda: scheduling.run_today(runtime, settings.scheduler_batch_size))
    return create_service_app(
        runtime,
        title="Edge of Care — outcomes service",
        description="Follow-ups to five years after each closed intervention, followup.due, detection of care "
        "entries, custody and re-referrals, sustainability figures and the survival estimate.",
        routers=[reports_router, audit_router("/outcomes", AccessLogRepo), router],
    )
