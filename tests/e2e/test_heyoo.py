"""heyoo, unchanged, against a real `parley serve`: every send call it has, its media calls, and its webhook
parsing helpers applied to bodies Parley actually delivered (signed) to a loopback receiver.

heyoo builds its URLs from `base_url` (v14.0), `v15_base_url` (mark as read) and a precomputed `url`; the
tests point all three at Parley. It uses `requests` synchronously and returns the JSON body whatever the status.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from heyoo import WhatsApp as Heyoo

from tests.e2e.conftest import ServerProcess
from tests.e2e.graph_clients import (
    API_VERSION,
    Business,
    Delivery,
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

PNG = png_bytes(6, 6, (10, 120, 200))
PDF = pdf_bytes("Receipt 42")
FILES = {
    "photo.png": (PNG, "image/png"),
    "receipt.pdf": (PDF, "application/pdf"),
    "note.ogg": (ogg_opus_bytes(), "audio/ogg"),
    "clip.mp4": (mp4_bytes(), "video/mp4"),
    "smile.webp": (webp_bytes(), "image/webp"),
}


def point_at(client: Heyoo, base_url: str, version: str = API_VERSION) -> Heyoo:
    client.base_url = f"{base_url}/v{version}"
    client.v15_base_url = f"{base_url}/v{version}"
    client.url = f"{client.base_url}/{client.phone_number_id}/messages"
    return client


class Setup:
    def __init__(self, server: ServerProcess, sink: WebhookSink, files: FileServer, business: Business) -> None:
        self.server, self.sink, self.files, self.business = server, sink, files, business
        self.heyoo = point_at(Heyoo(business.access_token, business.phone_number_id), server.base_url)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    server = start_parley(tmp_path_factory.mktemp("heyoo") / "var")
    sink = WebhookSink(verify_token="heyoo-verify", app_secret="heyoo-app-secret").start()
    files = FileServer(FILES).start()
    try:
        business = create_business(
            server,
            "Heyoo Books",
            "+14155550200",
            webhook_url=sink.url,
            verify_token="heyoo-verify",
            app_secret="heyoo-app-secret",
        )
        yield Setup(server, sink, files, business)
    finally:
        files.stop()
        sink.stop()
        server.stop()


def _sent_id(answer: Any) -> str:
    assert isinstance(answer, dict) and "messages" in answer, answer
    return str(answer["messages"][0]["id"])


def _inbound(sink: WebhookSink, kind: str, marker: str | None = None) -> Delivery:
    def match(delivery: Delivery) -> bool:
        return message_webhook(kind)(delivery) and (marker is None or marker in delivery.body.decode())

    return sink.wait_for(match, what=f"a {kind} webhook")


def test_heyoo_parses_what_parley_delivers(setup: Setup) -> None:
    heyoo, sink, biz = setup.heyoo, setup.sink, setup.business
    alice = Person(setup.server, "+14155550211", "Alice")
    alice.write(biz.phone, "Do you have the new Le Guin?")

    data = _inbound(sink, "text", "Le Guin").json
    assert heyoo.changed_field(data) == "messages"
    assert heyoo.is_message(data)
    assert heyoo.get_mobile(data) == alice.wa_id
    assert heyoo.get_name(data) == "Alice"
    assert heyoo.get_message(data) == "Do you have the new Le Guin?"
    assert heyoo.get_message_type(data) == "text"
    assert heyoo.get_message_id(data).startswith("wamid.")
    assert heyoo.get_message_timestamp(data).isdigit()
    assert sink.bad_signatures == 0

    # A location and an image from the person, read with heyoo's helpers.
    alice.send({"to": biz.phone, "type": "location", "location": {"latitude": 52.52, "longitude": 13.405}})
    location = heyoo.get_location(_inbound(sink, "location").json)
    assert location is not None and location["latitude"] == 52.52 and location["longitude"] == 13.405

    upload = alice.http.post("/media", files={"file": ("cover.png", PNG, "image/png")})
    assert upload.status_code == 200, upload.text
    alice.send({"to": biz.phone, "type": "image", "image": {"id": upload.json()["id"], "caption": "this one"}})
    image = heyoo.get_image(_inbound(sink, "image").json)
    assert image is not None and image["mime_type"] == "image/png" and image["caption"] == "this one"

    url = heyoo.query_media_url(image["id"])
    assert url is not None and url.startswith(setup.server.base_url)


def test_heyoo_sends_everything(setup: Setup, tmp_path: Path) -> None:
    heyoo, sink, biz, files = setup.heyoo, setup.sink, setup.business, setup.files
    bob = Person(setup.server, "+14155550212", "Bob")
    bob_message_id = bob.write(biz.phone, "Hello bookshop")
    incoming = heyoo.get_message_id(_inbound(sink, "text", "Hello bookshop").json)

    text_id = _sent_id(heyoo.send_message("We open at 9.", bob.wa_id))
    bob.wait_for_message(biz.phone, lambda m: (m.get("text") or {}).get("body") == "We open at 9.")
    sent = sink.wait_for(message_webhook("status", text_id, "sent"), what="the sent status")
    assert heyoo.changed_field(sent.json) == "messages" and heyoo.get_delivery(sent.json) == "sent"
    assert not heyoo.is_message(sent.json)

    _sent_id(heyoo.reply_to_message(incoming, bob.wa_id, "Quoting you"))
    quoted = bob.wait_for_message(biz.phone, lambda m: (m.get("text") or {}).get("body") == "Quoting you")
    assert quoted["context"] == {"message_id": bob_message_id}

    _sent_id(heyoo.send_reaction("📚", incoming, bob.wa_id))

    def reacted() -> bool:
        own = next(m for m in bob.messages_with(biz.phone) if m["id"] == bob_message_id)
        return any(r["emoji"] == "📚" for r in own["reactions"])

    wait_until(reacted, what="the reaction on Bob's message")

    # heyoo's own example passes the coordinates as strings.
    _sent_id(heyoo.send_location("-23.564", "-46.654", "The shop", "Rua dois, 123", bob.wa_id))
    bob.wait_for_message(biz.phone, lambda m: m["type"] == "location")

    def media_of(kind: str, marker: str | None = None) -> dict[str, Any]:
        def match(m: dict[str, Any]) -> bool:
            return m["type"] == kind and (marker is None or (m.get("media") or {}).get("caption") == marker)

        found = bob.wait_for_message(biz.phone, match)
        return dict(found["media"])

    def content(item: dict[str, Any]) -> bytes:
        response = bob.http.get(f"/media/{item['id']}")
        assert response.status_code == 200, response.text
        return response.content

    _sent_id(heyoo.send_image(files.url("photo.png"), bob.wa_id, caption="by link"))
    assert content(media_of("image", "by link")) == PNG
    _sent_id(heyoo.send_document(files.url("receipt.pdf"), bob.wa_id, caption="receipt", filename="receipt.pdf"))
    receipt = media_of("document", "receipt")
    assert receipt["filename"] == "receipt.pdf" and content(receipt) == PDF
    _sent_id(heyoo.send_audio(files.url("note.ogg"), bob.wa_id))
    assert content(media_of("audio")) == FILES["note.ogg"][0]
    _sent_id(heyoo.send_video(files.url("clip.mp4"), bob.wa_id, caption="trailer"))
    assert content(media_of("video", "trailer")) == FILES["clip.mp4"][0]
    _sent_id(heyoo.send_sticker(files.url("smile.webp"), bob.wa_id))
    bob.wait_for_message(biz.phone, lambda m: m["type"] == "sticker")

    # Upload a file from disk, send it by id, read its URL and download it the way heyoo does.
    path = tmp_path / "flyer.png"
    path.write_bytes(PNG)
    uploaded = heyoo.upload_media(str(path))
    assert uploaded is not None and uploaded["id"].isdigit()
    _sent_id(heyoo.send_image(uploaded["id"], bob.wa_id, caption="by id", link=False))
    assert content(media_of("image", "by id")) == PNG
    url = heyoo.query_media_url(uploaded["id"])
    assert url is not None
    saved = heyoo.download_media(url, "image/png", str(tmp_path / "downloaded"))
    assert saved is not None and Path(saved).read_bytes() == PNG
    # An upload never sent is gone once deleted (a sent one stays downloadable for the person it was sent to).
    spare = heyoo.upload_media(str(path))
    assert spare is not None
    assert heyoo.delete_media(spare["id"]) == {"success": True}
    assert heyoo.query_media_url(spare["id"]) is None

    _sent_id(
        heyoo.send_contacts(
            [
                {
                    "name": {"formatted_name": "Ursula K. Le Guin", "first_name": "Ursula"},
                    "phones": [{"phone": "+1 503 555 0100", "type": "WORK"}],
                }
            ],
            bob.wa_id,
        )
    )
    bob.wait_for_message(biz.phone, lambda m: "Ursula K. Le Guin" in json.dumps(m))

    assert heyoo.mark_as_read(incoming) == {"success": True}
    wait_until(
        lambda: next(m for m in bob.messages_with(biz.phone) if m["id"] == bob_message_id)["status"] == "read",
        what="Bob's message to show as read",
    )


def test_heyoo_buttons_and_the_tap_coming_back(setup: Setup) -> None:
    heyoo, sink, biz = setup.heyoo, setup.sink, setup.business
    carol = Person(setup.server, "+14155550213", "Carol")
    carol.write(biz.phone, "Gift wrap?")
    _inbound(sink, "text", "Gift wrap?")

    reply_buttons = {
        "type": "button",
        "body": {"text": "Would you like gift wrap?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "wrap-yes", "title": "Yes please"}},
                {"type": "reply", "reply": {"id": "wrap-no", "title": "No thanks"}},
            ]
        },
    }
    _sent_id(heyoo.send_reply_button(reply_buttons, carol.wa_id))
    shown = carol.wait_for_message(biz.phone, lambda m: "Would you like gift wrap?" in json.dumps(m))
    carol.tap(biz.phone, shown["id"], "button_reply", "wrap-yes", "Yes please")
    tap = _inbound(sink, "interactive", "wrap-yes").json
    assert heyoo.get_message_type(tap) == "interactive"
    response = heyoo.get_interactive_response(tap)
    assert response == {"type": "button_reply", "button_reply": {"id": "wrap-yes", "title": "Yes please"}}

    # heyoo's `send_button` makes a list message from its own dict shape.
    menu = {
        "header": "Genres",
        "body": "Pick a genre",
        "footer": "Heyoo Books",
        "action": {
            "button": "Genres",
            "sections": [
                {
                    "title": "Fiction",
                    "rows": [
                        {"id": "sf", "title": "Science fiction", "description": "Space and time"},
                        {"id": "fantasy", "title": "Fantasy"},
                    ],
                }
            ],
        },
    }
    _sent_id(heyoo.send_button(menu, carol.wa_id))
    listed = carol.wait_for_message(biz.phone, lambda m: "Pick a genre" in json.dumps(m))
    carol.tap(biz.phone, listed["id"], "list_reply", "sf", "Science fiction")
    picked = heyoo.get_interactive_response(_inbound(sink, "interactive", '"sf"').json)
    assert picked is not None and picked["type"] == "list_reply" and picked["list_reply"]["id"] == "sf"


def test_heyoo_sends_an_approved_template(setup: Setup) -> None:
    heyoo, sink, biz = setup.heyoo, setup.sink, setup.business
    created = httpx.post(
        f"{setup.server.base_url}/v{API_VERSION}/{biz.waba_id}/message_templates",
        headers=biz.headers,
        json={
            "name": "book_arrived",
            "language": "en_US",
            "category": "UTILITY",
            "components": [
                {"type": "BODY", "text": "Your copy of {{1}} has arrived.", "example": {"body_text": [["Dune"]]}}
            ],
        },
    )
    assert created.status_code == 200, created.text
    template_id = created.json()["id"]
    approved = sink.wait_for(
        lambda d: d.field == "message_template_status_update" and str(d.value["message_template_id"]) == template_id,
        what="the template's review",
    )
    assert heyoo.changed_field(approved.json) == "message_template_status_update"
    assert approved.value["event"] == "APPROVED"

    dave = Person(setup.server, "+14155550214", "Dave")  # never wrote: only a template reaches him
    answer = heyoo.send_template(
        "book_arrived",
        dave.wa_id,
        components=[{"type": "body", "parameters": [{"type": "text", "text": "The Dispossessed"}]}],
        lang="en_US",
    )
    wamid = _sent_id(answer)
    dave.wait_for_message(biz.phone, lambda m: "Your copy of The Dispossessed has arrived." in json.dumps(m))
    sent = sink.wait_for(message_webhook("status", wamid, "sent"), what="the template's sent status")
    assert heyoo.get_delivery(sent.json) == "sent"
    assert sent.value["statuses"][0]["pricing"]["category"] == "utility"

    # Outside the window a free-form message is refused; heyoo hands back Meta's error body.
    refused = heyoo.send_message("hello?", dave.wa_id)
    assert refused["error"]["code"] == 131047


def test_heyoo_with_only_its_host_changed(setup: Setup) -> None:
    heyoo = Heyoo(setup.business.access_token, setup.business.phone_number_id)
    for name in ("base_url", "v15_base_url", "url"):
        setattr(heyoo, name, getattr(heyoo, name).replace("https://graph.facebook.com", setup.server.base_url))
    eve = Person(setup.server, "+14155550215", "Eve")
    eve.write(setup.business.phone, "hi")
    answer = heyoo.send_message("hello Eve", eve.wa_id)
    assert "messages" in answer, answer
