"""case_practitioners (who works a case, for scoping decision reads), the append-only access_log,
and decisions.child_ids (whose decision it is, for that log)

Revision ID: 11_case_practitioners_access_log
Revises: 0002
Create Date: 2026-12-02 15:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from eoc_shared.db import JSONType, UTCDateTime
from eoc_shared.migrations import drop_append_only, make_append_only

revision: str = '11_case_practitioners_access_log'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('decisions', sa.Column('child_ids', JSONType, nullable=True))
    op.create_table(
        'case_practitioners',
        sa.Column('referral_id', sa.Uuid(), nullable=False),
        sa.Column('practitioner', sa.String(length=200), nullable=False),
        sa.Column('learned_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('referral_id', 'practitioner', name=op.f('pk_case_practitioners')),
    )
    op.create_table(
        'access_log',
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False),
                  nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('actor', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('child_id', sa.Uuid(), nullable=False),
        sa.Column('request_id', sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint('seq', name=op.f('pk_access_log')),
    )
    op.create_index('ix_access_log_child_at', 'access_log', ['child_id', 'at'], unique=False)
    make_append_only('access_log')


def downgrade() -> None:
    drop_append_only('access_log')
    op.drop_index('ix_access_log_child_at', table_name='access_log')
    op.drop_table('access_log')
    op.drop_table('case_practitioners')
    with op.batch_alter_table('decisions') as batch:
        batch.drop_column('child_ids')
