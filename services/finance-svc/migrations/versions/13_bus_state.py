"""bus state (the broker instance the relay last published to) and an index on outbox.created_at for the
retention window (replay after broker loss, pruning).

Revision ID: 13_bus_state
Revises: 0003
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
import eoc_shared.db

revision: str = '13_bus_state'
down_revision: Union[str, None] = '17_dead_letters'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('bus_state',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('updated_at', eoc_shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_bus_state'))
    )
    op.create_index(op.f('ix_outbox_created_at'), 'outbox', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_outbox_created_at'), table_name='outbox')
    op.drop_table('bus_state')
