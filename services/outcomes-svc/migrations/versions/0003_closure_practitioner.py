"""closures.practitioner: whose intervention it was, so that a practitioner follows up their own cases

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:45:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('closures') as batch:
        batch.add_column(sa.Column('practitioner', sa.String(length=200), nullable=True))
        batch.create_index('ix_closures_practitioner', ['practitioner'])


def downgrade() -> None:
    with op.batch_alter_table('closures') as batch:
        batch.drop_index('ix_closures_practitioner')
        batch.drop_column('practitioner')
