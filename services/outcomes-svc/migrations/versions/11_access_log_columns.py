"""access_log takes the shared access-log column set (eoc_shared.audit.AccessLogMixin): role 32, action 64

Revision ID: 11_access_log_columns
Revises: 15_care_applications
Create Date: 2026-12-02 15:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from eoc_shared.migrations import make_append_only

revision: str = '11_access_log_columns'
down_revision: str | None = '15_care_applications'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _retype(role: int, action: int, old_role: int, old_action: int) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column('access_log', 'role', type_=sa.String(length=role), existing_type=sa.String(length=old_role))
        op.alter_column('access_log', 'action', type_=sa.String(length=action),
                        existing_type=sa.String(length=old_action))
        return
    # SQLite rebuilds the table, which drops its triggers: put the append-only ones back.
    with op.batch_alter_table('access_log', recreate='always') as batch:
        batch.alter_column('role', type_=sa.String(length=role), existing_type=sa.String(length=old_role))
        batch.alter_column('action', type_=sa.String(length=action), existing_type=sa.String(length=old_action))
    make_append_only('access_log')


def upgrade() -> None:
    _retype(32, 64, 40, 60)


def downgrade() -> None:
    _retype(40, 60, 32, 64)
