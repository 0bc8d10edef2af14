"""The hot statements of a Cloud API send's unit as plain SQL per dialect (run on the unit's driver cursor)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from parley.business.repository import BusinessMessageRow, ConversationRow
from parley.platform.db.driver import DriverCursor, insert_sql, numbered

_CONVERSATION_COLUMNS = ", ".join(f.name for f in fields(ConversationRow))
_MESSAGE_COLUMNS = [f.name for f in fields(BusinessMessageRow)]


@dataclass(frozen=True)
class SendStatements:
    conversation: str
    insert_business_message: str
    note_outbound: str  # the conversation's last outbound send and free-entry-point end


_SQLITE = SendStatements(
    conversation=f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE phone_number_id = ? AND person_id = ?",
    insert_business_message=insert_sql("business_messages", _MESSAGE_COLUMNS),
    note_outbound="UPDATE conversations SET last_outbound_at = ?, fep_expires_at = ? WHERE id = ?",
)
_POSTGRESQL = SendStatements(**{name: numbered(value) for name, value in vars(_SQLITE).items()})


def _statements(cursor: DriverCursor) -> SendStatements:
    return _POSTGRESQL if cursor.dialect == "postgresql" else _SQLITE


def get_conversation(cursor: DriverCursor, number_id: int, person_id: int) -> ConversationRow | None:
    row = cursor.first(_statements(cursor).conversation, (number_id, person_id))
    return None if row is None else ConversationRow(*row)


def insert_business_message(cursor: DriverCursor, row: BusinessMessageRow) -> None:
    cursor.run(_statements(cursor).insert_business_message, [getattr(row, name) for name in _MESSAGE_COLUMNS])


def note_outbound(cursor: DriverCursor, conversation_id: int, at: int, fep_expires_at: int | None) -> None:
    cursor.run(_statements(cursor).note_outbound, (at, fep_expires_at, conversation_id))
