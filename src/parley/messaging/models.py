"""Tables of chats, members, messages, per-recipient receipts, reactions and the per-user inbox."""

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, SmallInteger, String, Table, Text

from parley.kit.db import Id, metadata

chats = Table(
    "chats",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(8), nullable=False),  # direct | group
    Column("name", String(128), nullable=True),
    # "smaller_user_id:larger_user_id" for direct chats: one chat per pair, enforced by the database.
    Column("direct_key", String(48), nullable=True, unique=True),
    Column("created_by", Id, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

chat_members = Table(
    "chat_members",
    metadata,
    Column("chat_id", Id, ForeignKey("chats.id"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("role", String(8), nullable=False, server_default="member"),  # admin | member
    Column("joined_at", BigInteger, nullable=False),
)
Index("ix_chat_members_user", chat_members.c.user_id, chat_members.c.chat_id)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True),
    Column("chat_id", Id, ForeignKey("chats.id"), nullable=False),
    Column("sender_id", Id, ForeignKey("users.id"), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("type", String(16), nullable=False),
    # The content seam: a typed payload serialised as JSON (later: ciphertext the server cannot read).
    Column("content", Text, nullable=True),
    Column("context_id", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("edited_at", BigInteger, nullable=True),
    Column("deleted_at", BigInteger, nullable=True),
    # A digest of the send request: a retry with the same client_id must carry the same request (idempotency.py).
    Column("request_hash", String(32), nullable=True),
)
Index("ix_messages_chat_id_id", messages.c.chat_id, messages.c.id)
# Idempotency: a retried send with the same client_id finds the first message here.
Index("uq_messages_sender_client", messages.c.sender_id, messages.c.client_id, unique=True)

# Receipt status codes, lowest first; WITHHELD marks a message from someone the recipient blocked.
WITHHELD, SENT, DELIVERED, READ = 0, 1, 2, 3

receipts = Table(
    "receipts",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("status", SmallInteger, nullable=False),
    Column("delivered_at", BigInteger, nullable=True),
    Column("read_at", BigInteger, nullable=True),
)
Index("ix_receipts_user_status", receipts.c.user_id, receipts.c.status, receipts.c.message_id)

reactions = Table(
    "reactions",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("emoji", String(32), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

inbox = Table(
    "inbox",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("message_id", Id, ForeignKey("messages.id"), nullable=False),
    Column("event", String(10), nullable=False),  # new | edited | deleted | reaction
    Column("created_at", BigInteger, nullable=False),
)

group_invites = Table(
    "group_invites",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("chat_id", Id, ForeignKey("chats.id"), nullable=False, index=True),
    Column("created_by", Id, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

# A personal invitation to a group, sent when someone's privacy settings did not let an admin add them: it
# arrives as a message in the 1:1 chat and the invitee accepts it (or lets it expire).
group_add_invites = Table(
    "group_add_invites",
    metadata,
    Column("id", Id, primary_key=True),
    Column("chat_id", Id, ForeignKey("chats.id"), nullable=False),
    Column("inviter_id", Id, ForeignKey("users.id"), nullable=False),
    Column("invitee_id", Id, ForeignKey("users.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("accepted_at", BigInteger, nullable=True),
)
Index("ix_group_add_invites_pending", group_add_invites.c.chat_id, group_add_invites.c.invitee_id)


# Presence, written by the realtime stream: online while `streams` > 0 (open streams of the person's devices, over
# all processes), else last seen at `last_seen_at`. One write when a stream opens and one when it closes.
presence = Table(
    "presence",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("streams", Integer, nullable=False, server_default="0"),
    Column("last_seen_at", BigInteger, nullable=True),
)
