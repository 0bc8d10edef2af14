"""Every request example Meta publishes for `POST /{Version}/{Phone-Number-ID}/messages` (its OpenAPI file,
`business-messaging-api_v23.0.yaml`), sent to a real `parley serve`.

Placeholders become real things first: the recipient is a person who just wrote to the business, media ids
are media uploaded to the number, links point at a loopback server holding real files of the right type,
message ids are wamids of the person's messages, template names are templates created (in the shape the
example sends) and approved beforehand, flow ids are any id, catalog ids are the business's catalog (holding every
product the examples name), and an `order_status` follows an `order_details` with its reference id (Meta refuses
both otherwise). Text placeholders such as
`<BUTTON_TEXT>` are left as they are: they are valid text.

Each example must be accepted (200, a body valid against Meta's `MessageResponsePayload`) unless it is one
of the types Parley does not support, listed in UNSUPPORTED: those must be refused with a 4xx Graph error
whose message says why.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from tests.e2e.conftest import ServerProcess
from tests.e2e.graph_clients import (
    API_VERSION,
    Business,
    FileServer,
    Person,
    WebhookSink,
    create_business,
    message_webhook,
    mp4_bytes,
    ogg_opus_bytes,
    pdf_bytes,
    png_bytes,
    start_parley,
    wait_until,
    webp_bytes,
)

pytestmark = pytest.mark.e2e

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "reference" / "business-messaging-api_v23.0.yaml"
MESSAGES_PATH = "/{Version}/{Phone-Number-ID}/messages"

if not SPEC_PATH.exists():
    pytest.skip(f"Meta's OpenAPI file is not at {SPEC_PATH} (../shared/reference/)", allow_module_level=True)

SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
EXAMPLES: dict[str, Any] = {
    name: example["value"]
    for name, example in SPEC["paths"][MESSAGES_PATH]["post"]["requestBody"]["content"]["application/json"][
        "examples"
    ].items()
}

# Examples Parley refuses on purpose, with words the refusal's message must contain.
UNSUPPORTED: dict[str, str] = {
    # Meta's sample answers a QUICK_REPLY button with `{"type": "text", "text": true}`; a quick reply takes a
    # `payload` parameter (Meta's own reference for button parameters, and every other example here).
    "Send Sample Issue Resolution Template": "expects a payload parameter",
}

MEDIA_FILES = {
    "image": ("photo.png", png_bytes(8, 8, (250, 180, 20)), "image/png"),
    "audio": ("voice.ogg", ogg_opus_bytes(), "audio/ogg"),
    "video": ("clip.mp4", mp4_bytes(), "video/mp4"),
    "document": ("terms.pdf", pdf_bytes("Terms"), "application/pdf"),
    "sticker": ("sticker.webp", webp_bytes(), "image/webp"),
}
PLACEHOLDER = re.compile(r"^(<[^>]*>|\{\{[^}]*\}\}|.*http\(s\)://.*|language-and-locale-code)$")


def _is_placeholder(value: object) -> bool:
    return isinstance(value, str) and PLACEHOLDER.match(value) is not None


def _slug(name: str) -> str:
    return "ex_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


# --- templates in the shape each template example sends -------------------------------------------------------


def template_name(example_name: str, body: dict[str, Any]) -> str:
    name = str(body["template"]["name"])
    return name if re.fullmatch(r"[a-z0-9_]+", name) else _slug(example_name)


def template_language(body: dict[str, Any]) -> str:
    code = body["template"]["language"]["code"]
    return "en_US" if _is_placeholder(code) else str(code)


def template_definition(example_name: str, body: dict[str, Any]) -> dict[str, Any]:
    """A template that the example's `template.components` fill exactly."""
    sent = body["template"].get("components", [])
    components: list[dict[str, Any]] = []
    category = "UTILITY"
    for component in sent:
        if component["type"] == "header":
            kind = component["parameters"][0]["type"]
            if kind == "text":
                components.append(
                    {"type": "HEADER", "format": "TEXT", "text": "News {{1}}", "example": {"header_text": ["today"]}}
                )
            else:
                components.append(
                    {"type": "HEADER", "format": kind.upper(), "example": {"header_handle": ["4::aGVhZGVy:ARb"]}}
                )
    body_params = next((c["parameters"] for c in sent if c["type"] == "body"), [])
    text = "Dear customer, here are the details:" + "".join(
        f" part {i} is {{{{{i}}}}}" for i in range(1, len(body_params) + 1)
    )
    components.append(
        {"type": "BODY", "text": text + " and thanks."}
        | ({"example": {"body_text": [["sample"] * len(body_params)]}} if body_params else {})
    )
    buttons = []
    for component in sorted((c for c in sent if c["type"] == "button"), key=lambda c: int(c["index"])):
        sub_type = str(component["sub_type"]).lower()
        if sub_type == "quick_reply":
            buttons.append({"type": "QUICK_REPLY", "text": f"Option {component['index']}"})
        elif sub_type == "catalog":
            buttons.append({"type": "CATALOG", "text": "View catalog"})
            category = "MARKETING"
        elif sub_type == "flow":
            buttons.append({"type": "FLOW", "text": "Open the form", "flow_id": "1234567890"})
        elif sub_type == "url":
            buttons.append(
                {
                    "type": "URL",
                    "text": "Open",
                    "url": "https://example.com/{{1}}",
                    "example": ["https://example.com/a"],
                }
            )
        elif sub_type == "copy_code":
            buttons.append({"type": "COPY_CODE", "example": "CODE1"})
        else:
            raise AssertionError(f"{example_name}: no template button for sub_type {sub_type}")
    if buttons:
        components.append({"type": "BUTTONS", "buttons": buttons})
    return {
        "name": template_name(example_name, body),
        "language": template_language(body),
        "category": category,
        "components": components,
    }


# --- the world the examples are sent into ---------------------------------------------------------------------


class World:
    def __init__(self, server: ServerProcess, business: Business, files: FileServer, sink: WebhookSink) -> None:
        self.server, self.business, self.files, self.sink = server, business, files, sink
        self.http = httpx.Client(base_url=f"{server.base_url}/v{API_VERSION}", headers=business.headers, timeout=30)
        self.people: list[Person] = []
        self.wamids: dict[str, str] = {}  # person's phone -> wamid of their latest message to the business
        self.media_ids: dict[str, str] = {}
        self.catalog_id = ""

    def person_for(self, index: int) -> Person:
        # Spread the sends over people: one person takes at most 45 messages per 6 s from a business.
        return self.people[index % len(self.people)]

    def substitute(self, example_name: str, body: dict[str, Any], person: Person) -> dict[str, Any]:
        def walk(value: Any, path: tuple[str | int, ...]) -> Any:
            if isinstance(value, dict):
                return {k: walk(v, (*path, k)) for k, v in value.items()}
            if isinstance(value, list):
                return [walk(v, (*path, i)) for i, v in enumerate(value)]
            key = path[-1] if path else None
            parent = path[-2] if len(path) > 1 else None
            if path == ("to",):
                return person.wa_id
            if key == "link" and parent in MEDIA_FILES:
                return self.files.url(MEDIA_FILES[str(parent)][0])
            if key == "id" and parent in MEDIA_FILES:
                return self.media_ids[str(parent)]
            if key == "message_id":
                return self.wamids[person.phone]
            if key == "catalog_id":
                return self.catalog_id
            if key == "flow_id":
                return "1234567890"
            if key == "flow_name":
                return "signup_flow"
            if path == ("template", "name"):
                return template_name(example_name, body)
            if path == ("template", "language", "code"):
                return template_language(body)
            if key == "type" and parent == "header" and _is_placeholder(value):
                return "text"
            return value

        return dict(walk(copy.deepcopy(body), ()))


def _upload(http: httpx.Client, phone_number_id: str, kind: str) -> str:
    filename, data, mime = MEDIA_FILES[kind]
    response = http.post(
        f"/{phone_number_id}/media",
        data={"messaging_product": "whatsapp", "type": mime},
        files={"file": (filename, data, mime)},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def _retailer_ids(value: Any) -> Iterator[str]:
    """Every product retailer id an example names (product, product list, catalog thumbnail)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ("product_retailer_id", "thumbnail_product_retailer_id") and isinstance(inner, str):
                yield inner
            else:
                yield from _retailer_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _retailer_ids(inner)


def _create_catalog(world: World) -> None:
    """The business's catalog, holding every product Meta's examples send."""
    created = world.http.post(f"/{world.business.waba_id}/product_catalogs", json={"name": "Examples"})
    assert created.status_code == 200, created.text
    world.catalog_id = str(created.json()["id"])
    skus = sorted(set(_retailer_ids(EXAMPLES)))
    requests = [{"method": "CREATE", "data": {"id": sku, "title": f"Item {sku}", "price": "10 USD"}} for sku in skus]
    batch = world.http.post(
        f"/{world.catalog_id}/items_batch", json={"item_type": "PRODUCT_ITEM", "requests": requests}
    )
    assert batch.status_code == 200 and not any(v.get("errors") for v in batch.json()["validation_status"]), batch.text


def _create_templates(world: World) -> None:
    wanted = {}
    for name, body in EXAMPLES.items():
        if body.get("type") == "template":
            definition = template_definition(name, body)
            wanted[(definition["name"], definition["language"])] = definition
    created = []
    for definition in wanted.values():
        response = world.http.post(f"/{world.business.waba_id}/message_templates", json=definition)
        assert response.status_code == 200, f"{definition}: {response.text}"
        created.append((definition["name"], str(response.json()["id"])))

    def all_approved() -> bool:
        for name, template_id in created:
            status = world.http.get(f"/{template_id}", params={"fields": "status"}).json().get("status")
            assert status in ("PENDING", "APPROVED"), f"template {name} was {status}"
            if status != "APPROVED":
                return False
        return True

    wait_until(all_approved, 20, "every example template to be approved")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    server = start_parley(tmp_path_factory.mktemp("meta") / "var")
    files = FileServer({name: (data, mime) for name, data, mime in MEDIA_FILES.values()}).start()
    sink = WebhookSink("meta-verify", "meta-app-secret").start()
    try:
        business = create_business(
            server,
            "Meta Examples Inc",
            "+14155550400",
            webhook_url=sink.url,
            verify_token="meta-verify",
            app_secret="meta-app-secret",
        )
        world = World(server, business, files, sink)
        for i, name in enumerate(("Ana", "Ben", "Cleo")):
            person = Person(server, f"+1415555041{i}", name)
            person.write(business.phone, f"Hello from {name}")
            delivery = sink.wait_for(
                lambda d, p=person: message_webhook("text")(d) and d.value["messages"][0]["from"] == p.wa_id,
                what=f"{name}'s message at the business",
            )
            world.wamids[person.phone] = delivery.value["messages"][0]["id"]
            world.people.append(person)
        world.media_ids = {kind: _upload(world.http, business.phone_number_id, kind) for kind in MEDIA_FILES}
        _create_catalog(world)
        _create_templates(world)
        yield world
    finally:
        sink.stop()
        files.stop()
        server.stop()


RESPONSE_SCHEMA = {"$ref": "#/components/schemas/MessageResponsePayload", "components": SPEC["components"]}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_meta_example(world: World, name: str) -> None:
    person = world.person_for(sorted(EXAMPLES).index(name))
    body = world.substitute(name, EXAMPLES[name], person)
    if body.get("interactive", {}).get("type") == "order_status":
        # The order it updates goes first. Meta's placeholder reference id is longer than the 35 characters an
        # Indian order_details allows (Meta's own rule), so both use a real one.
        body["interactive"]["action"]["parameters"]["reference_id"] = "example-order-1"
        order = world.substitute(name, EXAMPLES["Send Order Details Message"], person)
        order["interactive"]["action"]["parameters"]["reference_id"] = "example-order-1"
        sent = world.http.post(f"/{world.business.phone_number_id}/messages", json=order)
        assert sent.status_code == 200, sent.text
    before = len(person.messages_with(world.business.phone))
    response = world.http.post(f"/{world.business.phone_number_id}/messages", json=body)
    answer = response.json()

    if name in UNSUPPORTED:
        assert 400 <= response.status_code < 500, f"{name} should be refused: {response.text}"
        error = answer["error"]
        assert {"message", "type", "code", "error_data", "fbtrace_id"} <= set(error), answer
        assert UNSUPPORTED[name] in json.dumps(error), answer
        return

    assert response.status_code == 200, f"{name}\n{json.dumps(body)}\n-> {response.text}"
    jsonschema.validate(answer, RESPONSE_SCHEMA)
    if body.get("status") == "read":
        assert answer == {"success": True}
        return
    assert answer["messaging_product"] == "whatsapp"
    [contact] = answer["contacts"]
    assert contact["wa_id"] == person.wa_id
    [message] = answer["messages"]
    assert message["id"].startswith("wamid.")
    if body.get("type") == "reaction":
        return
    # The business is told it went out, and the person has one more message from it.
    world.sink.wait_for(message_webhook("status", message["id"], "sent"), what=f"the sent status of {name}")
    wait_until(lambda: len(person.messages_with(world.business.phone)) > before, what=f"{name} in the person's chat")
    latest = person.messages_with(world.business.phone)[-1]
    # Two examples leave out `type`; like Meta, Parley takes it from the content object that is there.
    content_keys = [k for k in ("interactive", "template", "text") if k in body]
    assert latest["type"] == (body.get("type") or content_keys[0]), latest
    if body.get("type") == "template":
        rendered = json.dumps(latest["business"]["template"], ensure_ascii=False)
        for component in body["template"].get("components", []):
            for parameter in component.get("parameters", []) if component["type"] == "body" else []:
                value = parameter.get("text") or parameter.get(parameter["type"], {}).get("fallback_value")
                assert str(value) in rendered, (value, rendered)


@pytest.mark.parametrize("given_as", ["link", "id"])
def test_template_header_media_reaches_the_person(world: World, given_as: str) -> None:
    person = world.people[1]
    body = world.substitute("Send Message Template Media", EXAMPLES["Send Message Template Media"], person)
    header = next(c for c in body["template"]["components"] if c["type"] == "header")
    header["parameters"][0]["image"] = (
        {"link": world.files.url("photo.png")} if given_as == "link" else {"id": world.media_ids["image"]}
    )
    before = len(person.messages_with(world.business.phone))
    response = world.http.post(f"/{world.business.phone_number_id}/messages", json=body)
    assert response.status_code == 200, response.text
    wait_until(lambda: len(person.messages_with(world.business.phone)) > before, what="the template")
    media = person.messages_with(world.business.phone)[-1]["business"]["template"]["header"]["media"]
    assert set(media) >= {"id", "mime_type"} and "link" not in media, media
    download = person.http.get(f"/media/{media['id']}")
    assert download.status_code == 200 and download.content == MEDIA_FILES["image"][1]


WEBHOOK_SCHEMA = {"$ref": "#/components/schemas/WebhookPayload", "components": SPEC["components"]}
WEBHOOK_EXAMPLES = {
    name: example["value"]
    for name, example in SPEC["paths"]["/whatsapp/webhooks"]["post"]["requestBody"]["content"]["application/json"][
        "examples"
    ].items()
}


def test_delivered_status_webhooks_match_metas_schema(world: World) -> None:
    """Every status webhook Parley delivered in this module (the examples' `sent` statuses) validates against
    Meta's `WebhookPayload` (the schema of its `POST /whatsapp/webhooks`)."""
    statuses = [d for d in world.sink.received() if d.field == "messages" and "statuses" in d.value]
    assert statuses
    problems = []
    for delivery in statuses:
        try:
            jsonschema.validate(delivery.json, WEBHOOK_SCHEMA)
        except jsonschema.ValidationError as error:
            problems.append(f"{error.message} at {list(error.absolute_path)} in {delivery.body.decode()[:400]}")
    assert not problems, "\n".join(problems[:5])


def test_delivered_inbound_webhooks_have_the_shape_of_metas_example(world: World) -> None:
    """Meta's schema for inbound messages cannot be used (it reuses the send schemas: even Meta's own 16 webhook
    examples fail it), so a person's text message is compared with Meta's "Text Message" example instead."""
    [meta] = [change["value"] for entry in WEBHOOK_EXAMPLES["Text Message"]["entry"] for change in entry["changes"]]
    inbound = [d.value for d in world.sink.received() if message_webhook("text")(d)]
    assert inbound
    for value in inbound:
        assert set(value) == set(meta)
        assert set(value["metadata"]) == set(meta["metadata"])
        assert set(value["contacts"][0]) >= set(meta["contacts"][0]) and set(value["contacts"][0]["profile"]) >= {
            "name"
        }
        assert set(value["messages"][0]) == set(meta["messages"][0])
        assert isinstance(value["messages"][0]["timestamp"], str) and value["messages"][0]["timestamp"].isdigit()
