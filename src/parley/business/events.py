"""The webhook `value` objects of the `messages` field: inbound messages and outbound statuses, Meta's shapes."""

from __future__ import annotations

from typing import Any

from parley.business.identity import wa_id
from parley.business.repository import NumberRow
from parley.messaging import AnyContent, MediaContent, TemplateContent, TextContent

STATUS_NAMES = {1: "sent", 2: "delivered", 3: "read", 9: "failed"}


def metadata(number: NumberRow) -> dict[str, str]:
    return {"display_phone_number": wa_id(number.display_phone_number), "phone_number_id": str(number.id)}


def status_value(
    number: NumberRow,
    *,
    wamid: str,
    status: int,
    timestamp_ms: int,
    person_phone: str,
    person_bsuid: str,
    pricing: dict[str, Any] | None,
    conversation: dict[str, Any] | None,
    biz_opaque_callback_data: str | None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid,
        "status": STATUS_NAMES[status],
        "timestamp": str(timestamp_ms // 1000),
        "recipient_id": wa_id(person_phone),
        "recipient_user_id": person_bsuid,
    }
    if conversation is not None:
        item["conversation"] = conversation
    if pricing is not None:
        item["pricing"] = pricing
    if biz_opaque_callback_data:
        item["biz_opaque_callback_data"] = biz_opaque_callback_data
    if errors:
        item["errors"] = errors
    return {
        "messaging_product": "whatsapp",
        "metadata": metadata(number),
        "contacts": [{"wa_id": wa_id(person_phone), "user_id": person_bsuid}],
        "statuses": [item],
    }


def inbound_value(
    number: NumberRow, *, person_phone: str, person_name: str, person_bsuid: str, message: dict[str, Any]
) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": metadata(number),
        "contacts": [{"profile": {"name": person_name}, "wa_id": wa_id(person_phone), "user_id": person_bsuid}],
        "messages": [message],
    }


def pricing_object(category: str, pricing_type: str, billable: bool, model: str = "PMP") -> dict[str, Any]:
    return {"billable": billable, "pricing_model": model, "category": category, "type": pricing_type}


def echo_value(
    number: NumberRow, person_phone: str, wamid: str, timestamp_ms: int, type_: str, content: AnyContent
) -> dict[str, Any]:
    """Meta's `smb_message_echoes` value: a message the business sent other than through the API."""
    item: dict[str, Any] = {
        "from": wa_id(number.display_phone_number),
        "to": wa_id(person_phone),
        "id": wamid,
        "timestamp": str(timestamp_ms // 1000),
        "type": type_,
    }
    if isinstance(content, TextContent):
        item["text"] = {"body": content.body}
    elif isinstance(content, MediaContent):
        media: dict[str, Any] = {"id": str(content.media_id), "mime_type": content.mime_type}
        if content.caption:
            media["caption"] = content.caption
        item[type_] = media
    elif isinstance(content, TemplateContent):
        item["template"] = {"name": content.name, "language": {"code": content.language}}
    return {"messaging_product": "whatsapp", "metadata": metadata(number), "message_echoes": [item]}
