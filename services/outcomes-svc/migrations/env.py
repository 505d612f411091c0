"""Alembic environment of outcomes-svc: this service's tables only."""

from eoc_shared.migrations import run_env
from outcomes_svc.db.models import Base
from outcomes_svc.settings import OutcomesSettings

run_env(Base.metadata, lambda: OutcomesSettings().resolved_database_url)
