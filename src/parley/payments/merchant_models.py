"""Orders a business sent in order_details messages, the attempts to pay them, and their refunds."""

from sqlalchemy import BigInteger, Column, Index, String, Table, Text

from parley.kit.db import Id, metadata

merchant_orders = Table(
    "merchant_orders",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waba_id", Id, nullable=False),
    Column("phone_number_id", Id, nullable=False),
    Column("reference_id", String(60), nullable=False),
    Column("person_id", Id, nullable=False),
    Column("message_id", Id, nullable=False),  # the first order_details message
    Column("wamid", String(64), nullable=False),
    # Copied at send time so a payment's webhook is written without reaching into the business domain.
    Column("business_phone", String(32), nullable=False),
    Column("person_phone", String(32), nullable=False),
    Column("market", String(2), nullable=False),  # IN | BR
    Column("merchant_category", String(32), nullable=True),  # digital-goods | physical-goods
    Column("currency", String(3), nullable=False),
    Column("total", BigInteger, nullable=False),  # micros
    Column("subtotal", BigInteger, nullable=True),
    Column("tax", BigInteger, nullable=True),
    Column("shipping", BigInteger, nullable=True),
    Column("discount", BigInteger, nullable=True),
    Column("items", Text, nullable=False),  # JSON list
    Column("settings_kind", String(32), nullable=False),
    Column("payment_configuration", String(60), nullable=False),
    Column("gateway", String(16), nullable=True),
    Column("echo", Text, nullable=False),  # JSON object: the gateway's extras
    Column("body_hash", String(32), nullable=False),
    Column("status", String(24), nullable=False),  # pending | processing | … | completed | canceled
    Column("status_description", String(120), nullable=True),
    Column("expires_at", BigInteger, nullable=True),
    Column("expiration_description", String(120), nullable=True),
    # none | processing (a card being charged) | captured | failed | offsite_pending | offsite_captured
    Column("payment_state", String(24), nullable=False),
    Column("payment_id", Id, nullable=True),
    Column("fee", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("fee_refunded", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("captured_at", BigInteger, nullable=True),
)
Index("ux_merchant_orders_reference", merchant_orders.c.waba_id, merchant_orders.c.reference_id, unique=True)

# Every message that carries an order (a resend of the same order_details is another message, the same order).
merchant_order_messages = Table(
    "merchant_order_messages",
    metadata,
    Column("message_id", Id, primary_key=True),
    Column("order_id", Id, nullable=False),
)

# Each attempt to pay an order (a payment in `payments`): the lookup lists them as transactions.
merchant_order_attempts = Table(
    "merchant_order_attempts",
    metadata,
    Column("order_id", Id, primary_key=True),
    Column("payment_id", Id, primary_key=True),
    Column("created_at", BigInteger, nullable=False),
)

merchant_refunds = Table(
    "merchant_refunds",
    metadata,
    Column("id", Id, primary_key=True),
    Column("order_id", Id, nullable=False),
    Column("amount", BigInteger, nullable=False),  # micros
    Column("fee_refund", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("speed", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("idempotency_key", String(128), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
Index("ux_merchant_refunds_key", merchant_refunds.c.order_id, merchant_refunds.c.idempotency_key, unique=True)
