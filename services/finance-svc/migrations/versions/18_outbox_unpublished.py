"""outbox: a partial index of the unpublished rows by seq, which the relay reads its rounds by, in place of
the index of published_at

Revision ID: 18_outbox_unpublished
Revises: 13_bus_state
"""
from typing import Sequence, Union

from eoc_shared.migrations import create_outbox_unpublished_index, drop_outbox_unpublished_index

revision: str = '18_outbox_unpublished'
down_revision: Union[str, None] = '13_bus_state'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_outbox_unpublished_index()


def downgrade() -> None:
    drop_outbox_unpublished_index()
