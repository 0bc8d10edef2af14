"""A person's message as the business's webhook sees it: each item validates against Meta's own schemas.

Meta's OpenAPI file describes webhook items twice: `IncomingMessage` maps each `type` to the *send*
schemas (`TextMessage`, `ImageMessage`, ... which require `to` and `messaging_product`), a slip in the
file; the webhook shapes are the suffixed ones (`TextMessage_2`, `ImageMessage_1`, `ButtonMessage`, ...)
over `BaseMessageProperties_1` (`from`, `id`, `timestamp`). Those are what is checked here, with the
type-specific part of each taken as Meta wrote it. (Two more slips handled the same way:
`UnsupportedMessage.errors` points at the Graph error object instead of the webhook one `ErrorObject_2`,
and `InteractiveMessageReply.interactive` names its variants only through a `discriminator`, which JSON
Schema does not apply, so the variant is checked on its own.)
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from parley.business.inbound import webhook_message, webhook_reaction
from parley.messaging.content import (
    AnyContent,
    ContactsContent,
    InteractiveContent,
    LocationContent,
    MediaContent,
    ReplyContent,
    TemplateContent,
    TextContent,
)

OAS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "business-messaging-api_v23.0.yaml"
WAMID = "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
QUOTED = {"from": "15550783881", "id": "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBJFNjk2OTMwNEZCQjhGMzUyQUYA"}
PERSON = "16505551234"
WEBHOOK_SCHEMAS = {
    "text": "TextMessage_2",
    "reaction": "ReactionMessage_1",
    "audio": "AudioMessage_1",
    "document": "DocumentMessage_1",
    "image": "ImageMessage_1",
    "sticker": "StickerMessage_1",
    "video": "VideoMessage_1",
    "location": "LocationMessage_1",
    "contacts": "ContactSharingMessage",
    "unsupported": "UnsupportedMessage",
    "button": "ButtonMessage",
    "interactive": "InteractiveMessageReply",
}


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(OAS.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return loaded


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource("urn:oas", Resource(contents=spec(), specification=DRAFT202012))
    return Draft202012Validator(schema, registry=registry)


def check(schema: dict[str, Any], instance: Any) -> None:
    errors = sorted(validator(schema).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors)


def rebased(schema: Any) -> Any:
    """The schema with its `#/components/...` references pointing into the loaded spec."""
    if isinstance(schema, dict):
        return {k: ("urn:oas" + v if k == "$ref" else rebased(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [rebased(v) for v in schema]
    return schema


def check_webhook_item(item: dict[str, Any]) -> None:
    schemas = spec()["components"]["schemas"]
    name = WEBHOOK_SCHEMAS[item["type"]]
    specific = dict(schemas[name]["allOf"][1])
    if name == "UnsupportedMessage":
        specific["properties"] = specific["properties"] | {
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ErrorObject_2"}}
        }
    check(rebased({"allOf": [{"$ref": "#/components/schemas/BaseMessageProperties_1"}, specific]}), item)
    if name == "InteractiveMessageReply":
        variant = {"list_reply": "InteractiveListReplyContent", "button_reply": "InteractiveButtonReplyContent"}
        check({"$ref": f"urn:oas#/components/schemas/{variant[item['interactive']['type']]}"}, item["interactive"])


def item_for(type_: str, content: AnyContent, **extra: Any) -> dict[str, Any]:
    return webhook_message(WAMID, PERSON, 1_750_091_045, type_, content, extra.pop("context", None), None, **extra)


SHA = "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI="


def media(mime: str, **fields: Any) -> MediaContent:
    return MediaContent(media_id=1003383421387256, mime_type=mime, size=2048, **fields)


ITEMS: dict[str, dict[str, Any]] = {
    "text": item_for("text", TextContent(body="Does it come in another color?")),
    "image": item_for("image", media("image/jpeg", caption="Taj Mahal"), sha256=SHA),
    "video": item_for("video", media("video/mp4"), sha256=SHA),
    "audio voice note": item_for("audio", media("audio/ogg"), sha256=SHA, voice=True),
    "document": item_for("document", media("application/pdf", filename="receipt.pdf", caption="Bill"), sha256=SHA),
    "sticker": item_for("sticker", media("image/webp"), sha256=SHA, animated=False),
    "location": item_for(
        "location", LocationContent(latitude=37.44, longitude=-122.16, name="Philz Coffee", address="101 Forest Ave")
    ),
    "pin without a name": item_for("location", LocationContent(latitude=1.5, longitude=2.5)),
    "contacts": item_for(
        "contacts",
        ContactsContent(
            contacts=[
                {
                    "name": {"formatted_name": "Lucía Gómez", "first_name": "Lucía"},
                    "phones": [{"phone": "+1 (983) 555-2319", "wa_id": "19835552319", "type": "WORK"}],
                }
            ]
        ),
    ),
    "template quick reply": item_for(
        "reply", ReplyContent(reply_type="button", id="STOP", title="Stop updates"), context=QUOTED
    ),
    "reply button": item_for("reply", ReplyContent(reply_type="button_reply", id="yes", title="Yes"), context=QUOTED),
    "list row": item_for(
        "reply",
        ReplyContent(reply_type="list_reply", id="priority_express", title="Express", description="Next day"),
        context=QUOTED,
    ),
    "list row without description": item_for(
        "reply", ReplyContent(reply_type="list_reply", id="std", title="Standard"), context=QUOTED
    ),
    "reaction": webhook_reaction(WAMID, PERSON, 1_750_091_045, QUOTED["id"], "👍"),
    "reaction removed": webhook_reaction(WAMID, PERSON, 1_750_091_045, QUOTED["id"], ""),
    "something a person cannot send": item_for("template", TemplateContent(name="t", language="en", body="b")),
}


@pytest.mark.parametrize("name", sorted(ITEMS))
def test_items_validate_against_metas_webhook_schemas(name: str) -> None:
    check_webhook_item(ITEMS[name])


def test_the_common_fields_are_as_meta_sends_them() -> None:
    item = ITEMS["text"]
    assert item == {
        "from": PERSON,
        "id": WAMID,
        "timestamp": "1750091045",  # unix seconds, as a string
        "type": "text",
        "text": {"body": "Does it come in another color?"},
    }


def test_media_items() -> None:
    assert ITEMS["image"]["image"] == {
        "id": "1003383421387256",
        "mime_type": "image/jpeg",
        "sha256": SHA,
        "caption": "Taj Mahal",
    }
    assert ITEMS["document"]["document"]["filename"] == "receipt.pdf"
    assert ITEMS["audio voice note"]["audio"]["voice"] is True
    assert ITEMS["sticker"]["sticker"]["animated"] is False
    assert "caption" not in ITEMS["video"]["video"]


def test_taps_name_the_button_and_quote_the_message() -> None:
    assert ITEMS["template quick reply"]["type"] == "button"
    assert ITEMS["template quick reply"]["button"] == {"payload": "STOP", "text": "Stop updates"}
    assert ITEMS["template quick reply"]["context"] == QUOTED
    assert ITEMS["reply button"]["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "yes", "title": "Yes"},
    }
    assert ITEMS["list row"]["interactive"]["list_reply"] == {
        "id": "priority_express",
        "title": "Express",
        "description": "Next day",
    }


def test_reactions() -> None:
    assert ITEMS["reaction"]["reaction"] == {"message_id": QUOTED["id"], "emoji": "👍"}
    assert ITEMS["reaction removed"]["reaction"]["emoji"] == ""


def test_a_referral_rides_along() -> None:
    referral = {
        "source_url": "https://fb.me/3cr4Wqqkv",
        "source_id": "120226305854810726",
        "source_type": "ad",
        "body": "Summer Succulents are here!",
        "headline": "Chat with us",
        "media_type": "image",
        "image_url": "https://example.com/ad.jpg",
        "ctwa_clid": "Aff-n8ZTODiE79d22KtAwQKj9e",
        "welcome_message": {"text": "Hi there!"},
    }
    item = webhook_message(WAMID, PERSON, 1, "text", TextContent(body="Hi"), None, referral)
    assert item["referral"] == referral
    check_webhook_item(item)


def test_what_a_person_cannot_send_is_unsupported() -> None:
    interactive = InteractiveContent(type="button", body="x", action={"buttons": []})
    item = webhook_message(WAMID, PERSON, 1, "interactive", interactive, None, None)
    assert item["type"] == "unsupported"
    assert item["errors"][0]["code"] == 131051
    check_webhook_item(item)
