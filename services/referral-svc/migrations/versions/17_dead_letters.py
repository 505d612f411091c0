"""dead letters

What this service's consumers park (also sent to `<topic>.dlq`), kept so operators can list and
replay them through the ops API and `eoc dlq` (eoc_shared.events.deadletters.DeadLetterMixin).

Revision ID: 17_dead_letters
Revises: 16_twelve_month_outcomes
"""
from typing import Sequence, Union

from eoc_shared.migrations import create_dead_letters, drop_dead_letters

revision: str = '17_dead_letters'
down_revision: Union[str, None] = '16_twelve_month_outcomes'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_dead_letters()


def downgrade() -> None:
    drop_dead_letters()
