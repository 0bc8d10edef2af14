"""Billing tables: price lists loaded by the operator, each business's billing profile, and one charge row per
priced business message (the detail behind the ledger's `message_charge` transfers)."""

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, UniqueConstraint

from parley.kit.db import Id, metadata

# States of a message's charge.
HELD = "held"  # funds reserved at send, waiting for delivery
CHARGED = "charged"  # delivered and posted (amount may be 0 inside a paid CBP conversation)
FREE = "free"  # delivered, free (service window, free entry point)
VOIDED = "voided"  # failed: the hold was released
EXPIRED = "expired"  # never delivered within the hold's lifetime: released

# Rate cards an operator loaded (the shipped card is package data, never stored). Kept as the CSV text they came
# in, parsed by `billing.ratecard`; a later load for the same list and date supersedes an earlier one.
billing_rate_cards = Table(
    "billing_rate_cards",
    metadata,
    Column("id", Id, primary_key=True),
    Column("price_list", String(64), nullable=False, index=True),
    Column("csv", Text, nullable=False),
    Column("markup_bps", Integer, nullable=False),
    Column("currency", String(3), nullable=True),  # override of the CSV's currency column
    Column("pricing_model", String(3), nullable=True),  # override of the CSV's pricing_model column
    Column("effective", String(10), nullable=True),  # override of the CSV's dates (YYYY-MM-DD)
    Column("source", String(512), nullable=False),
    Column("loaded_at", BigInteger, nullable=False),
)

billing_profiles = Table(
    "billing_profiles",
    metadata,
    Column("waba_id", Id, primary_key=True),
    Column("price_list", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("timezone", String(64), nullable=False),  # months and days of tiers and statements are local
    # Calling code of the business's primary location: authentication to another market with an
    # authentication-international rate is billed at that rate when `auth_international` is on.
    Column("home_calling_code", String(4), nullable=True),
    Column("auth_international", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

billing_charges = Table(
    "billing_charges",
    metadata,
    Column("message_id", Id, primary_key=True),
    Column("waba_id", Id, nullable=False),
    Column("phone_number_id", Id, nullable=False),
    Column("person_id", Id, nullable=False),
    Column("country", String(2), nullable=False),  # ISO region of the recipient (analytics' COUNTRY)
    Column("market", String(64), nullable=False),  # the rate card's market
    Column("send_category", String(32), nullable=False),  # template category when sent (or service)
    Column("pricing_model", String(3), nullable=True),
    Column("category", String(32), nullable=True),  # what it was billed as (e.g. authentication_international)
    Column("pricing_type", String(24), nullable=True),  # regular | free_customer_service | free_entry_point
    Column("billable", Boolean, nullable=True),
    Column("state", String(8), nullable=False),
    Column("held", BigInteger, nullable=False),  # micros reserved at send
    Column("amount", BigInteger, nullable=False),  # micros charged (0 until delivered, or free)
    Column("list_rate", BigInteger, nullable=False),  # tier-0 rate of the category and market that day
    Column("tier", String(32), nullable=True),  # volume band "lower:upper|MAX" for regular PMP charges
    Column("hold_id", Id, nullable=True),  # the ledger hold
    Column("transfer_id", Id, nullable=True),  # the ledger posting that charged it
    Column("conversation_id", Id, nullable=True),  # CBP: the conversation it belongs to
    Column("sent_at", BigInteger, nullable=False),
    Column("settled_at", BigInteger, nullable=True),
    Column("day", String(10), nullable=True),  # delivery day in the business's time zone
)
Index("ix_billing_charges_waba_settled", billing_charges.c.waba_id, billing_charges.c.settled_at)
Index("ix_billing_charges_state_sent", billing_charges.c.state, billing_charges.c.sent_at)

# Charged messages per business, month (local), market and category: the volume-tier counters.
billing_volume = Table(
    "billing_volume",
    metadata,
    Column("waba_id", Id, primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("market", String(64), primary_key=True),
    Column("category", String(32), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

# Conversation-based pricing: 24 h conversations per category, opened by the first delivered message.
billing_conversations = Table(
    "billing_conversations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waba_id", Id, nullable=False),
    Column("phone_number_id", Id, nullable=False),
    Column("person_id", Id, nullable=False),
    Column("category", String(32), nullable=False),
    Column("opened_by", Id, nullable=False),  # message id
    Column("opened_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)
Index(
    "ix_billing_conversations_open",
    billing_conversations.c.phone_number_id,
    billing_conversations.c.person_id,
    billing_conversations.c.category,
    billing_conversations.c.expires_at,
)

# Finalised monthly statements: never changed once written; what the journal records later goes to the next.
billing_statements = Table(
    "billing_statements",
    metadata,
    Column("waba_id", Id, primary_key=True),
    Column("period", String(7), primary_key=True),  # YYYY-MM in the business's time zone
    Column("last_transfer_id", Id, nullable=False),  # the journal up to here is in this or earlier statements
    Column("opening", BigInteger, nullable=False),
    Column("closing", BigInteger, nullable=False),
    Column("document", Text, nullable=False),  # the statement as JSON, exactly as first produced
    Column("finalized_at", BigInteger, nullable=False),
)

# Invoice numbers: each finalised month with activity gets the next number of its business's gapless sequence,
# once, in the unit that first issues it (finalisation); "INV-{year}-{number:06d}" on the page.
billing_invoices = Table(
    "billing_invoices",
    metadata,
    Column("waba_id", Id, primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("number", BigInteger, nullable=False),
    Column("issued_at", BigInteger, nullable=False),
    UniqueConstraint("waba_id", "number", name="uq_billing_invoices_number"),
)
