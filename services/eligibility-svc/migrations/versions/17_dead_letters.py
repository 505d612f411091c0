"""dead letters

What this service's consumers park (also sent to `<topic>.dlq`), kept so operators can list and
replay them through the ops API and `eoc dlq` (eoc_shared.events.deadletters.DeadLetterMixin).

Revision ID: 17_dead_letters
Revises: 11_case_practitioners_access_log
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
import eoc_shared.db

revision: str = '17_dead_letters'
down_revision: Union[str, None] = '11_case_practitioners_access_log'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('dead_letters',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('consumer', sa.String(length=100), nullable=False),
    sa.Column('topic', sa.String(length=100), nullable=False),
    sa.Column('partition', sa.Integer(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('event_id', sa.Uuid(), nullable=True),
    sa.Column('message', sa.LargeBinary(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('first_parked_at', eoc_shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('parked_at', eoc_shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('replayed_at', eoc_shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letters'))
    )
    op.create_index('ix_dead_letters_topic_consumer_status', 'dead_letters', ['topic', 'consumer', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_dead_letters_topic_consumer_status', table_name='dead_letters')
    op.drop_table('dead_letters')
