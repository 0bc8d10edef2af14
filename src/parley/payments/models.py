"""Payments taken from a payer through the payment provider (wallet top-ups today; Parley Pay later)."""

from sqlalchemy import BigInteger, Column, Index, String, Table

from parley.kit.db import Id, metadata

payments = Table(
    "payments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("payer_kind", String(16), nullable=False),  # "waba" (a business's wallet) …
    Column("payer_id", Id, nullable=False),
    Column("purpose", String(32), nullable=False),  # "wallet_topup"
    Column("amount", BigInteger, nullable=False),  # micros of `currency`
    Column("currency", String(3), nullable=False),
    Column("status", String(24), nullable=False),  # requires_confirmation | succeeded | declined
    Column("provider", String(32), nullable=False),
    Column("provider_payment_id", String(128), nullable=False),
    Column("idempotency_key", String(128), nullable=False),
    # Only what identifies the card to its owner; the number itself never reaches Parley's storage.
    Column("card_brand", String(16), nullable=True),
    Column("card_last4", String(4), nullable=True),
    Column("decline_code", String(32), nullable=True),
    Column("decline_reason", String(200), nullable=True),
    Column("created_by", Id, nullable=True),  # the agent (owner/admin) who started it
    Column("created_at", BigInteger, nullable=False),
    Column("completed_at", BigInteger, nullable=True),
)
Index("ux_payments_payer_key", payments.c.payer_kind, payments.c.payer_id, payments.c.idempotency_key, unique=True)
Index("ux_payments_provider_id", payments.c.provider, payments.c.provider_payment_id, unique=True)
