"""The inbox's bookkeeping of a business send as plain SQL per dialect (run on the send unit's driver cursor)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from parley.inbox.repository import EventRow, ThreadRow
from parley.platform.db.driver import DriverCursor, insert_sql, numbered

_THREAD_COLUMNS = ", ".join(f.name for f in fields(ThreadRow))
_EVENT_COLUMNS = [f.name for f in fields(EventRow)]


@dataclass(frozen=True)
class OutboundStatements:
    touch_contact: str
    note_outbound: str  # the thread's last message, and the thread as it now is
    insert_event: str


_SQLITE = OutboundStatements(
    touch_contact="UPDATE inbox_contacts SET last_contact_at = ? WHERE waba_id = ? AND person_id = ?",
    note_outbound=(
        "UPDATE inbox_threads SET last_message_at = ?, last_message_text = ?, last_direction = 'out'"
        f" WHERE conversation_id = ? RETURNING {_THREAD_COLUMNS}"
    ),
    insert_event=insert_sql("inbox_events", _EVENT_COLUMNS),
)
_POSTGRESQL = OutboundStatements(**{name: numbered(value) for name, value in vars(_SQLITE).items()})


def _statements(cursor: DriverCursor) -> OutboundStatements:
    return _POSTGRESQL if cursor.dialect == "postgresql" else _SQLITE


def touch_contact(cursor: DriverCursor, waba_id: int, person_id: int, at: int) -> bool:
    """Note contact with a known person; False when the person is not a contact yet."""
    return cursor.run(_statements(cursor).touch_contact, (at, waba_id, person_id)) > 0


def note_outbound(cursor: DriverCursor, conversation_id: int, at: int, text: str) -> ThreadRow | None:
    """A message out on an existing thread: its last message set, and the thread as it now is."""
    row = cursor.first(_statements(cursor).note_outbound, (at, text, conversation_id))
    return None if row is None else ThreadRow(*row)


def insert_event(cursor: DriverCursor, row: EventRow) -> None:
    cursor.run(_statements(cursor).insert_event, [getattr(row, name) for name in _EVENT_COLUMNS])
