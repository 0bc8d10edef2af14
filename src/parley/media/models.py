"""Tables of uploaded media and the chats each was shared in (which decides who may download it)."""

from sqlalchemy import BigInteger, Column, ForeignKey, String, Table

from parley.kit.db import Id, metadata

media = Table(
    "media",
    metadata,
    Column("id", Id, primary_key=True),
    Column("owner_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("kind", String(10), nullable=False),  # image | document | audio | video
    Column("mime_type", String(128), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("filename", String(255), nullable=True),
    Column("path", String(512), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

media_shares = Table(
    "media_shares",
    metadata,
    Column("media_id", Id, ForeignKey("media.id"), primary_key=True),
    Column("chat_id", Id, primary_key=True),
)
