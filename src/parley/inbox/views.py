"""The JSON shapes the inbox API answers with (docs/inbox.md lists them)."""

from __future__ import annotations

from typing import Any

from parley.business import CSW_MS
from parley.inbox.repository import AgentRow, ContactRow, LabelRow, NoteRow, QuickReplyRow, ThreadRow


def agent_view(row: AgentRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "email": row.email,
        "role": row.role,
        "availability": row.availability if row.disabled_at is None else "disabled",
        "capacity": row.capacity,
        "open_count": row.open_count,
        "skills": [str(s) for s in row.skill_ids],
        "invited": row.password_hash is None,
    }


def label_view(row: LabelRow) -> dict[str, Any]:
    return {"id": str(row.id), "name": row.name, "colour": row.colour}


def quick_reply_view(row: QuickReplyRow) -> dict[str, Any]:
    return {"id": str(row.id), "shortcut": row.shortcut, "body": row.body}


def note_view(row: NoteRow, agents: dict[int, AgentRow]) -> dict[str, Any]:
    author = agents.get(row.agent_id)
    return {
        "id": str(row.id),
        "body": row.body,
        "author": {"id": str(row.agent_id), "name": author.name if author else ""},
        "created_at": row.created_at,
    }


def contact_brief(contact: ContactRow | None, person_id: int) -> dict[str, Any]:
    if contact is None:
        return {"id": None, "person_id": str(person_id), "name": "", "profile_name": "", "phone": ""}
    return {
        "id": str(contact.id),
        "person_id": str(person_id),
        "name": contact.name or contact.profile_name or contact.phone,
        "profile_name": contact.profile_name,
        "phone": contact.phone,
    }


def window_view(last_inbound_at: int | None, now: int) -> dict[str, Any]:
    closes = None if last_inbound_at is None else last_inbound_at + CSW_MS
    is_open = closes is not None and now < closes
    return {"open": is_open, "closes_at": closes if is_open else None}


def conversation_view(
    thread: ThreadRow,
    *,
    contact: ContactRow | None,
    labels: list[LabelRow],
    agents: dict[int, AgentRow],
    now: int,
) -> dict[str, Any]:
    assignee = None if thread.assignee_id is None else agents.get(thread.assignee_id)
    return {
        "id": str(thread.conversation_id),
        "chat_id": str(thread.chat_id),
        "number_id": str(thread.phone_number_id),
        "status": thread.status,
        "unread": thread.unread,
        "assignee": None if assignee is None else {"id": str(assignee.id), "name": assignee.name},
        "contact": contact_brief(contact, thread.person_id),
        "labels": [label_view(label) for label in labels],
        "last_message": {
            "text": thread.last_message_text,
            "at": thread.last_message_at,
            "direction": thread.last_direction,
        },
        "waiting_since": thread.waiting_since,
        "window": window_view(thread.last_inbound_at, now),
    }


def contact_view(contact: ContactRow, labels: list[LabelRow], threads: list[ThreadRow]) -> dict[str, Any]:
    return {
        **contact_brief(contact, contact.person_id),
        "notes": contact.notes,
        "labels": [label_view(label) for label in labels],
        "first_contact_at": contact.first_contact_at,
        "last_contact_at": contact.last_contact_at,
        "conversations": [
            {"id": str(t.conversation_id), "number_id": str(t.phone_number_id), "status": t.status} for t in threads
        ],
    }
