"""The hot statements of a Cloud API send's unit as plain SQL per dialect (run on the unit's driver cursor)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import orjson

from parley.business.repository import BusinessMessageRow, ConversationRow
from parley.platform.db.driver import DriverCursor, insert_sql, numbered

_CONVERSATION_COLUMNS = ", ".join(f.name for f in fields(ConversationRow))
_MESSAGE_COLUMNS = [f.name for f in fields(BusinessMessageRow)]


@dataclass(frozen=True)
class SendStatements:
    conversation: str
    insert_business_message: str
    note_outbound: str  # the conversation's last outbound send and free-entry-point end
    outbound_to: str  # a person's receipts: which of the messages are a business's sends to them
    set_status: str


_SQLITE = SendStatements(
    conversation=f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE phone_number_id = ? AND person_id = ?",
    insert_business_message=insert_sql("business_messages", _MESSAGE_COLUMNS),
    note_outbound="UPDATE conversations SET last_outbound_at = ?, fep_expires_at = ? WHERE id = ?",
    outbound_to=(
        f"SELECT {', '.join(_MESSAGE_COLUMNS)} FROM business_messages"
        " WHERE message_id IN (SELECT value FROM json_each(?)) AND direction = 'out' AND person_id = ?"
    ),
    set_status="UPDATE business_messages SET status = ?, status_at = ? WHERE message_id = ?",
)
# The same text but for parameters, except that PostgreSQL takes the list of ids as an array rather than JSON.
_POSTGRESQL = SendStatements(
    **{name: numbered(value) for name, value in vars(_SQLITE).items() if name != "outbound_to"},
    outbound_to=numbered(_SQLITE.outbound_to.replace("IN (SELECT value FROM json_each(?))", "= ANY(?::bigint[])")),
)
_BOOLEANS = [i for i, name in enumerate(_MESSAGE_COLUMNS) if name in ("billable", "in_service_window")]


def _statements(cursor: DriverCursor) -> SendStatements:
    return _POSTGRESQL if cursor.dialect == "postgresql" else _SQLITE


def get_conversation(cursor: DriverCursor, number_id: int, person_id: int) -> ConversationRow | None:
    row = cursor.first(_statements(cursor).conversation, (number_id, person_id))
    return None if row is None else ConversationRow(*row)


def insert_business_message(cursor: DriverCursor, row: BusinessMessageRow) -> None:
    cursor.run(_statements(cursor).insert_business_message, [getattr(row, name) for name in _MESSAGE_COLUMNS])


def note_outbound(cursor: DriverCursor, conversation_id: int, at: int, fep_expires_at: int | None) -> None:
    cursor.run(_statements(cursor).note_outbound, (at, fep_expires_at, conversation_id))


def outbound_to(cursor: DriverCursor, person_id: int, message_ids: Sequence[int]) -> list[BusinessMessageRow]:
    """Which of `message_ids` are a business's messages to this person (an ack or read names any messages)."""
    if not message_ids:
        return []
    ids: Any = list(message_ids) if cursor.dialect == "postgresql" else orjson.dumps(list(message_ids)).decode()
    return [_message_row(r) for r in cursor.rows(_statements(cursor).outbound_to, (ids, person_id))]


def set_status(cursor: DriverCursor, message_id: int, status: int, now: int) -> None:
    cursor.run(_statements(cursor).set_status, (status, now, message_id))


def _message_row(raw: Sequence[Any]) -> BusinessMessageRow:
    values = list(raw)
    for i in _BOOLEANS:  # SQLite answers 0/1 where SQLAlchemy's Boolean gives bool
        if values[i] is not None:
            values[i] = bool(values[i])
    return BusinessMessageRow(*values)
