"""Subscriptions: a creator's plan for a channel (subscriber-only posts) or a group (paid membership), and each
subscriber's subscription with its charges. Money in micros of the plan's currency; times in epoch ms.

A subscription's life: `active` (paid through `current_period_end`) → at the anniversary a renewal charge; a
failed one makes it `past_due` with `grace_until` = +3 days (retried meanwhile) → paid again: `active`, or grace
over: `expired` (access removed, the person told in the chat). `cancel_at_period_end` keeps access to the end
of the paid period, then `canceled`."""

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, false, true

from parley.kit.db import Id, metadata

subscription_plans = Table(
    "subscription_plans",
    metadata,
    Column("id", Id, primary_key=True),
    Column("target_kind", String(8), nullable=False),  # channel | group
    Column("target_id", Id, nullable=False),  # channels.id or chats.id
    Column("creator_id", Id, ForeignKey("users.id"), nullable=False),  # the person paid
    Column("waba_id", Id, nullable=True),  # a business creator: proceeds go to its payable, paid out as merchants
    Column("billing", String(8), nullable=False),  # monthly | one_off
    Column("name", String(100), nullable=False),
    Column("description", String(500), nullable=False, server_default=""),
    Column("active", Boolean, nullable=False, server_default=true()),  # False: no new subscribers, renewals stop
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
Index("ux_subscription_plans_target", subscription_plans.c.target_kind, subscription_plans.c.target_id, unique=True)

# The price per market; market "*" is the price everywhere else.
subscription_prices = Table(
    "subscription_prices",
    metadata,
    Column("plan_id", Id, ForeignKey("subscription_plans.id"), primary_key=True),
    Column("market", String(2), primary_key=True),  # ISO country of the subscriber's number, or "*"
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),  # micros per period (or once, for one_off)
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("plan_id", Id, ForeignKey("subscription_plans.id"), nullable=False),
    Column("subscriber_id", Id, ForeignKey("users.id"), nullable=False),
    # active | past_due | canceled | expired | refunded
    Column("status", String(12), nullable=False),
    Column("market", String(2), nullable=False),  # whose price applied
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),  # the price locked for the next renewal
    Column("period", Integer, nullable=False, server_default="0"),  # the paid period's number, 1 for the first
    Column("current_period_start", BigInteger, nullable=False),
    Column("current_period_end", BigInteger, nullable=True),  # None for one_off (access for good)
    Column("anchor_at", BigInteger, nullable=False),  # the anniversary's base: renewals fall on its day of month
    Column("cancel_at_period_end", Boolean, nullable=False, server_default=false()),
    Column("grace_until", BigInteger, nullable=True),
    Column("next_attempt_at", BigInteger, nullable=True),  # the renewal sweep's due time
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger, nullable=True),
)
# One subscription row per person per plan, reused when they subscribe again after it ended.
Index("ux_subscriptions_plan_subscriber", subscriptions.c.plan_id, subscriptions.c.subscriber_id, unique=True)
Index("ix_subscriptions_due", subscriptions.c.next_attempt_at)
Index("ix_subscriptions_subscriber", subscriptions.c.subscriber_id)

subscription_charges = Table(
    "subscription_charges",
    metadata,
    Column("id", Id, primary_key=True),
    Column("subscription_id", Id, ForeignKey("subscriptions.id"), nullable=False),
    Column("period", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("kind", String(8), nullable=False),  # charge | refund
    Column("status", String(10), nullable=False),  # succeeded | failed
    Column("amount", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False, server_default="0"),  # the platform's cut (refunds: the cut given back)
    Column("currency", String(3), nullable=False),
    Column("failure_reason", String(200), nullable=True),
    Column("idempotency_key", String(128), nullable=True),  # the subscriber's key on a first charge
    Column("created_at", BigInteger, nullable=False),
)
Index(
    "ux_subscription_charges_attempt",
    subscription_charges.c.subscription_id,
    subscription_charges.c.period,
    subscription_charges.c.kind,
    subscription_charges.c.attempt,
    unique=True,
)
