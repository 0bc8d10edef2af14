"""presence and profile photos: online / last seen from the streams, who may see it, people's profile photos

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 17:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.BIGINT(), "postgresql").with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "presence",
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("streams", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_presence_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_presence")),
    )
    op.create_table(
        "profile_photos",
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("media_id", _id(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"], name=op.f("fk_profile_photos_media_id_media")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_profile_photos_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_profile_photos")),
    )
    with op.batch_alter_table("profile_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profile_photos_media_id"), ["media_id"], unique=False)
    with op.batch_alter_table("privacy_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen", sa.String(length=16), server_default="everyone", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("privacy_settings", schema=None) as batch_op:
        batch_op.drop_column("last_seen")
    with op.batch_alter_table("profile_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profile_photos_media_id"))
    op.drop_table("profile_photos")
    op.drop_table("presence")
