"""Composition root of finance-svc."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi import FastAPI

from eoc_shared.audit import audit_router
from eoc_shared.service import ServiceRuntime, create_service_app
from finance_svc import accounting
from finance_svc.api.routes import router
from finance_svc.db.models import DeadLetter, Inbox, Outbox
from finance_svc.db.repositories import AccessLog
from finance_svc.events import handlers
from finance_svc.settings import FinanceSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


async def _seed(runtime: ServiceRuntime) -> None:
    async with runtime.uow() as uow:
        await accounting.seed_placement_rule(uow)
    # What exists once started (modules, classes, the app) lives as long as the process: move it out of the
    # collector's way, so a full collection scans only what requests create. On the development VM a full
    # collection over the ~200k start-up objects took ~170 ms and hit large summaries' p95 (docs/finance.md).
    gc.freeze()


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
