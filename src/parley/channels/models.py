"""The channel tables: one-way broadcasts to followers. Times are epoch milliseconds; ids are Parley ids.

Delivery never writes a row per follower per post: a post is one row in `channel_posts` (its `seq` is the
channel's next number, kept in `channels.last_seq`), online followers hear it live over the bus, and each
follower reads the channel's log from their own read mark (`channel_follows.read_seq`), written when they read,
not when a post arrives."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    true,
)

from parley.kit.db import Id, metadata

channels = Table(
    "channels",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("description", String(2000), nullable=False, server_default=""),
    Column("picture_media_id", Id, nullable=True),  # the owner's uploaded media; served through channel routes
    Column("category", String(32), nullable=False),  # one of CATEGORIES (service.py): news, sports, business …
    Column("country", String(2), nullable=False),  # ISO market: the directory's "by country"
    Column("language", String(8), nullable=True),
    Column("owner_id", Id, ForeignKey("users.id"), nullable=False),
    Column("waba_id", Id, nullable=True),  # set when a business runs it (posts through the Business API)
    Column("invite_code", String(24), nullable=False, unique=True),  # the channel link: /c/{invite_code}
    Column("verified", Boolean, nullable=False, server_default=false()),  # the platform's mark (operator CLI)
    Column("discoverable", Boolean, nullable=False, server_default=true()),  # listed in the directory
    Column("allowed_reactions", String(200), nullable=True),  # space-separated emoji; None: any
    Column("follower_count", BigInteger, nullable=False, server_default="0"),
    Column("subscriber_count", BigInteger, nullable=False, server_default="0"),
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
    Column("last_post_at", BigInteger, nullable=True),  # the directory's "most active"
    Column("created_at", BigInteger, nullable=False),
    Column("deleted_at", BigInteger, nullable=True),
)
Index("ix_channels_directory", channels.c.discoverable, channels.c.country, channels.c.follower_count)
Index("ix_channels_owner", channels.c.owner_id)

# The owner (role "owner") and up to 16 admins. An invited admin has `accepted_at` None until they accept
# (invites expire after 7 days, as on WhatsApp).
channel_admins = Table(
    "channel_admins",
    metadata,
    Column("channel_id", Id, ForeignKey("channels.id"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("role", String(8), nullable=False),  # owner | admin
    Column("invited_by", Id, nullable=True),
    Column("invited_at", BigInteger, nullable=False),
    Column("accepted_at", BigInteger, nullable=True),
)
Index("ix_channel_admins_user", channel_admins.c.user_id)

# Who follows what: private (never shown to the channel's admins or to other followers).
channel_follows = Table(
    "channel_follows",
    metadata,
    Column("channel_id", Id, ForeignKey("channels.id"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("muted", Boolean, nullable=False, server_default=false()),
    Column("read_seq", BigInteger, nullable=False, server_default="0"),  # the last post this follower has read
    Column("followed_at", BigInteger, nullable=False),
)
Index("ix_channel_follows_user", channel_follows.c.user_id, channel_follows.c.channel_id)

channel_posts = Table(
    "channel_posts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("channel_id", Id, ForeignKey("channels.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("author_id", Id, nullable=False),  # an admin (kept for the admins' log; never shown to followers)
    Column("type", String(16), nullable=False),  # text | image | video | poll | link
    Column("content", Text, nullable=False),  # JSON, the post's typed content
    Column("exclusive", Boolean, nullable=False, server_default=false()),  # for subscribers only
    Column("client_id", String(64), nullable=True),  # idempotency of the author's retry
    Column("created_at", BigInteger, nullable=False),
    Column("edited_at", BigInteger, nullable=True),
    Column("deleted_at", BigInteger, nullable=True),
    Column("expires_at", BigInteger, nullable=False),  # created_at + 30 days: the history kept
)
Index("ux_channel_posts_seq", channel_posts.c.channel_id, channel_posts.c.seq, unique=True)
Index("ux_channel_posts_client", channel_posts.c.channel_id, channel_posts.c.client_id, unique=True)
Index("ix_channel_posts_expiry", channel_posts.c.expires_at)

# One reaction per person per post; the counts are what anyone sees (never who reacted).
channel_reactions = Table(
    "channel_reactions",
    metadata,
    Column("post_id", Id, ForeignKey("channel_posts.id"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("emoji", String(32), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

channel_reaction_counts = Table(
    "channel_reaction_counts",
    metadata,
    Column("post_id", Id, ForeignKey("channel_posts.id"), primary_key=True),
    Column("emoji", String(32), primary_key=True),
    Column("count", Integer, nullable=False),
)

# One vote per person per poll post (counts only are shown).
channel_poll_votes = Table(
    "channel_poll_votes",
    metadata,
    Column("post_id", Id, ForeignKey("channel_posts.id"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("option", SmallInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
