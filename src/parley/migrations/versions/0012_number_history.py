"""number history: each change of a number's quality rating, messaging-limit tier or throughput, and why

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 17:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# The models' `Id`: BIGINT on PostgreSQL, INTEGER on SQLite (so SQLite's rowid aliasing applies).
ID = sa.BigInteger().with_variant(sa.BIGINT(), "postgresql").with_variant(sa.INTEGER(), "sqlite")

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "number_history",
        sa.Column("id", ID, nullable=False),
        sa.Column("phone_number_id", ID, nullable=False),
        sa.Column("waba_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=24), nullable=False),
        sa.Column("old_value", sa.String(length=24), nullable=False),
        sa.Column("new_value", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=512), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["phone_number_id"], ["phone_numbers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("number_history", schema=None) as batch_op:
        batch_op.create_index("ix_number_history_number_created", ["phone_number_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("number_history", schema=None) as batch_op:
        batch_op.drop_index("ix_number_history_number_created")
    op.drop_table("number_history")
