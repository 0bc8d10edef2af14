"""Tables of people's accounts, their devices (one bearer token each), one-time codes and the revocation counter."""

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table

from parley.kit.db import Id, metadata

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("phone", String(20), nullable=False, unique=True),
    Column("name", String(128), nullable=False, server_default=""),
    Column("kind", String(16), nullable=False, server_default="person"),
    # The per-user inbox sequence: incremented under the row lock, so it follows commit order.
    Column("inbox_seq", BigInteger, nullable=False, server_default="0"),
    Column("created_at", BigInteger, nullable=False),
    # Set when the person erased their account: phone and name are replaced by a pseudonym (money stays provable).
    Column("erased_at", BigInteger, nullable=True),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(128), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("last_seen_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    # Everything in the user's inbox up to here has been acknowledged by this device.
    Column("acked_seq", BigInteger, nullable=False, server_default="0"),
)

otp_codes = Table(
    "otp_codes",
    metadata,
    Column("phone", String(20), primary_key=True),
    Column("code_hash", String(64), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", BigInteger, nullable=False),
)

# One row: moved by every token revocation (a device's or a business's), in the revoking transaction. A process
# whose bus does not reach the revoker (the CLI on SQLite) reads it to know its token caches are stale.
token_revocations = Table(
    "token_revocations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("generation", BigInteger, nullable=False, server_default="0"),
)

Index("ix_devices_user_active", devices.c.user_id, devices.c.revoked_at)
