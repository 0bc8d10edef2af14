"""Parley Pay for people: payment PINs, person-to-person payments, and wallet top-ups and withdrawals."""

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from parley.kit.db import Id, metadata

# One row per person who set a payment PIN: the argon2 hash (never the PIN) and the wrong-guess counter.
pay_profiles = Table(
    "pay_profiles",
    metadata,
    Column("user_id", Id, primary_key=True),
    Column("pin_hash", String(200), nullable=False),
    Column("pin_failures", Integer, nullable=False),
    Column("locked_until", BigInteger, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
)

person_payments = Table(
    "person_payments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("payer_id", Id, nullable=False),
    Column("payee_id", Id, nullable=False),
    Column("chat_id", Id, nullable=False),
    Column("amount", BigInteger, nullable=False),  # micros of `currency`
    Column("currency", String(3), nullable=False),
    Column("note", String(200), nullable=True),
    Column("status", String(16), nullable=False),  # pending | completed
    Column("market", String(2), nullable=False),  # the payer's, whose caps applied
    Column("idempotency_key", String(128), nullable=False),
    Column("client_id", String(64), nullable=False),  # the payment message's, so a retry finds it
    Column("request_hash", String(32), nullable=False),
    Column("message_id", Id, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("completed_at", BigInteger, nullable=True),
)
Index("ux_person_payments_payer_key", person_payments.c.payer_id, person_payments.c.idempotency_key, unique=True)
# The day and month caps count a payer's completed payments in a time range.
Index(
    "ix_person_payments_payer_done",
    person_payments.c.payer_id,
    person_payments.c.status,
    person_payments.c.completed_at,
)

wallet_funding = Table(
    "wallet_funding",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, nullable=False),
    Column("direction", String(12), nullable=False),  # topup | withdrawal
    Column("method", String(8), nullable=False),  # card | upi | pix
    Column("handle", String(80), nullable=False),  # what the owner knows it by: "visa 4242", a VPA, a Pix key
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    # created | requires_action | processing | succeeded | failed
    Column("status", String(24), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("provider_payment_id", String(128), nullable=True),
    Column("idempotency_key", String(128), nullable=False),
    Column("request_hash", String(32), nullable=False),
    Column("failure_code", String(32), nullable=True),
    Column("failure_reason", String(200), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("completed_at", BigInteger, nullable=True),
)
Index(
    "ux_wallet_funding_key",
    wallet_funding.c.user_id,
    wallet_funding.c.direction,
    wallet_funding.c.idempotency_key,
    unique=True,
)
Index("ix_wallet_funding_status", wallet_funding.c.status, wallet_funding.c.id)
