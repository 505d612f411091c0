"""twelve-month outcomes seen (followup.recorded), for the equity funnel

Revision ID: 16_twelve_month_outcomes
Revises: 15_pre_proceedings
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import eoc_shared.db

revision: str = '16_twelve_month_outcomes'
down_revision: Union[str, None] = '15_pre_proceedings'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('twelve_month_outcomes',
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('intervention_id', sa.Uuid(), nullable=False),
    sa.Column('followup_id', sa.Uuid(), nullable=True),
    sa.Column('living_situation', sa.String(length=16), nullable=False),
    sa.Column('re_referred', sa.Boolean(), nullable=False),
    sa.Column('observed_on', sa.Date(), nullable=False),
    sa.Column('received_at', eoc_shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('child_id', 'intervention_id', name=op.f('pk_twelve_month_outcomes'))
    )


def downgrade() -> None:
    op.drop_table('twelve_month_outcomes')
