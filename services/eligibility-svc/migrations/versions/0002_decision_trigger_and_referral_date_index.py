"""decision trigger and referral-date index

A decision records which event caused it (referral.created, or referral.updated when the children
or risk factors changed); the rejection report selects decisions by referral date.

Revision ID: 0002
Revises: 0001
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('decisions', sa.Column('trigger', sa.String(length=40), server_default='referral.created', nullable=False))
    op.create_index('ix_decisions_referred_on', 'decisions', ['referred_on'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_decisions_referred_on', table_name='decisions')
    with op.batch_alter_table('decisions') as batch:
        batch.drop_column('trigger')
