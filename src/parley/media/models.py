"""Tables of uploaded media and the chats each was shared in (which decides who may download it)."""

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table

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
    # When the file was first put to use (shared in a chat, made a profile picture); NULL: an unsent upload,
    # which counts against its owner's quota and expires (media/service.py).
    Column("used_at", BigInteger, nullable=True),
)
Index("ix_media_owner_used", media.c.owner_id, media.c.used_at)
Index("ix_media_used_created", media.c.used_at, media.c.created_at)

media_shares = Table(
    "media_shares",
    metadata,
    Column("media_id", Id, ForeignKey("media.id"), primary_key=True),
    Column("chat_id", Id, primary_key=True),
)

# A person's profile photo: one of their own image uploads, which anyone signed in may download (WhatsApp's default).
profile_photos = Table(
    "profile_photos",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("media_id", Id, ForeignKey("media.id"), nullable=False, index=True),
    Column("updated_at", BigInteger, nullable=False),
)
