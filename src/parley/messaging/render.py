"""The client API's message object, rendered from a stored row (a plain dict: it goes on the wire and the bus)."""

from __future__ import annotations

from typing import Any

from parley.messaging import repository as repo
from parley.messaging.content import (
    AnyContent,
    ContactsContent,
    GroupInviteContent,
    InteractiveContent,
    LocationContent,
    MediaContent,
    ReplyContent,
    TemplateContent,
    TextContent,
    load_content,
)
from parley.messaging.models import DELIVERED, READ, SENT

STATUS_NAMES = {SENT: "sent", DELIVERED: "delivered", READ: "read"}
Event = dict[str, Any]


def render_message(
    row: repo.MessageRow,
    status: int = SENT,
    message_reactions: list[tuple[int, str]] | None = None,
) -> Event:
    """The client API's message object (a plain dict: it goes on the wire and on the bus as is)."""
    text = media_out = business = None
    forwarded = False
    if row.deleted_at is None and row.content is not None:
        content = load_content(row.content)
        forwarded = bool(getattr(content, "forwarded", False))
        if isinstance(content, TextContent):
            text = {"body": content.body}
        elif isinstance(content, MediaContent):
            media_out = {
                "id": str(content.media_id),
                "mime_type": content.mime_type,
                "size": content.size,
                "filename": content.filename,
                "caption": content.caption,
            }
        else:
            business = _business_part(content)
    return {
        "id": str(row.id),
        "chat_id": str(row.chat_id),
        "sender_id": str(row.sender_id),
        "sender_name": row.sender_name,
        "type": row.type,
        "text": text,
        "media": media_out,
        "context": None if row.context_id is None else {"message_id": str(row.context_id)},
        "client_id": row.client_id,
        "timestamp": row.created_at,
        "edited_at": row.edited_at,
        "deleted": row.deleted_at is not None,
        "forwarded": forwarded,
        "reactions": [{"user_id": str(u), "emoji": e} for u, e in (message_reactions or [])],
        "status": STATUS_NAMES.get(status, "sent"),
        # The kinds beyond text and media (a template, an interactive message, a location, contact cards, a
        # tap on a business message's button): exactly one key, named after the kind.
        "business": business,
    }


def _business_part(content: AnyContent) -> Event:
    if isinstance(content, TemplateContent):
        return {"template": content.model_dump(exclude={"kind"})}
    if isinstance(content, InteractiveContent):
        return {"interactive": content.model_dump(exclude={"kind"})}
    if isinstance(content, LocationContent):
        return {"location": content.model_dump(exclude={"kind", "forwarded"})}
    if isinstance(content, ContactsContent):
        return {"contacts": content.contacts}
    if isinstance(content, ReplyContent):
        return {"reply": content.model_dump(exclude={"kind"})}
    if isinstance(content, GroupInviteContent):
        return {"group_invite": content.model_dump(exclude={"kind"})}
    return {}
