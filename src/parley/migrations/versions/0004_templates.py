"""message templates

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.BIGINT(), "postgresql").with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "message_templates",
        sa.Column("id", _id(), nullable=False),
        sa.Column("waba_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("previous_category", sa.String(length=16), nullable=True),
        sa.Column("correct_category", sa.String(length=16), nullable=True),
        sa.Column("sub_category", sa.String(length=32), nullable=True),
        sa.Column("parameter_format", sa.String(length=16), nullable=False),
        sa.Column("components", sa.Text(), nullable=False),
        sa.Column("message_send_ttl_seconds", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("rejected_reason", sa.String(length=32), server_default="NONE", nullable=False),
        sa.Column("review_message", sa.Text(), nullable=True),
        sa.Column("quality_score", sa.String(length=8), server_default="UNKNOWN", nullable=False),
        sa.Column("quality_updated_at", sa.BigInteger(), nullable=True),
        sa.Column("pause_count", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("paused_at", sa.BigInteger(), nullable=True),
        sa.Column("paused_until", sa.BigInteger(), nullable=True),
        sa.Column("review_due_at", sa.BigInteger(), nullable=True),
        sa.Column("edit_count", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("edit_window_start", sa.BigInteger(), nullable=True),
        sa.Column("last_edited_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["waba_id"], ["wabas.id"], name=op.f("fk_message_templates_waba_id_wabas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_templates")),
    )
    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.create_index("uq_message_templates_waba_name_language", ["waba_id", "name", "language"], unique=True)
        batch_op.create_index("ix_message_templates_waba_id_id", ["waba_id", "id"], unique=False)
        batch_op.create_index("ix_message_templates_review_due_at", ["review_due_at"], unique=False)
        batch_op.create_index("ix_message_templates_paused_until", ["paused_until"], unique=False)

    op.create_table(
        "template_creations",
        sa.Column("id", _id(), nullable=False),
        sa.Column("waba_id", _id(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_creations")),
    )
    with op.batch_alter_table("template_creations", schema=None) as batch_op:
        batch_op.create_index("ix_template_creations_waba_created", ["waba_id", "created_at"], unique=False)

    op.create_table(
        "template_daily_stats",
        sa.Column("template_id", _id(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("sends", sa.Integer(), server_default="0", nullable=False),
        sa.Column("negatives", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("template_id", "day", name=op.f("pk_template_daily_stats")),
    )


def downgrade() -> None:
    op.drop_table("template_daily_stats")
    with op.batch_alter_table("template_creations", schema=None) as batch_op:
        batch_op.drop_index("ix_template_creations_waba_created")
    op.drop_table("template_creations")
    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.drop_index("ix_message_templates_paused_until")
        batch_op.drop_index("ix_message_templates_review_due_at")
        batch_op.drop_index("ix_message_templates_waba_id_id")
        batch_op.drop_index("uq_message_templates_waba_name_language")
    op.drop_table("message_templates")
