"""Tables of webhook events waiting in the outbox and their delivery attempts."""

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from parley.kit.db import Id, metadata

# States of an outbox event. `dropped`: nothing was subscribed when it came up for delivery (Meta drops those).
PENDING, DELIVERED, DEAD, DROPPED = "pending", "delivered", "dead", "dropped"

# A Parley extension: the console's "Send test event". An owner asked for it, so it goes out whichever fields
# the app subscribed to.
TEST_FIELD = "parley_test"

# The "app" a business's webhooks go through (pywa's APP scope): its secret signs every POST.
webhook_apps = Table(
    "webhook_apps",
    metadata,
    Column("app_id", Id, primary_key=True),
    Column("waba_id", Id, nullable=False, unique=True),
    Column("app_secret", String(128), nullable=False),
    Column("callback_url", String(2048), nullable=True),
    Column("verify_token", String(256), nullable=False),
    Column("fields", Text, nullable=True),  # JSON list of subscribed fields; NULL: every field
    # POST/DELETE /{waba_id}/subscribed_apps: an unsubscribed WABA's events are dropped.
    Column("subscribed", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# Alternate callback URLs: per WABA (`subscribed_apps` override) and per phone number (`webhook_configuration`).
webhook_overrides = Table(
    "webhook_overrides",
    metadata,
    Column("object_id", Id, primary_key=True),  # the WABA id or the phone number id
    Column("scope", String(8), nullable=False),  # waba | phone
    Column("waba_id", Id, nullable=False, index=True),
    Column("callback_url", String(2048), nullable=False),
    Column("verify_token", String(256), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# The outbox: written in the producer's transaction, delivered at least once, each event on its own (a refused
# event never holds others back), except that events sharing an `order_key` (a message's statuses) go out in
# id order: a receiver never gets `sent` after `delivered`.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waba_id", Id, nullable=False),
    Column("phone_number_id", Id, nullable=True),
    Column("field", String(64), nullable=False),
    Column("order_key", BigInteger, nullable=True),  # the message a status is about; NULL: no order to keep
    Column("value", Text, nullable=False),  # compact JSON, pasted as is into the signed body
    Column("created_at", BigInteger, nullable=False),
    Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    # Due time; while a process holds the event it is that process's lease expiry instead.
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("lease_owner", BigInteger, nullable=True),
    # Retries stop (state dead) once this is older than the retry window (created_at, or the redelivery time).
    Column("retry_from", BigInteger, nullable=False),
    Column("delivered_at", BigInteger, nullable=True),
    Column("last_status", Integer, nullable=True),  # HTTP status of the last attempt
    Column("last_error", Text, nullable=True),  # why the last attempt failed, or why the event was dropped
)
Index("ix_webhook_events_due", webhook_events.c.state, webhook_events.c.next_attempt_at, webhook_events.c.id)
Index("ix_webhook_events_order", webhook_events.c.order_key, webhook_events.c.state, webhook_events.c.id)
Index("ix_webhook_events_waba_id_id", webhook_events.c.waba_id, webhook_events.c.id)

# The delivery log: one row per POST tried.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("event_id", Id, nullable=False, index=True),
    Column("waba_id", Id, nullable=False),
    Column("url", String(2048), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("latency_ms", Integer, nullable=False),
    Column("attempted_at", BigInteger, nullable=False),
)
Index("ix_webhook_attempts_waba_id_id", webhook_attempts.c.waba_id, webhook_attempts.c.id)
