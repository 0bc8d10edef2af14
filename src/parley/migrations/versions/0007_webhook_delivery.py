"""webhook events are delivered on their own; a message's statuses keep their order (order_key)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_key", sa.BigInteger(), nullable=True))
        batch_op.drop_index("ix_webhook_events_stream")
        batch_op.create_index("ix_webhook_events_order", ["order_key", "state", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_events_order")
        batch_op.create_index("ix_webhook_events_stream", ["waba_id", "phone_number_id", "state", "id"], unique=False)
        batch_op.drop_column("order_key")
