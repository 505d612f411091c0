"""Composition root of finance-svc."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from eoc_shared.audit import audit_router
from eoc_shared.service import ServiceRuntime, create_service_app
from finance_svc import placement_rules
from finance_svc.api.routes import router
from finance_svc.db.models import DeadLetter, Inbox, Outbox
from finance_svc.db.repositories import AccessLog
from finance_svc.events import handlers
from finance_svc.settings import FinanceSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


async def _seed(runtime: ServiceRuntime) -> None:
    async with runtime.uow() as uow:
        await placement_rules.seed_placement_rule(uow)


def create_app(settings: FinanceSettings | None = None) -> FastAPI:
    settings = settings or FinanceSettings()
    runtime = ServiceRuntime(settings, outbox_model=Outbox, inbox_model=Inbox, migrations_dir=MIGRATIONS,
                             dead_letter_model=DeadLetter)
    handlers.register(runtime.consumers)
    return create_service_app(
        runtime,
        title="Edge of Care — finance service",
        description="Placement rates, projected cost avoided per child, savings by financial year against "
        "targets, value for money per programme, and the Family Therapies Board's quarterly paper.",
        routers=[audit_router("/finance", AccessLog), router],
        on_start=_seed,
    )
