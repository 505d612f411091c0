"""Composition root of eligibility-svc."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from eligibility_svc import decisions
from eligibility_svc.api.routes import install_error_paths, router
from eligibility_svc.db.models import DeadLetter, Inbox, Outbox
from eligibility_svc.db.repositories import AccessLog
from eligibility_svc.events import handlers
from eligibility_svc.settings import EligibilitySettings
from eoc_shared.audit import audit_router
from eoc_shared.service import ServiceRuntime, create_service_app

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


async def _seed(runtime: ServiceRuntime) -> None:
    async with runtime.uow() as uow:
        await decisions.seed_rule_sets(uow)


def create_app(settings: EligibilitySettings | None = None) -> FastAPI:
    settings = settings or EligibilitySettings()
    runtime = ServiceRuntime(settings, outbox_model=Outbox, inbox_model=Inbox, migrations_dir=MIGRATIONS,
                             dead_letter_model=DeadLetter)
    handlers.register(runtime.consumers)
    app = create_service_app(
        runtime,
        title="Edge of Care — eligibility service",
        description="Programme catalogue, versioned rules as data, explained decisions, what-if assessments, "
        "and the rejection report.",
        routers=[audit_router("/eligibility", AccessLog), router],
        on_start=_seed,
    )
    install_error_paths(app)
    return app
