"""bus state (the broker instance the relay last published to) and an index on outbox.created_at for the
retention window (replay after broker loss, pruning).

Revision ID: 13_bus_state
Revises: 17_dead_letters
"""
from typing import Sequence, Union

from eoc_shared.migrations import create_bus_state, drop_bus_state

revision: str = '13_bus_state'
down_revision: Union[str, None] = '17_dead_letters'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_bus_state()


def downgrade() -> None:
    drop_bus_state()
