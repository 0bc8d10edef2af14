"""ads attribution: a person's conversions by person (the clicks whose chats they started)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 02:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ad_conversions", schema=None) as batch_op:
        batch_op.create_index("ix_ad_conversions_person", ["person_id", "account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ad_conversions", schema=None) as batch_op:
        batch_op.drop_index("ix_ad_conversions_person")
