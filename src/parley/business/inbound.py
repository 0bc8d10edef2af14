"""A person's message to a business, in the shape of Meta's webhook `messages[]` item.

The item goes inside `entry[].changes[].value.messages` of a `messages` webhook. Its shape follows Meta's
webhook schemas (`TextMessage_2`, `ImageMessage_1`, `ButtonMessage`, `InteractiveMessageReply`, ...):
`timestamp` is unix seconds as a string, media ids are strings, a tap on a template quick reply is a
`button` item and a tap on a reply button or list row an `interactive` item. Content a person cannot
send to a business arrives as Meta's `unsupported` item with error 131051.
"""

from __future__ import annotations

from typing import Any

from parley.messaging import (
    AnyContent,
    ContactsContent,
    LocationContent,
    MediaContent,
    OrderContent,
    ReplyContent,
    TextContent,
)

MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")


def webhook_message(
    message_id_wamid: str,
    from_: str,
    timestamp_s: int,
    type_: str,
    content: AnyContent,
    context: dict[str, Any] | None,
    referral: dict[str, Any] | None,
    *,
    sha256: str | None = None,
    voice: bool = False,
    animated: bool = False,
) -> dict[str, Any]:
    """Meta's inbound `messages[]` item for a person's message.

    `type_` is the stored message type (`text`, `image`, ..., `location`, `contacts`, `reply`); for
    media it says which kind. `context` is Meta's `{"from": business number, "id": wamid}` of the quoted
    business message (required for taps on buttons), `referral` the click-to-chat referral object.
    `sha256` (base64 of the file's SHA-256, as Meta sends it) goes on media items, `voice` on audio,
    `animated` on stickers.
    """
    item: dict[str, Any] = {"from": from_, "id": message_id_wamid, "timestamp": str(timestamp_s)}
    if isinstance(content, TextContent):
        item["type"] = "text"
        item["text"] = {"body": content.body}
    elif isinstance(content, MediaContent) and type_ in MEDIA_KINDS:
        item["type"] = type_
        item[type_] = _media(type_, content, sha256, voice, animated)
    elif isinstance(content, LocationContent):
        item["type"] = "location"
        # Meta's schema requires name and address; a bare pin has neither, so they are empty.
        item["location"] = {
            "latitude": content.latitude,
            "longitude": content.longitude,
            "name": content.name or "",
            "address": content.address or "",
        }
    elif isinstance(content, ContactsContent):
        item["type"] = "contacts"
        item["contacts"] = content.contacts
    elif isinstance(content, ReplyContent):
        item.update(_reply(content))
    elif isinstance(content, OrderContent):
        item["type"] = "order"
        item["order"] = webhook_order(content)
    else:
        item["type"] = "unsupported"
        item["errors"] = [
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ]
    if context is not None:
        item["context"] = context
    if referral is not None:
        item["referral"] = referral
    return item


def webhook_reaction(
    message_id_wamid: str, from_: str, timestamp_s: int, reacted_wamid: str, emoji: str
) -> dict[str, Any]:
    """Meta's inbound item for a person's reaction to a business message; an empty emoji removes it."""
    reaction: dict[str, Any] = {"message_id": reacted_wamid, "emoji": emoji}
    return {
        "from": from_,
        "id": message_id_wamid,
        "timestamp": str(timestamp_s),
        "type": "reaction",
        "reaction": reaction,
    }


def webhook_order(content: OrderContent) -> dict[str, Any]:
    """Meta's `order` object: unit prices in major units (a float, or an integer when whole), no total."""
    return {
        "catalog_id": content.catalog_id,
        "text": content.text,
        "product_items": [
            {
                "product_retailer_id": line.product_retailer_id,
                "quantity": line.quantity,
                "item_price": _major_units(line.item_price),
                "currency": line.currency,
            }
            for line in content.product_items
        ],
    }


def _major_units(micros: int) -> int | float:
    whole, rest = divmod(micros, 1_000_000)
    return whole if rest == 0 else micros / 1_000_000


def _media(kind: str, content: MediaContent, sha256: str | None, voice: bool, animated: bool) -> dict[str, Any]:
    media: dict[str, Any] = {"id": str(content.media_id), "mime_type": content.mime_type}
    if sha256 is not None:
        media["sha256"] = sha256
    if content.caption is not None and kind in ("image", "video", "document"):
        media["caption"] = content.caption
    if kind == "document":
        media["filename"] = content.filename or "document"
    if kind == "audio":
        media["voice"] = voice
    if kind == "sticker":
        media["animated"] = animated
    return media


def _reply(content: ReplyContent) -> dict[str, Any]:
    if content.reply_type == "button":  # a template's quick-reply button
        return {"type": "button", "button": {"payload": content.id, "text": content.title}}
    if content.reply_type == "button_reply":
        return {
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": content.id, "title": content.title}},
        }
    # Meta's schema requires description on a list reply; a row without one gives an empty string.
    row = {"id": content.id, "title": content.title, "description": content.description or ""}
    return {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": row}}
