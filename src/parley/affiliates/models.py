"""Affiliate programs, links, clicks and commissions. Money in micros; times in epoch ms.

A merchant (a business account) runs one program: a commission rate on purchases made within `window_days` of a
click on an affiliate's link; a commission is `pending` until the refund window (`hold_days`) closes, then
`paid`, or `clawed_back` by a refund inside it (`partially_clawed_back` for a partial refund)."""

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, true

from parley.kit.db import Id, metadata

affiliate_programs = Table(
    "affiliate_programs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waba_id", Id, nullable=False, unique=True),  # the merchant
    Column("rate_bp", Integer, nullable=False),  # basis points of the order's total (500 = 5 %)
    Column("window_days", Integer, nullable=False),  # a purchase this long after the click is credited
    Column("hold_days", Integer, nullable=False),  # the refund window: commissions pay out after it
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("terms", String(1000), nullable=False, server_default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

affiliate_links = Table(
    "affiliate_links",
    metadata,
    Column("id", Id, primary_key=True),
    Column("program_id", Id, ForeignKey("affiliate_programs.id"), nullable=False),
    Column("code", String(24), nullable=False, unique=True),  # the referral code, in the link /r/{code}
    Column("affiliate_kind", String(8), nullable=False),  # person | business
    Column("affiliate_id", Id, nullable=False),  # users.id or wabas.id
    Column("product_retailer_id", String(100), nullable=True),  # None: the whole catalog
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)
Index(
    "ux_affiliate_links_owner",
    affiliate_links.c.affiliate_kind,
    affiliate_links.c.affiliate_id,
    affiliate_links.c.program_id,
    affiliate_links.c.product_retailer_id,
    unique=True,
)

affiliate_clicks = Table(
    "affiliate_clicks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("link_id", Id, ForeignKey("affiliate_links.id"), nullable=False),
    Column("waba_id", Id, nullable=False),  # the merchant (last click is per merchant)
    Column("person_id", Id, nullable=True),  # bound when the person opens the link signed in (or signs in)
    Column("viewer", String(64), nullable=True),  # the browser's opaque id until then
    Column("clicked_at", BigInteger, nullable=False),
)
Index(
    "ix_affiliate_clicks_person",
    affiliate_clicks.c.person_id,
    affiliate_clicks.c.waba_id,
    affiliate_clicks.c.clicked_at,
)
Index("ix_affiliate_clicks_link", affiliate_clicks.c.link_id, affiliate_clicks.c.clicked_at)

affiliate_commissions = Table(
    "affiliate_commissions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("link_id", Id, ForeignKey("affiliate_links.id"), nullable=False),
    Column("click_id", Id, ForeignKey("affiliate_clicks.id"), nullable=False),
    Column("order_id", Id, nullable=False, unique=True),  # Parley Pay order: one commission per order
    Column("waba_id", Id, nullable=False),
    Column("buyer_id", Id, nullable=False),
    Column("order_total", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),  # what the affiliate earns (before claw-backs)
    Column("clawed_back", BigInteger, nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False),
    Column("status", String(24), nullable=False),  # pending | paid | clawed_back | partially_clawed_back
    Column("release_at", BigInteger, nullable=False),  # the refund window's end
    Column("created_at", BigInteger, nullable=False),
    Column("settled_at", BigInteger, nullable=True),
)
Index("ix_affiliate_commissions_link", affiliate_commissions.c.link_id, affiliate_commissions.c.created_at)
Index("ix_affiliate_commissions_due", affiliate_commissions.c.status, affiliate_commissions.c.release_at)
