"""The `/messages` send body: every type Meta documents parses, every broken rule gets Meta's error code."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from parley.business.outbound import (
    MarkReadRequest,
    OutboundRequest,
    ResolvedMedia,
    content_for,
    media_id,
    media_link,
    parse_send_request,
)
from parley.graph import GraphError
from parley.messaging.content import (
    ContactsContent,
    InteractiveContent,
    LocationContent,
    MediaContent,
    TemplateContent,
    TextContent,
)

OAS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "business-messaging-api_v23.0.yaml"
TO = "16505551234"


@cache
def oas_examples() -> dict[str, Any]:
    spec = yaml.load(OAS.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    body = spec["paths"]["/{Version}/{Phone-Number-ID}/messages"]["post"]["requestBody"]
    examples: dict[str, Any] = body["content"]["application/json"]["examples"]
    return {name: example["value"] for name, example in examples.items()}


# Placeholders in Meta's examples, and real-looking values for them.
PLACEHOLDERS: list[tuple[str, str]] = [
    (r"\{\{Recipient-(WA-)?Phone-Number\}\}", TO),
    (r"\{\{Flow-ID\}\}", "1234567890123456"),
    (r"\{\{Flow-Name\}\}", "appointment_booking"),
    (r"<(AUDIO|IMAGE|VIDEO|DOCUMENT|MEDIA)_OBJECT_ID>", "1003383421387256"),
    (r"<MSGID_OF_[A-Z_]+>", "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"),
    (r"<HEADER_TYPE>", "text"),
    (r"<http\(s\)://([a-z-]+)>", r"https://example.com/\1"),
    (r"http\(s\)://", "https://"),
    (r"<([A-Z0-9_]+)>", lambda m: m.group(1).lower()[:20]),  # any other <TEXT>: a word
]


def substitute(value: Any) -> Any:
    if isinstance(value, dict):
        return {substitute(k): substitute(v) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v) for v in value]
    if isinstance(value, str):
        for pattern, replacement in PLACEHOLDERS:
            value = re.sub(pattern, replacement, value)
        return value
    return value


@pytest.mark.parametrize("name", sorted(oas_examples()))
def test_every_oas_request_example_parses(name: str) -> None:
    body = substitute(copy.deepcopy(oas_examples()[name]))
    parsed = parse_send_request(body)
    if "status" in body:
        assert isinstance(parsed, MarkReadRequest)
        assert parsed.message_id == body["message_id"]
        assert parsed.typing_indicator == {"type": "text"}
        return
    assert isinstance(parsed, OutboundRequest)
    assert parsed.to == body["to"]
    expected_type = body.get("type") or next(t for t in ("interactive", "text") if t in body)
    assert parsed.type == expected_type
    assert getattr(parsed, parsed.type) is not None
    if "context" in body:
        assert parsed.context_message_id == body["context"]["message_id"]


def test_the_examples_cover_every_message_type() -> None:
    types = {
        parsed.type
        for body in oas_examples().values()
        if isinstance(parsed := parse_send_request(substitute(copy.deepcopy(body))), OutboundRequest)
    }
    assert types == {
        "text",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "reaction",
        "interactive",
        "template",
    }


def pywa_payloads() -> list[dict[str, Any]]:
    """What pywa (the Cloud API client most people use) puts on the wire for each kind of send."""
    pywa = pytest.importorskip("pywa")
    from pywa.types import Button, Contact, FlowButton, Section, SectionList, SectionRow, URLButton
    from pywa.types import templates as t

    sent: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        contact = {"input": TO, "wa_id": TO}
        reply = {
            "messaging_product": "whatsapp",
            "contacts": [contact],
            "messages": [{"id": "wamid.X"}],
            "success": True,
        }
        return httpx.Response(200, json=reply)

    wa = pywa.WhatsApp(phone_id="123", token="t", session=httpx.Client(transport=httpx.MockTransport(answer)))
    sends: list[Callable[[], object]] = [
        lambda: wa.send_message(TO, "hi", preview_url=True, reply_to_message_id="wamid.abc", tracker="order-7"),
        lambda: wa.send_message(TO, "pick", header="H", footer="F", buttons=[Button("Yes", "y"), Button("No", "n")]),
        lambda: wa.send_message(TO, "see", buttons=URLButton("Open", "https://example.com")),
        lambda: wa.send_message(
            TO, "menu", buttons=SectionList("Menu", [Section("Mains", [SectionRow("Soup", "soup", "hot")])])
        ),
        lambda: wa.send_message(TO, "form", buttons=FlowButton("Open", flow_id="123", flow_message_version="3")),
        lambda: wa.send_image(TO, "https://example.com/a.jpg", caption="cap"),
        lambda: wa.send_image(TO, "1234567890", caption="cap", buttons=[Button("Yes", "y")]),
        lambda: wa.send_document(TO, "https://example.com/a.pdf", filename="a.pdf", caption="c"),
        lambda: wa.send_voice(TO, "https://example.com/a.ogg"),
        lambda: wa.send_sticker(TO, "https://example.com/a.webp"),
        lambda: wa.send_reaction(TO, "👍", "wamid.abc"),
        lambda: wa.remove_reaction(TO, "wamid.abc"),
        lambda: wa.send_location(TO, 1.5, 2.5, name="n", address="a"),
        lambda: wa.request_location(TO, "where are you?"),
        lambda: wa.send_contact(TO, Contact(name=Contact.Name(formatted_name="A B", first_name="A"))),
        lambda: wa.send_catalog(TO, "body", thumbnail_product_sku="SKU"),
        lambda: wa.send_product(TO, "CAT", "SKU", body="b"),
        lambda: wa.mark_message_as_read("wamid.abc"),
        lambda: wa.indicate_typing("wamid.abc"),
        lambda: wa.send_template(
            TO,
            "order_update",
            t.TemplateLanguage.ENGLISH_US,
            params=[
                t.HeaderImage.params(image="https://example.com/h.jpg"),
                t.BodyText.params("Mark", "x"),
                t.QuickReplyButton.params(callback_data="STOP", index=0),
                t.URLButton.params(url_variable="order/1", index=1),
                t.CopyCodeButton.params(coupon_code="25OFF", index=2),
            ],
        ),
        lambda: wa.send_template(TO, "named", t.TemplateLanguage.ENGLISH_US, params=[t.BodyText.params(name="Mark")]),
    ]
    for send in sends:
        send()
    return sent


def test_what_pywa_sends_parses() -> None:
    payloads = pywa_payloads()
    assert len(payloads) == 21
    for body in payloads:
        parse_send_request(body)  # raises GraphError with the reason if pywa's shape were refused


# --- every type, valid ------------------------------------------------------------------------------


def send(kind: str, payload: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": TO, "type": kind, kind: payload}


def buttons(*titles: str) -> dict[str, Any]:
    return {
        "type": "button",
        "body": {"text": "Pick one"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": f"id-{t}", "title": t}} for t in titles]},
    }


def a_list(rows_per_section: list[int], **row: Any) -> dict[str, Any]:
    sections = [
        {"title": f"S{s}", "rows": [{"id": f"r{s}-{i}", "title": f"Row {i}", **row} for i in range(n)]}
        for s, n in enumerate(rows_per_section)
    ]
    return {"type": "list", "body": {"text": "Choose"}, "action": {"button": "Options", "sections": sections}}


def flow(**parameters: Any) -> dict[str, Any]:
    base = {"flow_message_version": "3", "flow_id": "123", "flow_cta": "Book"}
    action = {"name": "flow", "parameters": {**base, **parameters}}
    return {"type": "flow", "body": {"text": "Book a table"}, "action": action}


def products(items_per_section: list[int]) -> dict[str, Any]:
    sections = [
        {"title": f"S{s}", "product_items": [{"product_retailer_id": f"sku-{s}-{i}"} for i in range(n)]}
        for s, n in enumerate(items_per_section)
    ]
    return {
        "type": "product_list",
        "header": {"type": "text", "text": "Our picks"},
        "body": {"text": "Have a look"},
        "action": {"catalog_id": "146265584024623", "sections": sections},
    }


def template(*components: dict[str, Any]) -> dict[str, Any]:
    return {"name": "order_update", "language": {"code": "en_US"}, "components": list(components)}


VALID: dict[str, dict[str, Any]] = {
    "text": send("text", {"body": "Hello", "preview_url": True}),
    "image by id": send("image", {"id": "1003383421387256", "caption": "Look"}),
    "image by link": send("image", {"link": "https://example.com/a.jpg"}),
    "audio voice": send("audio", {"id": "1003383421387256", "voice": True}),
    "video": send("video", {"link": "https://example.com/a.mp4", "caption": "Watch"}),
    "document": send("document", {"link": "https://example.com/a.pdf", "filename": "a.pdf", "caption": "Bill"}),
    "sticker": send("sticker", {"id": "1003383421387256"}),
    "location": send("location", {"latitude": 37.758056, "longitude": -122.425332, "name": "HQ", "address": "1 Way"}),
    "location as strings": send("location", {"latitude": "37.75", "longitude": "-122.42"}),
    "contacts": send("contacts", [{"name": {"formatted_name": "John Smith"}, "phones": [{"phone": "+1 650"}]}]),
    "reaction": send("reaction", {"message_id": "wamid.abc", "emoji": "😀"}),
    "reaction removed": send("reaction", {"message_id": "wamid.abc", "emoji": ""}),
    "three buttons": send("interactive", buttons("Yes", "No", "Maybe")),
    "list of ten rows": send("interactive", a_list([4, 6], description="x" * 72)),
    "cta_url": send(
        "interactive",
        {
            "type": "cta_url",
            "body": {"text": "See dates"},
            "action": {"name": "cta_url", "parameters": {"display_text": "Open", "url": "https://example.com"}},
        },
    ),
    "product": send("interactive", {"type": "product", "action": {"catalog_id": "1", "product_retailer_id": "SKU"}}),
    "product_list of thirty": send("interactive", products([10, 10, 10])),
    "flow by name, draft": send("interactive", flow(flow_id=None, flow_name="booking", mode="draft")),
    "flow data_exchange": send("interactive", flow(flow_action="data_exchange")),
    "media header": send(
        "interactive", {**buttons("Yes"), "header": {"type": "image", "image": {"id": "1003383421387256"}}}
    ),
    "template positional": send(
        "template",
        template(
            {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/h.jpg"}}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Mark"}]},
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "0",
                "parameters": [{"type": "payload", "payload": "S"}],
            },
        ),
    ),
    "template named": send(
        "template",
        template({"type": "BODY", "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Mark"}]}),
    ),
    "number as a JSON number": {"messaging_product": "whatsapp", "to": 16505551234, "text": {"body": "Hi"}},
    "bsuid recipient": {
        "messaging_product": "whatsapp",
        "recipient": "US.13491208655302741918",
        "type": "text",
        "text": {"body": "Hi"},
    },
    "envelope extras ignored": {
        **send("text", {"body": "Hi"}),
        "recipient_identity_key_hash": "abc",
        "biz_opaque_callback_data": "x" * 512,
        "context": {"message_id": "wamid.abc"},
    },
}
VALID["flow by name, draft"]["interactive"]["action"]["parameters"].pop("flow_id")


@pytest.mark.parametrize("name", sorted(VALID))
def test_every_type_parses(name: str) -> None:
    parsed = parse_send_request(copy.deepcopy(VALID[name]))
    assert isinstance(parsed, OutboundRequest)
    assert getattr(parsed, parsed.type) is not None


def test_parsed_values_are_typed_and_defaulted() -> None:
    parsed = parse_send_request(VALID["location as strings"])
    assert isinstance(parsed, OutboundRequest) and parsed.location is not None
    assert (parsed.location.latitude, parsed.location.longitude) == (37.75, -122.42)

    parsed = parse_send_request(VALID["flow data_exchange"])
    assert isinstance(parsed, OutboundRequest) and parsed.interactive is not None
    parameters = parsed.interactive.action.model_dump()["parameters"]
    assert (parameters["mode"], parameters["flow_token"]) == ("published", "unused")

    parsed = parse_send_request(VALID["template named"])
    assert isinstance(parsed, OutboundRequest) and parsed.template is not None
    assert parsed.template.language.policy == "deterministic"
    assert parsed.template.components_as_dicts() == [
        {"type": "body", "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Mark"}]}
    ]

    parsed = parse_send_request(VALID["template positional"])
    assert isinstance(parsed, OutboundRequest) and parsed.template is not None
    assert [b.index for b in parsed.template.buttons()] == [0]

    parsed = parse_send_request(VALID["envelope extras ignored"])
    assert isinstance(parsed, OutboundRequest)
    assert parsed.context_message_id == "wamid.abc" and parsed.biz_opaque_callback_data == "x" * 512


def test_media_to_resolve_is_named_for_the_send_path() -> None:
    by_id = parse_send_request(VALID["image by id"])
    by_link = parse_send_request(VALID["video"])
    header = parse_send_request(VALID["media header"])
    assert isinstance(by_id, OutboundRequest) and isinstance(by_link, OutboundRequest)
    assert isinstance(header, OutboundRequest)
    assert (media_id(by_id), media_link(by_id), by_id.media_kind) == (1003383421387256, None, "image")
    assert (media_id(by_link), media_link(by_link), by_link.media_kind) == (None, "https://example.com/a.mp4", "video")
    assert (media_id(header), header.media_kind) == (1003383421387256, "image")
    odd = parse_send_request(send("image", {"id": "not-a-number"}))
    assert isinstance(odd, OutboundRequest)
    with pytest.raises(GraphError) as caught:
        media_id(odd)
    assert caught.value.code == 100


def test_mark_as_read() -> None:
    plain = parse_send_request({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.abc"})
    assert plain == MarkReadRequest(message_id="wamid.abc", typing_indicator=None)


# --- every rule, broken -------------------------------------------------------------------------------


def with_change(name: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = copy.deepcopy(VALID[name])
    change(body)
    return body


BROKEN: list[tuple[str, Any, int, str]] = [
    ("not an object", [], 100, "JSON object"),
    (
        "no messaging_product",
        {k: v for k, v in VALID["text"].items() if k != "messaging_product"},
        131008,
        "messaging_product",
    ),
    ("wrong messaging_product", {**VALID["text"], "messaging_product": "sms"}, 131009, "messaging_product"),
    ("group recipient", {**VALID["text"], "recipient_type": "group"}, 131009, "recipient_type"),
    ("no recipient", {k: v for k, v in VALID["text"].items() if k != "to"}, 131008, "to"),
    ("to and recipient", {**VALID["text"], "recipient": "US.1234"}, 100, "either to or recipient"),
    ("bad bsuid", {**VALID["bsuid recipient"], "recipient": "nobody"}, 131009, "recipient"),
    ("unknown type", {**VALID["text"], "type": "hologram", "hologram": {}}, 131051, "hologram"),
    ("inbound-only type", {**VALID["text"], "type": "order", "order": {}}, 131051, "order"),
    ("type is a number", {**VALID["text"], "type": 3}, 100, "type"),
    ("payload missing", {**VALID["text"], "type": "image"}, 131008, "image"),
    ("callback data too long", {**VALID["text"], "biz_opaque_callback_data": "x" * 513}, 131009, "512"),
    ("context without id", {**VALID["text"], "context": {}}, 131008, "context['message_id']"),
    ("text too long", send("text", {"body": "x" * 4097}), 131009, "text['body']"),
    ("text empty", send("text", {"body": ""}), 131009, "text['body']"),
    ("text not a string", send("text", {"body": 42}), 100, "text['body'] must be a string"),
    ("text unknown key", send("text", {"body": "hi", "bold": True}), 100, 'Unexpected key "bold" on param "text"'),
    ("preview_url as string", send("text", {"body": "hi", "preview_url": "yes"}), 100, "boolean"),
    ("media neither", send("image", {"caption": "x"}), 131008, "'id' or 'link'"),
    ("media both", send("image", {"id": "1", "link": "https://example.com/a.jpg"}), 131009, "not both"),
    ("media link not http", send("image", {"link": "file:///etc/passwd"}), 131009, "image['link']"),
    ("caption too long", send("image", {"id": "1", "caption": "x" * 1025}), 131009, "image['caption']"),
    ("caption on audio", send("audio", {"id": "1", "caption": "x"}), 100, '"caption" on param "audio"'),
    ("caption on sticker", send("sticker", {"id": "1", "caption": "x"}), 100, '"caption" on param "sticker"'),
    ("filename on image", send("image", {"id": "1", "filename": "a.jpg"}), 100, "filename"),
    ("latitude out of range", send("location", {"latitude": 91, "longitude": 0}), 131009, "location['latitude']"),
    ("longitude missing", send("location", {"latitude": 1}), 131008, "location['longitude']"),
    ("latitude not a number", send("location", {"latitude": "north", "longitude": 0}), 100, "number"),
    ("contacts empty", send("contacts", []), 131009, "contacts"),
    ("contact without name", send("contacts", [{"phones": []}]), 131008, "contacts[0]['name']"),
    (
        "contact bad birthday",
        send("contacts", [{"name": {"formatted_name": "A"}, "birthday": "18/08/2012"}]),
        131009,
        "birthday",
    ),
    ("reaction without message", send("reaction", {"emoji": "😀"}), 131008, "reaction['message_id']"),
    ("four buttons", send("interactive", buttons("A", "B", "C", "D")), 131009, "interactive['action']['buttons']"),
    ("no buttons", send("interactive", buttons()), 131009, "interactive['action']['buttons']"),
    ("button title too long", send("interactive", buttons("x" * 21)), 131009, "['reply']['title']"),
    (
        "button id too long",
        with_change("three buttons", lambda b: b["interactive"]["action"]["buttons"][0]["reply"].update(id="x" * 257)),
        131009,
        "['reply']['id']",
    ),
    ("duplicate button titles", send("interactive", buttons("Yes", "Yes")), 131009, "unique"),
    (
        "button type not reply",
        with_change("three buttons", lambda b: b["interactive"]["action"]["buttons"][0].update(type="url")),
        131009,
        "['buttons'][0]['type']",
    ),
    ("interactive without body", with_change("three buttons", lambda b: b["interactive"].pop("body")), 131008, "body"),
    (
        "body too long",
        with_change("three buttons", lambda b: b["interactive"].update(body={"text": "x" * 1025})),
        131009,
        "interactive['body']['text']",
    ),
    (
        "footer too long",
        with_change("three buttons", lambda b: b["interactive"].update(footer={"text": "x" * 61})),
        131009,
        "interactive['footer']['text']",
    ),
    (
        "header text too long",
        with_change("three buttons", lambda b: b["interactive"].update(header={"type": "text", "text": "x" * 61})),
        131009,
        "interactive['header']['text']",
    ),
    (
        "header without its media",
        with_change("three buttons", lambda b: b["interactive"].update(header={"type": "video"})),
        131008,
        "interactive['header']",
    ),
    (
        "interactive type unknown",
        send("interactive", {"type": "carousel_3d", "action": {}}),
        131009,
        "interactive['type']",
    ),
    (
        "interactive without action",
        send("interactive", {"type": "button", "body": {"text": "x"}}),
        131008,
        "interactive['action']",
    ),
    ("eleven rows", send("interactive", a_list([5, 6])), 131009, "at most 10 rows"),
    ("eleven sections", send("interactive", a_list([1] * 11)), 131009, "interactive['action']['sections']"),
    (
        "list button too long",
        with_change("list of ten rows", lambda b: b["interactive"]["action"].update(button="x" * 21)),
        131009,
        "['action']['button']",
    ),
    (
        "row id too long",
        with_change(
            "list of ten rows", lambda b: b["interactive"]["action"]["sections"][0]["rows"][0].update(id="x" * 201)
        ),
        131009,
        "['rows'][0]['id']",
    ),
    (
        "row title too long",
        with_change(
            "list of ten rows", lambda b: b["interactive"]["action"]["sections"][0]["rows"][0].update(title="x" * 25)
        ),
        131009,
        "['rows'][0]['title']",
    ),
    ("row description too long", send("interactive", a_list([1], description="x" * 73)), 131009, "['description']"),
    (
        "section title too long",
        with_change("list of ten rows", lambda b: b["interactive"]["action"]["sections"][0].update(title="x" * 25)),
        131009,
        "['sections'][0]['title']",
    ),
    (
        "untitled section among many",
        with_change("list of ten rows", lambda b: b["interactive"]["action"]["sections"][0].pop("title")),
        131008,
        "title",
    ),
    (
        "duplicate row ids",
        send(
            "interactive",
            {
                **a_list([1]),
                "action": {
                    "button": "B",
                    "sections": [{"rows": [{"id": "a", "title": "A"}, {"id": "a", "title": "B"}]}],
                },
            },
        ),
        131009,
        "unique",
    ),
    (
        "list with image header",
        with_change(
            "list of ten rows", lambda b: b["interactive"].update(header={"type": "image", "image": {"id": "1"}})
        ),
        131009,
        "header",
    ),
    (
        "cta display_text too long",
        with_change("cta_url", lambda b: b["interactive"]["action"]["parameters"].update(display_text="x" * 21)),
        131009,
        "display_text",
    ),
    (
        "cta url not http",
        with_change("cta_url", lambda b: b["interactive"]["action"]["parameters"].update(url="javascript:alert(1)")),
        131009,
        "['url']",
    ),
    (
        "product with header",
        with_change("product", lambda b: b["interactive"].update(header={"type": "text", "text": "H"})),
        131009,
        "header",
    ),
    (
        "product without sku",
        with_change("product", lambda b: b["interactive"]["action"].pop("product_retailer_id")),
        131008,
        "product_retailer_id",
    ),
    (
        "product_list without header",
        with_change("product_list of thirty", lambda b: b["interactive"].pop("header")),
        131008,
        "header",
    ),
    ("thirty-one products", send("interactive", products([10, 10, 11])), 131009, "at most 30 products"),
    ("eleven product sections", send("interactive", products([1] * 11)), 131009, "sections"),
    ("flow id and name", send("interactive", flow(flow_name="booking")), 131009, "flow_id' or 'flow_name', not both"),
    ("flow neither id nor name", send("interactive", flow(flow_id=None)), 131008, "flow_id"),
    ("flow cta too long", send("interactive", flow(flow_cta="x" * 31)), 131009, "flow_cta"),
    ("flow mode unknown", send("interactive", flow(mode="live")), 131009, "['mode']"),
    ("flow action unknown", send("interactive", flow(flow_action="jump")), 131009, "['flow_action']"),
    ("flow version", send("interactive", flow(flow_message_version="2")), 131009, "flow_message_version"),
    ("template without name", send("template", {"language": {"code": "en"}}), 131008, "template['name']"),
    ("template without language", send("template", {"name": "t"}), 131008, "template['language']"),
    (
        "template language policy",
        send("template", {"name": "t", "language": {"code": "en", "policy": "fallback"}}),
        131009,
        "policy",
    ),
    (
        "component type unknown",
        send("template", template({"type": "sidebar"})),
        131009,
        "template['components'][0]['type']",
    ),
    (
        "button component without index",
        send("template", template({"type": "button", "sub_type": "url", "parameters": []})),
        131008,
        "index",
    ),
    (
        "button component without sub_type",
        send("template", template({"type": "button", "index": 0})),
        131008,
        "sub_type",
    ),
    (
        "button index out of range",
        send("template", template({"type": "button", "sub_type": "url", "index": "12"})),
        131009,
        "index",
    ),
    (
        "parameter type unknown",
        send("template", template({"type": "body", "parameters": [{"type": "emoji"}]})),
        131009,
        "['parameters'][0]['type']",
    ),
    (
        "parameter without value",
        send("template", template({"type": "body", "parameters": [{"type": "currency"}]})),
        131008,
        "['parameters'][0]",
    ),
    (
        "parameter text not a string",
        send("template", template({"type": "body", "parameters": [{"type": "text", "text": 7}]})),
        100,
        "['parameters'][0]['text']",
    ),
    (
        "bad parameter_name",
        send(
            "template",
            template({"type": "body", "parameters": [{"type": "text", "text": "x", "parameter_name": "First Name"}]}),
        ),
        131009,
        "parameter_name",
    ),
    (
        "mixed named and positional",
        send(
            "template",
            template(
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "x", "parameter_name": "a"}, {"type": "text", "text": "y"}],
                }
            ),
        ),
        131009,
        "named or all positional",
    ),
    (
        "currency code",
        send(
            "template",
            template(
                {
                    "type": "body",
                    "parameters": [
                        {
                            "type": "currency",
                            "currency": {"fallback_value": "$1", "code": "DOLLARS", "amount_1000": 1000},
                        }
                    ],
                }
            ),
        ),
        131009,
        "['currency']['code']",
    ),
    ("mark read without message", {"messaging_product": "whatsapp", "status": "read"}, 131008, "message_id"),
    (
        "mark delivered",
        {"messaging_product": "whatsapp", "status": "delivered", "message_id": "wamid.x"},
        131009,
        "status",
    ),
    (
        "typing indicator kind",
        {"messaging_product": "whatsapp", "status": "read", "message_id": "w", "typing_indicator": {"type": "audio"}},
        131009,
        "typing_indicator",
    ),
]


@pytest.mark.parametrize(("name", "body", "code", "detail"), BROKEN, ids=[b[0] for b in BROKEN])
def test_each_broken_rule_gets_metas_code(name: str, body: Any, code: int, detail: str) -> None:
    with pytest.raises(GraphError) as caught:
        parse_send_request(body)
    assert caught.value.code == code, caught.value.details
    assert detail in caught.value.details
    assert caught.value.http_status == 400


def test_a_flow_payload_is_only_for_navigate() -> None:
    body = send("interactive", flow(flow_action="data_exchange", flow_action_payload={"screen": "A", "data": {"k": 1}}))
    with pytest.raises(GraphError) as caught:
        parse_send_request(body)
    assert caught.value.code == 131009


# --- stored content --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """What the templates domain hands the send path: the template filled in for this send."""

    header: dict[str, Any] | None = field(default_factory=lambda: {"format": "TEXT", "text": "Order 7"})
    body: str = "Hi Mark, your order shipped."
    footer: str | None = "Reply STOP to opt out"
    buttons: list[dict[str, Any]] = field(
        default_factory=lambda: [{"type": "QUICK_REPLY", "text": "Stop", "payload": "STOP"}]
    )
    category: str = "UTILITY"


def parsed(name: str) -> OutboundRequest:
    request = parse_send_request(copy.deepcopy(VALID[name]))
    assert isinstance(request, OutboundRequest)
    return request


def test_content_of_each_kind() -> None:
    stored = ResolvedMedia(media_id=77, mime_type="application/pdf", size=1234, filename="stored.pdf")
    assert content_for(parsed("text"), None, None) == TextContent(body="Hello")
    document = content_for(parsed("document"), stored, None)
    assert document == MediaContent(
        media_id=77, mime_type="application/pdf", size=1234, filename="a.pdf", caption="Bill"
    )
    image = content_for(parsed("image by id"), ResolvedMedia(5, "image/png", 10), None)
    assert image == MediaContent(media_id=5, mime_type="image/png", size=10, caption="Look")
    location = content_for(parsed("location"), None, None)
    assert location == LocationContent(latitude=37.758056, longitude=-122.425332, name="HQ", address="1 Way")
    contacts = content_for(parsed("contacts"), None, None)
    assert contacts == ContactsContent(
        contacts=[{"name": {"formatted_name": "John Smith"}, "phones": [{"phone": "+1 650"}]}]
    )

    buttons_content = content_for(parsed("three buttons"), None, None)
    assert isinstance(buttons_content, InteractiveContent)
    assert (buttons_content.type, buttons_content.body, buttons_content.header) == ("button", "Pick one", None)
    assert buttons_content.action["buttons"][2] == {"type": "reply", "reply": {"id": "id-Maybe", "title": "Maybe"}}

    header = content_for(parsed("media header"), ResolvedMedia(9, "image/jpeg", 99), None)
    assert isinstance(header, InteractiveContent)
    assert header.header == {
        "type": "image",
        "media": {"id": "9", "mime_type": "image/jpeg", "size": 99, "filename": None},
    }

    rendered = content_for(parsed("template positional"), None, Rendered())
    assert rendered == TemplateContent(
        name="order_update",
        language="en_US",
        category="UTILITY",
        header={"format": "TEXT", "text": "Order 7"},
        body="Hi Mark, your order shipped.",
        footer="Reply STOP to opt out",
        buttons=[{"type": "QUICK_REPLY", "text": "Stop", "payload": "STOP"}],
    )


def test_content_needs_what_was_resolved() -> None:
    with pytest.raises(ValueError):
        content_for(parsed("image by id"), None, None)
    with pytest.raises(ValueError):
        content_for(parsed("template named"), None, None)
    with pytest.raises(ValueError):
        content_for(parsed("reaction"), None, None)
