"""Tables of blocks and abuse reports."""

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table, Text

from parley.kit.db import Id, metadata

blocks = Table(
    "blocks",
    metadata,
    Column("blocker_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("blocked_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_blocks_blocked", blocks.c.blocked_id, blocks.c.blocker_id)

reports = Table(
    "reports",
    metadata,
    Column("id", Id, primary_key=True),
    Column("reporter_id", Id, ForeignKey("users.id"), nullable=False),
    Column("reported_user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("chat_id", BigInteger, nullable=True),
    Column("message_ids", Text, nullable=False),  # JSON list of the reported message ids
    Column("reason", String(500), nullable=False, server_default=""),
    Column("created_at", BigInteger, nullable=False),
)

# Who may add a person to groups: everyone | contacts | nobody (others get an invitation instead). No row: everyone.
# `contacts` are the people the person has written to in a 1:1 chat.
privacy_settings = Table(
    "privacy_settings",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("group_add", String(16), nullable=False, server_default="everyone"),
    # Who may see when the person was last seen and whether they are online (same choices; WhatsApp's default).
    Column("last_seen", String(16), nullable=False, server_default="everyone"),
    Column("updated_at", BigInteger, nullable=False),
)
