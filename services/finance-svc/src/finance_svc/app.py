"""Composition root of finance-svc."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from eoc_shared.service import ServiceRuntime, create_service_app
from finance_svc.api.routes import router
from finance_svc.db.models import Inbox, Outbox
from finance_svc.settings import FinanceSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def create_app(settings: FinanceSettings | None = None) -> FastAPI:
    settings = settings or FinanceSettings()
    runtime = ServiceRuntime(settings, outbox_model=Outbox, inbox_model=Inbox, migrations_dir=MIGRATIONS)
    return create_service_app(
        runtime,
        title="Edge of Care — finance service",
        description="finance service of the Edge of Care platform.",
        routers=[router],
    )
