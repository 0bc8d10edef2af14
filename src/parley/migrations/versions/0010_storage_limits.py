"""storage limits: unsent media, request digests of idempotent sends, click visitors

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 14:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.add_column(sa.Column("used_at", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_media_owner_used", ["owner_id", "used_at"], unique=False)
        batch_op.create_index("ix_media_used_created", ["used_at", "created_at"], unique=False)
    # Media already in a chat or on a business profile is in use: it neither expires nor counts as unsent.
    op.execute(
        "UPDATE media SET used_at = created_at WHERE id IN (SELECT media_id FROM media_shares) "
        "OR id IN (SELECT profile_picture_media_id FROM business_profiles "
        "WHERE profile_picture_media_id IS NOT NULL)"
    )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_hash", sa.String(length=32), nullable=True))

    with op.batch_alter_table("referral_clicks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visitor", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_referral_clicks_visitor", ["code", "visitor", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("referral_clicks", schema=None) as batch_op:
        batch_op.drop_index("ix_referral_clicks_visitor")
        batch_op.drop_column("visitor")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("request_hash")

    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_index("ix_media_used_created")
        batch_op.drop_index("ix_media_owner_used")
        batch_op.drop_column("used_at")
