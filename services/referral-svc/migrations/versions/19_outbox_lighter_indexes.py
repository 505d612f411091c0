"""outbox: no unique index of the (random) event ids; on PostgreSQL a BRIN index of created_at in place of
the B-tree — the two indexes that cost most per row written and per row marked sent

Revision ID: 19_outbox_lighter_indexes
Revises: 18_outbox_unpublished
"""
from typing import Sequence, Union

from eoc_shared.migrations import lighten_outbox_indexes, restore_outbox_indexes

revision: str = '19_outbox_lighter_indexes'
down_revision: Union[str, None] = '18_outbox_unpublished'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    lighten_outbox_indexes()


def downgrade() -> None:
    restore_outbox_indexes()
