"""Tables of business accounts (WABAs), their phone numbers, access tokens, profiles, the conversations
with people (service and free-entry-point windows), every business message's delivery and pricing facts,
the reach counted against messaging limits, click-to-chat links, quality signals and each number's history of
quality, tier and throughput changes."""

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, SmallInteger, String, Table, Text

from parley.kit.db import Id, metadata

wabas = Table(
    "wabas",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(256), nullable=False),
    # The "app" pywa registers webhooks through (APP scope); one per business here.
    Column("app_id", Id, nullable=False, unique=True),
    Column("currency", String(3), nullable=False, server_default="USD"),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    # Messaging limit tier index into business.limits.TIERS (0 = 250 unique people per rolling 24 h).
    Column("messaging_tier", SmallInteger, nullable=False, server_default="0"),
    Column("tier_changed_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

phone_numbers = Table(
    "phone_numbers",
    metadata,
    Column("id", Id, primary_key=True),  # the Graph phone_number_id
    Column("waba_id", Id, ForeignKey("wabas.id"), nullable=False, index=True),
    # The Parley account people message: users.kind = "business".
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, unique=True),
    Column("display_phone_number", String(20), nullable=False),
    Column("verified_name", String(256), nullable=False),
    Column("quality_rating", String(8), nullable=False, server_default="GREEN"),
    Column("status", String(16), nullable=False, server_default="CONNECTED"),
    Column("throughput_mps", Integer, nullable=False, server_default="80"),
    Column("created_at", BigInteger, nullable=False),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waba_id", Id, ForeignKey("wabas.id"), nullable=False, index=True),
    Column("name", String(128), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 of the token
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    # When the Cloud API last accepted the token, to the minute: noted in memory, written at most once a minute.
    Column("last_used_at", BigInteger, nullable=True),
)

business_profiles = Table(
    "business_profiles",
    metadata,
    Column("phone_number_id", Id, ForeignKey("phone_numbers.id"), primary_key=True),
    Column("about", String(139), nullable=False, server_default=""),
    Column("description", String(512), nullable=False, server_default=""),
    Column("address", String(256), nullable=False, server_default=""),
    Column("email", String(128), nullable=False, server_default=""),
    Column("websites", Text, nullable=False, server_default="[]"),  # JSON list, at most 2
    Column("vertical", String(32), nullable=False, server_default="OTHER"),
    Column("profile_picture_media_id", BigInteger, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
)

# One record per (business number, person): the thread the API and (later) the team inbox share.
conversations = Table(
    "conversations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("phone_number_id", Id, ForeignKey("phone_numbers.id"), nullable=False),
    Column("person_id", Id, ForeignKey("users.id"), nullable=False),
    Column("chat_id", Id, nullable=False),
    # Business-scoped user id of the person ("FR.1234…"): stable per business, different across businesses.
    Column("bsuid", String(40), nullable=False),
    Column("first_contact_at", BigInteger, nullable=False),
    Column("last_inbound_at", BigInteger, nullable=True),  # the customer service window runs 24 h from here
    Column("last_outbound_at", BigInteger, nullable=True),
    # A click-to-chat referral on the person's message: the business's reply within 24 h opens a 72 h
    # free-entry-point window.
    Column("referral_at", BigInteger, nullable=True),
    Column("fep_expires_at", BigInteger, nullable=True),
)
Index("uq_conversations_number_person", conversations.c.phone_number_id, conversations.c.person_id, unique=True)
Index("uq_conversations_number_bsuid", conversations.c.phone_number_id, conversations.c.bsuid, unique=True)

# Message status codes for business messages (Meta's order; FAILED is its own path).
ACCEPTED, SENT, DELIVERED, READ, FAILED = 0, 1, 2, 3, 9

business_messages = Table(
    "business_messages",
    metadata,
    Column("message_id", Id, primary_key=True),  # messages.id (the wamid encodes it)
    Column("phone_number_id", Id, ForeignKey("phone_numbers.id"), nullable=False),
    Column("waba_id", Id, nullable=False),
    Column("person_id", Id, nullable=False),
    Column("direction", String(3), nullable=False),  # in | out
    Column("type", String(16), nullable=False),
    Column("status", SmallInteger, nullable=False),
    # What billing needs, fixed when the message is sent (a later re-categorisation does not change it).
    Column("category", String(32), nullable=True),  # marketing | utility | authentication | service | ...
    Column("pricing_type", String(24), nullable=True),  # regular | free_customer_service | free_entry_point
    Column("billable", Boolean, nullable=True),
    Column("market", String(2), nullable=True),  # recipient's ISO country code
    Column("calling_code", String(4), nullable=True),
    Column("origin", String(24), nullable=True),  # business_initiated | user_initiated | referral_conversion
    Column("in_service_window", Boolean, nullable=True),
    Column("template_id", BigInteger, nullable=True),
    Column("biz_opaque_callback_data", String(512), nullable=True),
    Column("error_code", Integer, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("status_at", BigInteger, nullable=False),
)
Index("ix_business_messages_number_created", business_messages.c.phone_number_id, business_messages.c.created_at)
Index("ix_business_messages_waba_created", business_messages.c.waba_id, business_messages.c.created_at)

# Unique people reached outside the service window, for the rolling-24 h messaging limit.
reach = Table(
    "reach",
    metadata,
    Column("waba_id", Id, primary_key=True),
    Column("person_id", Id, primary_key=True),
    Column("reached_at", BigInteger, nullable=False),
)
Index("ix_reach_waba_reached", reach.c.waba_id, reach.c.reached_at)

referral_links = Table(
    "referral_links",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("phone_number_id", Id, ForeignKey("phone_numbers.id"), nullable=False, index=True),
    Column("source_type", String(8), nullable=False, server_default="ad"),  # ad | post
    Column("source_id", String(64), nullable=False),
    Column("source_url", String(512), nullable=False),
    Column("headline", String(256), nullable=False, server_default=""),
    Column("body", String(1024), nullable=False, server_default=""),
    Column("prefilled_text", String(1024), nullable=False, server_default=""),
    # What an ad's referral carries beyond its texts (Meta's referral object): media and the greeting.
    Column("media_type", String(8), nullable=False, server_default=""),  # image | video | ""
    Column("image_url", String(512), nullable=False, server_default=""),
    Column("video_url", String(512), nullable=False, server_default=""),
    Column("thumbnail_url", String(512), nullable=False, server_default=""),
    Column("welcome_message", String(1024), nullable=False, server_default=""),
    Column("created_at", BigInteger, nullable=False),
)

referral_clicks = Table(
    "referral_clicks",
    metadata,
    Column("ctwa_clid", String(64), primary_key=True),
    Column("code", String(32), ForeignKey("referral_links.code"), nullable=False, index=True),
    Column("ref", String(128), nullable=False, server_default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("used_by", BigInteger, nullable=True),
    Column("used_at", BigInteger, nullable=True),
    # A keyed digest of the visitor (address and user agent): a repeated click within a window counts once.
    Column("visitor", String(32), nullable=True),
)
Index("ix_referral_clicks_visitor", referral_clicks.c.code, referral_clicks.c.visitor, referral_clicks.c.created_at)

# People blocking or reporting a business number: the inputs of its quality rating.
quality_signals = Table(
    "quality_signals",
    metadata,
    Column("id", Id, primary_key=True),
    Column("phone_number_id", Id, ForeignKey("phone_numbers.id"), nullable=False),
    Column("person_id", Id, nullable=False),
    Column("kind", String(8), nullable=False),  # block | report
    Column("template_id", BigInteger, nullable=True),  # the last template the person got, if any
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_quality_signals_number_created", quality_signals.c.phone_number_id, quality_signals.c.created_at)

# Every change of a number's quality rating, messaging-limit tier or throughput, with when and why: the history
# the console shows. Written where the change is decided, beside its `phone_number_quality_update` webhook.
number_history = Table(
    "number_history",
    metadata,
    Column("id", Id, primary_key=True),
    Column("phone_number_id", Id, ForeignKey("phone_numbers.id"), nullable=False),
    Column("waba_id", Id, nullable=False),
    Column("kind", String(16), nullable=False),  # quality | tier | throughput
    Column("event", String(24), nullable=False),  # the webhook's event: FLAGGED, UPGRADE, DOWNGRADE, ...
    Column("old_value", String(24), nullable=False),
    Column("new_value", String(24), nullable=False),
    Column("reason", String(512), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_number_history_number_created", number_history.c.phone_number_id, number_history.c.created_at)
