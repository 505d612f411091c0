"""Alembic environment of referral-svc: this service's tables only."""

from eoc_shared.migrations import run_env
from referral_svc.db.models import Base
from referral_svc.settings import ReferralSettings

run_env(Base.metadata, lambda: ReferralSettings().resolved_database_url)
