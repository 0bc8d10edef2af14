"""webhook outbox and delivery log

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.BIGINT(), "postgresql").with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_apps",
        sa.Column("app_id", _id(), nullable=False),
        sa.Column("waba_id", _id(), nullable=False),
        sa.Column("app_secret", sa.String(length=128), nullable=False),
        sa.Column("callback_url", sa.String(length=2048), nullable=True),
        sa.Column("verify_token", sa.String(length=256), nullable=False),
        sa.Column("fields", sa.Text(), nullable=True),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_webhook_apps")),
        sa.UniqueConstraint("waba_id", name=op.f("uq_webhook_apps_waba_id")),
    )
    op.create_table(
        "webhook_overrides",
        sa.Column("object_id", _id(), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("waba_id", _id(), nullable=False),
        sa.Column("callback_url", sa.String(length=2048), nullable=False),
        sa.Column("verify_token", sa.String(length=256), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("object_id", name=op.f("pk_webhook_overrides")),
    )
    with op.batch_alter_table("webhook_overrides", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_overrides_waba_id"), ["waba_id"], unique=False)

    op.create_table(
        "webhook_events",
        sa.Column("id", _id(), nullable=False),
        sa.Column("waba_id", _id(), nullable=False),
        sa.Column("phone_number_id", _id(), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.BigInteger(), nullable=True),
        sa.Column("retry_from", sa.BigInteger(), nullable=False),
        sa.Column("delivered_at", sa.BigInteger(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
    )
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_events_due", ["state", "next_attempt_at", "id"], unique=False)
        batch_op.create_index("ix_webhook_events_stream", ["waba_id", "phone_number_id", "state", "id"], unique=False)
        batch_op.create_index("ix_webhook_events_waba_id_id", ["waba_id", "id"], unique=False)

    op.create_table(
        "webhook_attempts",
        sa.Column("id", _id(), nullable=False),
        sa.Column("event_id", _id(), nullable=False),
        sa.Column("waba_id", _id(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_attempts_event_id"), ["event_id"], unique=False)
        batch_op.create_index("ix_webhook_attempts_waba_id_id", ["waba_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_attempts_waba_id_id")
        batch_op.drop_index(batch_op.f("ix_webhook_attempts_event_id"))
    op.drop_table("webhook_attempts")
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_events_waba_id_id")
        batch_op.drop_index("ix_webhook_events_stream")
        batch_op.drop_index("ix_webhook_events_due")
    op.drop_table("webhook_events")
    with op.batch_alter_table("webhook_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_overrides_waba_id"))
    op.drop_table("webhook_overrides")
    op.drop_table("webhook_apps")
