"""Alembic environment of eligibility-svc: this service's tables only."""

from eoc_shared.migrations import run_env
from eligibility_svc.db.models import Base
from eligibility_svc.settings import EligibilitySettings

run_env(Base.metadata, lambda: EligibilitySettings().resolved_database_url)
