"""e2ee to-device delivered: a message is acknowledged only once a sync handed it over

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 12:36:38.815669
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("e2ee_to_device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivered", sa.Boolean(), server_default=sa.false(), nullable=False))
    # Until now a sync handed over everything above the device's position: what is queued may have been handed
    # over already, and the next acknowledgement must be able to delete it.
    op.execute(sa.text("UPDATE e2ee_to_device SET delivered = :yes").bindparams(yes=True))


def downgrade() -> None:
    with op.batch_alter_table("e2ee_to_device", schema=None) as batch_op:
        batch_op.drop_column("delivered")
