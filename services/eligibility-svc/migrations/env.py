"""Alembic environment of eligibility-svc: this service's tables only."""

from eligibility_svc.db.models import Base
from eligibility_svc.settings import EligibilitySettings
from eoc_shared.migrations import run_env

run_env(Base.metadata, lambda: EligibilitySettings().resolved_database_url)
