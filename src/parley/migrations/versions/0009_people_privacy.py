"""people privacy: who may add someone to groups, and personal group invitations

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 14:18:11.597977
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "group_add_invites",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.BIGINT(), "postgresql").with_variant(sa.INTEGER(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "chat_id",
            sa.BigInteger().with_variant(sa.BIGINT(), "postgresql").with_variant(sa.INTEGER(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "inviter_id",
            sa.BigInteger().with_variant(sa.BIGINT(), "postgresql").with_variant(sa.INTEGER(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "invitee_id",
            sa.BigInteger().with_variant(sa.BIGINT(), "postgresql").with_variant(sa.INTEGER(), "sqlite"),
            nullable=False,
        ),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("accepted_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], name=op.f("fk_group_add_invites_chat_id_chats")),
        sa.ForeignKeyConstraint(["invitee_id"], ["users.id"], name=op.f("fk_group_add_invites_invitee_id_users")),
        sa.ForeignKeyConstraint(["inviter_id"], ["users.id"], name=op.f("fk_group_add_invites_inviter_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_add_invites")),
    )
    with op.batch_alter_table("group_add_invites", schema=None) as batch_op:
        batch_op.create_index("ix_group_add_invites_pending", ["chat_id", "invitee_id"], unique=False)

    op.create_table(
        "privacy_settings",
        sa.Column(
            "user_id",
            sa.BigInteger().with_variant(sa.BIGINT(), "postgresql").with_variant(sa.INTEGER(), "sqlite"),
            nullable=False,
        ),
        sa.Column("group_add", sa.String(length=16), server_default="everyone", nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_privacy_settings_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_privacy_settings")),
    )


def downgrade() -> None:
    op.drop_table("privacy_settings")
    with op.batch_alter_table("group_add_invites", schema=None) as batch_op:
        batch_op.drop_index("ix_group_add_invites_pending")

    op.drop_table("group_add_invites")
