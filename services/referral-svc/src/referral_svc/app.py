"""Composition root of referral-svc."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from eoc_shared.audit import audit_router
from eoc_shared.group_commit import GroupCommit
from eoc_shared.service import ServiceRuntime, create_service_app
from referral_svc import equity, escalations, families, feed_intake
from referral_svc.api.equity_routes import router as reports_router
from referral_svc.api.pre_proceedings import router as pre_proceedings_router
from referral_svc.api.routes import intake, router
from referral_svc.case_history import child_known
from referral_svc.db.models import DeadLetter, Inbox, Outbox
from referral_svc.db.repositories import AuditLog
from referral_svc.events import handlers
from referral_svc.settings import ReferralSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def create_app(settings: ReferralSettings | None = None) -> FastAPI:
    settings = settings or ReferralSettings()
    runtime = ServiceRuntime(settings, outbox_model=Outbox, inbox_model=Inbox, migrations_dir=MIGRATIONS,
                             dead_letter_model=DeadLetter)
    handlers.register(runtime.consumers)
    runtime.add_job("escalations", settings.timers_interval_seconds, lambda: escalations.run_today(runtime))
    equity.register(runtime.consumers)
    app = create_service_app(
        runtime,
        title="Edge of Care — referral service",
        description="Families, children, referrals, consent and assessment timers, interventions, partner feeds, audit.",
        # fixed paths before /{referral_id}: the reports, the audit router and pre-proceedings
        routers=[reports_router, audit_router("/referrals", AuditLog, known=child_known), pre_proceedings_router, router],
        first_routers=[intake],
    )
    # PostgreSQL: a few group transactions in flight; SQLite has one writer whatever we do.
    writers = 4 if runtime.db.is_postgres else 1
    app.state.feed_group = GroupCommit(runtime.uow, feed_intake.receive_many, name="referral-feed", writers=writers)
    app.state.family_group = GroupCommit(runtime.uow, families.register_families, name="referral-families",
                                         writers=writers)
    app.state.child_group = GroupCommit(runtime.uow, families.add_children, name="referral-children", writers=writers)
    return app
