"""ledger: the year's breakdowns through a partial covering index (index-only scan for every summary).

Revision ID: 0003
Revises: 0002
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.drop_index('ix_ledger_entries_fy_breakdown_on', table_name='ledger_entries')
    op.create_index('ix_ledger_entries_breakdowns', 'ledger_entries', ['fy', 'breakdown_on', 'child_id'], unique=False,
                    postgresql_include=['breakdown_situation'], postgresql_where=sa.text('breakdown_on IS NOT NULL'),
                    sqlite_where=sa.text('breakdown_on IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_ledger_entries_breakdowns', table_name='ledger_entries')
    op.create_index('ix_ledger_entries_fy_breakdown_on', 'ledger_entries', ['fy', 'breakdown_on'], unique=False)
