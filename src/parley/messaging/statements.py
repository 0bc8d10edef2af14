"""The hot statements of sends, acks and reads as plain SQL per dialect, run on the driver's own cursor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection

from parley.messaging.models import DELIVERED, READ, SENT
from parley.platform.db.driver import DriverCursor, numbered

# Why not SQLAlchemy here: one statement through it costs 16-24 µs to build, look up and wrap, against 2-3 µs on
# the driver's cursor, and a send runs several. SQLAlchemy keeps the schema, the migrations and the cold paths.
# The tables are the ones models.py describes (and `users` of accounts, `blocks` of privacy, whose columns these
# statements name): tests/integration/test_messaging_statements.py runs every statement on both dialects.


@dataclass(frozen=True)
class Statements:
    """Each hot statement in one dialect's text (SQLite's `?` parameters, or PostgreSQL's `$1`)."""

    dialect: str
    # The message sent earlier with this client id: id, chat_id, created_at, request_hash.
    find_sent: str
    # Nothing (no row back) when the sender used this client id before: the send is a retry.
    insert_message: str
    user_name: str
    member_ids: str
    blocked_by: str  # one recipient: has it blocked the sender?
    insert_receipt: str
    # Under the user's row lock until commit, so inbox sequence numbers follow commit order.
    next_inbox_seq: str
    insert_inbox: str
    # A device's acknowledgement: the inbox head and the device's mark, then the mark moved.
    ack_marks: str
    set_ack: str
    mark_delivered_in_range: str
    # Each message's chat, sender and lowest status over the recipients it was delivered to (NULL: none).
    receipt_facts: str
    chat_of_member_message: str
    mark_read_through: str

    def id_list(self, ids: Sequence[int]) -> Any:
        """One parameter holding a list of ids (`json_each` on SQLite, an array on PostgreSQL)."""
        return list(ids) if self.dialect == "postgresql" else orjson.dumps(list(ids)).decode()


_SQLITE = Statements(
    dialect="sqlite",
    find_sent="SELECT id, chat_id, created_at, request_hash FROM messages WHERE sender_id = ? AND client_id = ?",
    insert_message=(
        "INSERT INTO messages (id, chat_id, sender_id, client_id, type, content, context_id, created_at, request_hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id"
    ),
    user_name="SELECT name FROM users WHERE id = ?",
    member_ids="SELECT user_id FROM chat_members WHERE chat_id = ?",
    blocked_by="SELECT 1 FROM blocks WHERE blocker_id = ? AND blocked_id = ?",
    insert_receipt="INSERT INTO receipts (message_id, user_id, status) VALUES (?, ?, ?)",
    next_inbox_seq="UPDATE users SET inbox_seq = inbox_seq + 1 WHERE id = ? RETURNING inbox_seq",
    insert_inbox="INSERT INTO inbox (user_id, seq, message_id, event, created_at) VALUES (?, ?, ?, ?, ?)",
    ack_marks="SELECT (SELECT inbox_seq FROM users WHERE id = ?), acked_seq FROM devices WHERE id = ?",
    set_ack="UPDATE devices SET acked_seq = ? WHERE id = ?",
    mark_delivered_in_range=(
        f"UPDATE receipts SET status = {DELIVERED}, delivered_at = ? WHERE user_id = ? AND status = {SENT}"
        " AND message_id IN (SELECT message_id FROM inbox WHERE user_id = ? AND seq > ? AND seq <= ?"
        " AND event = 'new') RETURNING message_id"
    ),
    receipt_facts=(
        "SELECT m.id, m.chat_id, m.sender_id,"
        " (SELECT min(r.status) FROM receipts r WHERE r.message_id = m.id AND r.status > 0)"
        " FROM messages m WHERE m.id IN (SELECT value FROM json_each(?))"
    ),
    chat_of_member_message=(
        "SELECT m.chat_id FROM messages m JOIN chat_members c ON c.chat_id = m.chat_id AND c.user_id = ? WHERE m.id = ?"
    ),
    mark_read_through=(
        f"UPDATE receipts SET status = {READ}, read_at = ?, delivered_at = coalesce(delivered_at, ?)"
        f" WHERE user_id = ? AND status IN ({SENT}, {DELIVERED})"
        " AND message_id IN (SELECT id FROM messages WHERE chat_id = ? AND id <= ?) RETURNING message_id"
    ),
)


# The same text but for parameters, except where PostgreSQL takes a list as an array rather than JSON.
_POSTGRESQL = Statements(
    **{name: numbered(value) for name, value in vars(_SQLITE).items() if name not in ("dialect", "receipt_facts")},
    dialect="postgresql",
    receipt_facts=_SQLITE.receipt_facts.replace("IN (SELECT value FROM json_each(?))", "= ANY($1::bigint[])"),
)


class Driver(DriverCursor):
    """A unit's DB-API cursor (inside the unit's transaction) with the statements of its dialect."""

    __slots__ = ("sql",)

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self.sql = _POSTGRESQL if self.dialect == "postgresql" else _SQLITE
