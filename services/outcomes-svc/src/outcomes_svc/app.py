"""Composition root of outcomes-svc."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from eoc_shared.service import ServiceRuntime, create_service_app
from outcomes_svc.api.routes import router
from outcomes_svc.db.models import Inbox, Outbox
from outcomes_svc.settings import OutcomesSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def create_app(settings: OutcomesSettings | None = None) -> FastAPI:
    settings = settings or OutcomesSettings()
    runtime = ServiceRuntime(settings, outbox_model=Outbox, inbox_model=Inbox, migrations_dir=MIGRATIONS)
    return create_service_app(
        runtime,
        title="Edge of Care — outcomes service",
        description="outcomes service of the Edge of Care platform.",
        routers=[router],
    )
