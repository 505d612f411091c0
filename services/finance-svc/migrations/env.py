"""Alembic environment of finance-svc: this service's tables only."""

from eoc_shared.migrations import run_env
from finance_svc.db.models import Base
from finance_svc.settings import FinanceSettings

run_env(Base.metadata, lambda: FinanceSettings().resolved_database_url)
