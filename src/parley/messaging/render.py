"""The client API's message object, rendered from a stored row (a plain dict: it goes on the wire and the bus)."""

from __future__ import annotations

from typing import Any

from parley.messaging import repository as repo
from parley.messaging.content import (
    AnyContent,
    ContactsContent,
    EncryptedContent,
    GroupInviteContent,
    InteractiveContent,
    LocationContent,
    MediaContent,
    OrderContent,
    PaymentContent,
    ReplyContent,
    TemplateContent,
    TextContent,
    load_content,
    preview_of,
)
from parley.messaging.models import DELIVERED, READ, SENT

STATUS_NAMES = {SENT: "sent", DELIVERED: "delivered", READ: "read"}
Event = dict[str, Any]


def render_message(
    row: repo.MessageRow,
    status: int = SENT,
    message_reactions: list[tuple[int, str]] | None = None,
    quoted: repo.MessageRow | None = None,
) -> Event:
    """The client API's message object (a plain dict: it goes on the wire and on the bus as is).

    `quoted`: the message a reply quotes (its `context`), rendered as `quoted` (who wrote it, one line of it).
    """
    text = media_out = business = encrypted = None
    forwarded = False
    if row.deleted_at is None and row.content is not None:
        content = load_content(row.content)
        forwarded = bool(getattr(content, "forwarded", False))
        if isinstance(content, TextContent):
            text = {"body": content.body}
        elif isinstance(content, EncryptedContent):
            encrypted = content.model_dump(exclude={"kind"})
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
        # What the context's message is, so a client can show the quote without having that message loaded.
        "quoted": None if row.context_id is None else _quoted(row.context_id, quoted),
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
        # A person's end-to-end encrypted message: Megolm ciphertext their devices decrypt (docs/e2ee.md).
        "encrypted": encrypted,
    }


def _quoted(context_id: int, quoted: repo.MessageRow | None) -> Event | None:
    if quoted is None or quoted.id != context_id:
        return None
    gone = quoted.deleted_at is not None or quoted.content is None
    return {
        "sender_id": str(quoted.sender_id),
        "sender_name": quoted.sender_name,
        "type": quoted.type,
        "preview": None if gone or quoted.content is None else preview_of(load_content(quoted.content)),
        "deleted": gone,
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
    if isinstance(content, OrderContent):
        return {"order": content.model_dump(exclude={"kind"})}
    if isinstance(content, PaymentContent):
        return {"payment": content.model_dump(exclude={"kind"})}
    return {}
