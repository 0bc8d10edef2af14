"""Tables of metadata signals (never content) and of people's consent, per purpose, as a ledger of events.

Signals are counters fed from events: what a person did per day, and which businesses they wrote to. What the
ads and analytics levers may read of them is decided by consent and by the market rules (`parley.signals`).
"""

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table

from parley.kit.db import Id, metadata

# Per person per UTC day (days since the epoch): one row, counters moved by events.
signal_days = Table(
    "signal_days",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("day", Integer, primary_key=True, autoincrement=False),
    Column("messages_sent", Integer, nullable=False, server_default="0"),
    Column("business_messages", Integer, nullable=False, server_default="0"),
    Column("ad_clicks", Integer, nullable=False, server_default="0"),
    Column("purchases", Integer, nullable=False, server_default="0"),
)
Index("ix_signal_days_day", signal_days.c.day)

# The businesses a person wrote to, with the business's category at the time.
signal_businesses = Table(
    "signal_businesses",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("waba_id", Id, primary_key=True, autoincrement=False),
    Column("category", String(64), nullable=False, server_default=""),
    Column("messages", Integer, nullable=False, server_default="0"),
    Column("first_at", BigInteger, nullable=False),
    Column("last_at", BigInteger, nullable=False),
)
Index("ix_signal_businesses_category", signal_businesses.c.category)

# Every consent given or withdrawn, never updated: the proof of what a person agreed to, when, and to which wording.
consent_events = Table(
    "consent_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("purpose", String(32), nullable=False),  # ads_personalisation | product_analytics
    Column("action", String(16), nullable=False),  # given | withdrawn
    Column("wording_version", String(32), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_consent_events_user", consent_events.c.user_id, consent_events.c.purpose, consent_events.c.id)

# The current state per person and purpose (the last event), for cheap reads. No row: not given.
consents = Table(
    "consents",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("purpose", String(32), primary_key=True),
    Column("granted", Boolean, nullable=False),
    Column("wording_version", String(32), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
