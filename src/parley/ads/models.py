"""The ads tables. Money is in micros of the ad account's currency (the business's billing currency); times are
epoch milliseconds. Ids are Parley ids (snowflakes), shown to API clients as strings (`act_{id}` for accounts).

Ownership: accounts, campaigns, ad sets, ads and datasets are written by the Marketing-API surface; impressions,
clicks and spend by the ad server; conversions by attribution."""

from sqlalchemy import BigInteger, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from parley.kit.db import Id, metadata

# One ad account per business account (WABA); it spends from the business wallet (see books.py).
ad_accounts = Table(
    "ad_accounts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waba_id", Id, ForeignKey("wabas.id"), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("timezone", String(64), nullable=False, server_default="UTC"),  # days of budgets and insights
    Column("status", String(16), nullable=False, server_default="ACTIVE"),  # ACTIVE | DISABLED
    Column("spend_cap", BigInteger, nullable=True),  # micros over the account's life; None: no cap
    Column("created_at", BigInteger, nullable=False),
)

ad_campaigns = Table(
    "ad_campaigns",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("ad_accounts.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    # OUTCOME_ENGAGEMENT | OUTCOME_LEADS | OUTCOME_SALES | OUTCOME_TRAFFIC
    Column("objective", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # ACTIVE | PAUSED | ARCHIVED | DELETED
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

ad_sets = Table(
    "ad_sets",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("ad_accounts.id"), nullable=False, index=True),
    Column("campaign_id", Id, ForeignKey("ad_campaigns.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # ACTIVE | PAUSED | ARCHIVED | DELETED
    # The business number the ad's chat opens with (Meta's promoted_object.whatsapp_phone_number).
    Column("phone_number_id", Id, ForeignKey("phone_numbers.id"), nullable=False),
    Column("daily_budget", BigInteger, nullable=True),  # micros; exactly one of daily / lifetime is set
    Column("lifetime_budget", BigInteger, nullable=True),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),  # required with a lifetime budget
    # LOWEST_COST_WITHOUT_CAP (automatic) | COST_CAP | LOWEST_COST_WITH_BID_CAP
    Column("bid_strategy", String(32), nullable=False),
    Column(
        "bid_amount", BigInteger, nullable=True
    ),  # micros per 1,000 impressions (IMPRESSIONS) or per click (CLICKS); for the caps
    Column("billing_event", String(16), nullable=False),  # IMPRESSIONS (a price per impression) | CLICKS
    Column("optimization_goal", String(32), nullable=False),  # CONVERSATIONS | LINK_CLICKS | IMPRESSIONS | ...
    Column("pacing", String(16), nullable=False, server_default="standard"),  # standard | no_pacing
    # JSON: {"countries": ["BR"], "languages": ["pt"], "interests": ["fashion"]}; empty lists: everyone.
    Column("targeting", Text, nullable=False, server_default="{}"),
    Column("frequency_cap", Integer, nullable=False, server_default="3"),  # impressions per viewer per day
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

ads = Table(
    "ads",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("ad_accounts.id"), nullable=False, index=True),
    Column("campaign_id", Id, ForeignKey("ad_campaigns.id"), nullable=False, index=True),
    Column("ad_set_id", Id, ForeignKey("ad_sets.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # ACTIVE | PAUSED | ARCHIVED | DELETED (what the advertiser set)
    # The creative's review: PENDING_REVIEW -> APPROVED | DISAPPROVED (with the rule it broke). Only approved ads serve.
    Column("review_status", String(16), nullable=False, server_default="PENDING_REVIEW"),
    Column("review_reason", String(300), nullable=True),
    Column("headline", String(60), nullable=False),
    Column("body", String(500), nullable=False),
    Column("media_type", String(8), nullable=True),  # image | video | None (text only)
    Column("media_id", Id, nullable=True),  # an upload of the business's media (Graph /media)
    Column("call_to_action", String(32), nullable=False, server_default="WHATSAPP_MESSAGE"),
    Column("prefilled_text", String(300), nullable=False),  # what the chat's composer opens with
    Column("welcome_message", String(500), nullable=False, server_default=""),
    # The ad's click-to-chat link (business referral_links, source_type "ad", source_id = str(ad id)).
    Column("link_code", String(32), ForeignKey("referral_links.code"), nullable=False, unique=True),
    Column("quality", Float, nullable=False, server_default="0"),  # the auction's ad-quality term, set by review
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# One row per served impression. `price` is what it cost (0 when the ad set bills on clicks).
ad_impressions = Table(
    "ad_impressions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("ad_id", Id, nullable=False),
    Column("ad_set_id", Id, nullable=False),
    Column("campaign_id", Id, nullable=False),
    Column("account_id", Id, nullable=False),
    Column("viewer", String(32), nullable=False),  # viewers.py
    Column("placement", String(64), nullable=False),  # the publisher's slot name
    Column("market", String(2), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_ad_impressions_ad_time", ad_impressions.c.ad_id, ad_impressions.c.created_at)
Index("ix_ad_impressions_viewer_time", ad_impressions.c.viewer, ad_impressions.c.created_at)

# One row per click: its `ctwa_clid` is also a business referral_clicks row (the chat's referral). A replayed
# click (same impression) gets the same click back and is charged once.
ad_clicks = Table(
    "ad_clicks",
    metadata,
    Column("ctwa_clid", String(64), primary_key=True),
    Column("impression_id", Id, nullable=False, unique=True),
    Column("ad_id", Id, nullable=False, index=True),
    Column("ad_set_id", Id, nullable=False),
    Column("campaign_id", Id, nullable=False),
    Column("account_id", Id, nullable=False),
    Column("viewer", String(32), nullable=False),
    Column("price", BigInteger, nullable=False),  # 0 when the ad set bills on impressions
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_ad_clicks_viewer_time", ad_clicks.c.viewer, ad_clicks.c.created_at)

# Spend per ad set per day of the account's time zone: pacing's and budgets' durable counter, written in the same
# unit as the ledger transfer that charges it.
ad_set_spend = Table(
    "ad_set_spend",
    metadata,
    Column("ad_set_id", Id, primary_key=True),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD
    Column("spent", BigInteger, nullable=False, server_default="0"),
    Column("impressions", BigInteger, nullable=False, server_default="0"),
    Column("clicks", BigInteger, nullable=False, server_default="0"),
)

# Conversions attributed to an ad: a conversation it started, an order or payment in that conversation, or an
# event the business reported through the Conversions API. `event_id` is unique per account and source (a
# replayed event or order is counted once).
ad_conversions = Table(
    "ad_conversions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, nullable=False),
    Column("campaign_id", Id, nullable=False),
    Column("ad_set_id", Id, nullable=False),
    Column("ad_id", Id, nullable=False, index=True),
    Column("ctwa_clid", String(64), nullable=True),  # None for a view-through conversion
    Column("attribution", String(8), nullable=False),  # click | view
    Column("source", String(16), nullable=False),  # chat | order | payment | capi
    # ConversationStarted | Purchase | LeadSubmitted | InitiateCheckout | AddToCart | OrderCreated | ...
    Column("event_name", String(32), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("value", BigInteger, nullable=False, server_default="0"),  # micros of `currency`
    Column("currency", String(3), nullable=True),
    Column("person_id", Id, nullable=True),
    Column("event_time", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
Index(
    "ux_ad_conversions_event",
    ad_conversions.c.account_id,
    ad_conversions.c.source,
    ad_conversions.c.event_id,
    unique=True,
)
# Attribution finds the clicks whose chats a person started (ads-attrib, migration 0022).
Index("ix_ad_conversions_person", ad_conversions.c.person_id, ad_conversions.c.account_id)

# The Conversions API dataset of a business account (`POST /{waba_id}/dataset` returns the same one each time).
ad_datasets = Table(
    "ad_datasets",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waba_id", Id, ForeignKey("wabas.id"), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
)

# Interests a person chose to be shown ads about (opt-in); absent or withdrawn: no interest targeting at all.
ad_preferences = Table(
    "ad_preferences",
    metadata,
    Column("viewer", String(32), primary_key=True),
    Column("interests", Text, nullable=False, server_default=""),  # comma-separated segment names
    Column("consented_at", BigInteger, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
)

# A Graph create retried with the same `Idempotency-Key` (per business account) answers the object it first made;
# `fingerprint` binds the key to the request (another request with the same key is refused).
ad_write_keys = Table(
    "ad_write_keys",
    metadata,
    Column("waba_id", Id, primary_key=True),
    Column("idempotency_key", String(128), primary_key=True),
    Column("fingerprint", String(32), nullable=False),
    Column("object_id", Id, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
