"""pywa, unchanged, against a real `parley serve`: its sync client for the Graph calls and its FastAPI
webhook server (signature checks on) for the updates, with people on the other side using the client API.

pywa has no base-URL option; `graph_clients.pywa_class` points its `GraphAPI` session at Parley. Everything
else is pywa's own code path: it registers its callback URL itself (app access token, then
`POST /{app_id}/subscriptions`, which makes Parley run the verification GET against pywa's server), checks
`X-Hub-Signature-256` on every update, drops updates without `contacts[0].user_id`, and replies by
`recipient` (the business-scoped user id).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pywa import WhatsApp, errors
from pywa import handlers as pywa_handlers
from pywa.types import (
    Button,
    CallbackButton,
    CallbackSelection,
    Message,
    MessageStatus,
    MessageStatusType,
    Section,
    SectionList,
    SectionRow,
)
from pywa.types.templates import (
    BodyText,
    ParamFormat,
    Template,
    TemplateCategory,
    TemplateLanguage,
    TemplateStatus,
    TemplateStatusUpdate,
)
from websockets.sync.client import connect as ws_connect

from tests.e2e.conftest import ServerProcess
from tests.e2e.graph_clients import (
    API_VERSION,
    Business,
    FileServer,
    Person,
    ThreadedUvicorn,
    create_business,
    pdf_bytes,
    png_bytes,
    pywa_class,
    start_parley,
    wait_until,
)

pytestmark = pytest.mark.e2e

PNG = png_bytes()
PDF = pdf_bytes("Today's menu")
VERIFY_TOKEN = "pywa-verify-token"


class Bot:
    """A pywa bot as a business would write it, recording every update its handlers were given."""

    def __init__(self, wa: WhatsApp, business: Business) -> None:
        self.wa = wa
        self.business = business
        self._lock = threading.Lock()
        self.updates: dict[str, list[Any]] = {}
        self.replies: dict[str, str] = {}  # the text it answered -> wamid of its answer
        wa.add_handlers(
            pywa_handlers.MessageHandler(self._on_message),
            pywa_handlers.CallbackButtonHandler(self._record("button")),
            pywa_handlers.CallbackSelectionHandler(self._record("selection")),
            pywa_handlers.MessageStatusHandler(self._record("status")),
            pywa_handlers.TemplateStatusUpdateHandler(self._record("template_status")),
        )

    def _record(self, kind: str) -> Callable[[WhatsApp, Any], None]:
        def callback(_: WhatsApp, update: Any) -> None:
            with self._lock:
                self.updates.setdefault(kind, []).append(update)

        return callback

    def _on_message(self, _: WhatsApp, message: Message) -> None:
        self._record("message")(_, message)
        if message.text and message.text.startswith("ping"):
            sent = message.reply_text(message.text.replace("ping", "pong", 1))
            with self._lock:
                self.replies[message.text] = sent.id

    def seen(self, kind: str) -> list[Any]:
        with self._lock:
            return list(self.updates.get(kind, []))

    def wait(self, kind: str, match: Callable[[Any], bool], timeout: float = 10.0) -> Any:
        return wait_until(lambda: next((u for u in self.seen(kind) if match(u)), None), timeout, f"a pywa {kind}")

    def statuses_of(self, wamid: str) -> list[str]:
        return [str(s.status) for s in self.seen("status") if s.id == wamid]


@pytest.fixture(scope="module")
def parley(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_parley(tmp_path_factory.mktemp("pywa") / "var")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def files() -> Iterator[FileServer]:
    server = FileServer({"logo.png": (PNG, "image/png"), "menu.pdf": (PDF, "application/pdf")}).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def bot(parley: ServerProcess) -> Iterator[Bot]:
    business = create_business(parley, "Acme Bakery", "+14155550100")
    app = FastAPI()
    web = ThreadedUvicorn(app).start()
    wa = pywa_class(parley.base_url)(
        phone_id=business.phone_number_id,
        token=business.access_token,
        server=app,
        verify_token=VERIFY_TOKEN,
        app_id=business.app_id,
        app_secret=business.app_secret,
        callback_url=web.url,
        waba_id=business.waba_id,
        webhook_challenge_delay=0,
        api_version=API_VERSION,
    )
    try:
        assert wa._validate_updates, "pywa must check X-Hub-Signature-256 on every update"
        bot = Bot(wa, business)
        assert wa.registered.wait(15), "pywa never finished registering its callback URL"
        assert wa.registration_error is None, repr(wa.registration_error)
        yield bot
    finally:
        web.stop()


def _text(message: dict[str, Any]) -> str | None:
    return None if message.get("text") is None else str(message["text"]["body"])


def _download(person: Person, media_id: str) -> bytes:
    response = person.http.get(f"/media/{media_id}")
    assert response.status_code == 200, response.text
    return response.content


def test_pywa_registers_its_webhook_and_parley_verified_it(parley: ServerProcess, bot: Bot) -> None:
    """pywa's own registration flow worked end to end: it would have raised otherwise (see the fixture).

    The subscription carries pywa's callback URL and fields; a second registration with a wrong verify token
    is refused, because Parley's verification GET gets pywa's 403.
    """
    api = bot.wa.api
    app_token = api.get_app_access_token(client_id=int(bot.business.app_id), client_secret=bot.business.app_secret)
    assert app_token["access_token"] and app_token["token_type"] == "bearer"
    with pytest.raises(errors.WhatsAppError):
        api.set_app_callback_url(
            app_id=int(bot.business.app_id),
            access_token=app_token["access_token"],
            callback_url=str(bot.wa._callback_url),
            verify_token="not-the-token-pywa-knows",
            fields=("messages",),
        )
    with pytest.raises(errors.WhatsAppError):
        api.get_app_access_token(client_id=int(bot.business.app_id), client_secret="wrong secret")


def test_a_persons_message_reaches_pywa_and_its_reply_reaches_the_person(parley: ServerProcess, bot: Bot) -> None:
    alice = Person(parley, "+14155550111", "Alice")
    alice.write(bot.business.phone, "ping 1")

    message: Message = bot.wait("message", lambda m: m.text == "ping 1")
    assert message.from_user.wa_id == alice.wa_id and message.from_user.name == "Alice"
    assert message.from_user.bsuid and message.from_user.bsuid.startswith("US.")
    assert message.id.startswith("wamid.") and message.metadata.phone_number_id == bot.business.phone_number_id

    # pywa answered by `recipient` (the BSUID): Alice has it in her chat with the business.
    reply = alice.wait_for_message(bot.business.phone, lambda m: _text(m) == "pong 1")
    wamid = wait_until(lambda: bot.replies.get("ping 1"), what="pywa's reply id")

    wait_until(lambda: "sent" in bot.statuses_of(wamid), what="the sent status in pywa")
    alice.ack_all()  # her phone comes online
    wait_until(lambda: "delivered" in bot.statuses_of(wamid), what="the delivered status in pywa")
    alice.read(reply["id"])
    wait_until(lambda: "read" in bot.statuses_of(wamid), what="the read status in pywa")
    assert bot.statuses_of(wamid) == ["sent", "delivered", "read"]

    [sent] = [s for s in bot.seen("status") if s.id == wamid and s.status == MessageStatusType.SENT]
    assert isinstance(sent, MessageStatus)
    assert sent.from_user.wa_id == alice.wa_id
    assert sent.pricing is not None and sent.pricing.billable is False
    assert str(sent.pricing.category) == "service"


def test_pywa_sends_every_kind_of_message_and_gets_the_taps(parley: ServerProcess, bot: Bot, files: FileServer) -> None:
    wa, biz = bot.wa, bot.business
    bob = Person(parley, "+14155550112", "Bob")
    bob_message_id = bob.write(biz.phone, "Hello, what do you have today?")
    incoming: Message = bot.wait("message", lambda m: m.text == "Hello, what do you have today?")

    # Text, quoting his message.
    wa.send_message(to=bob.wa_id, text="Fresh bread!", reply_to_message_id=incoming.id)
    quoted = bob.wait_for_message(biz.phone, lambda m: _text(m) == "Fresh bread!")
    assert quoted["context"] == {"message_id": bob_message_id}

    # An image uploaded first, then sent by id.
    uploaded = wa.upload_media(PNG, mime_type="image/png", filename="logo.png")
    wa.send_image(to=bob.wa_id, image=uploaded, caption="Our logo (uploaded)")
    image = bob.wait_for_message(biz.phone, lambda m: (m.get("media") or {}).get("caption") == "Our logo (uploaded)")
    assert image["type"] == "image" and image["media"]["mime_type"] == "image/png"
    assert _download(bob, image["media"]["id"]) == PNG

    # An image by link: Parley fetches it from the business's server.
    wa.send_image(to=bob.wa_id, image=files.url("logo.png"), caption="Our logo (link)")
    linked = bob.wait_for_message(biz.phone, lambda m: (m.get("media") or {}).get("caption") == "Our logo (link)")
    assert linked["type"] == "image" and _download(bob, linked["media"]["id"]) == PNG

    # A document by link, with its file name.
    wa.send_document(to=bob.wa_id, document=files.url("menu.pdf"), filename="menu.pdf", caption="Menu")
    document = bob.wait_for_message(biz.phone, lambda m: (m.get("media") or {}).get("caption") == "Menu")
    assert document["type"] == "document" and document["media"]["filename"] == "menu.pdf"
    assert _download(bob, document["media"]["id"]) == PDF

    # A location.
    wa.send_location(to=bob.wa_id, latitude=37.7749, longitude=-122.4194, name="Acme Bakery", address="1 Main St")
    location = bob.wait_for_message(biz.phone, lambda m: m["type"] == "location")
    assert location["business"]["location"] == {
        "latitude": 37.7749,
        "longitude": -122.4194,
        "name": "Acme Bakery",
        "address": "1 Main St",
    }

    # A reaction to Bob's message.
    wa.send_reaction(to=bob.wa_id, emoji="👍", message_id=incoming.id)

    def reacted() -> bool:
        own = next(m for m in bob.messages_with(biz.phone) if m["id"] == bob_message_id)
        return any(r["emoji"] == "👍" for r in own["reactions"])

    wait_until(reacted, what="the business's reaction on Bob's message")

    # Reply buttons; Bob taps one and pywa's callback-button handler gets it.
    buttons = wa.send_message(
        to=bob.wa_id, text="Pickup or delivery?", buttons=[Button("Pickup", "pickup"), Button("Delivery", "delivery")]
    )
    shown = bob.wait_for_message(biz.phone, lambda m: "Pickup or delivery?" in json.dumps(m))
    assert shown["type"] == "interactive" and shown["business"]["interactive"]["type"] == "button"
    titles = [b["reply"]["title"] for b in shown["business"]["interactive"]["action"]["buttons"]]
    assert titles == ["Pickup", "Delivery"]
    bob.tap(biz.phone, shown["id"], "button_reply", "delivery", "Delivery")
    tapped: CallbackButton = bot.wait("button", lambda b: b.data == "delivery")
    assert tapped.title == "Delivery" and tapped.from_user.wa_id == bob.wa_id
    assert tapped.reply_to_message is not None and tapped.reply_to_message.id == buttons.id

    # A list; Bob picks a row and pywa's selection handler gets it.
    wa.send_message(
        to=bob.wa_id,
        text="What would you like?",
        buttons=SectionList(
            button_title="Menu",
            sections=[
                Section(
                    title="Cakes",
                    rows=[
                        SectionRow(title="Cheesecake", callback_data="cheesecake", description="New York style"),
                        SectionRow(title="Carrot cake", callback_data="carrot"),
                    ],
                )
            ],
        ),
    )
    listed = bob.wait_for_message(biz.phone, lambda m: "What would you like?" in json.dumps(m))
    [section] = listed["business"]["interactive"]["action"]["sections"]
    assert [r["title"] for r in section["rows"]] == ["Cheesecake", "Carrot cake"]
    bob.tap(biz.phone, listed["id"], "list_reply", "cheesecake", "Cheesecake")
    picked: CallbackSelection = bot.wait("selection", lambda s: s.data == "cheesecake")
    assert picked.title == "Cheesecake" and picked.from_user.wa_id == bob.wa_id


def test_pywa_template_lifecycle(parley: ServerProcess, bot: Bot) -> None:
    """Create a UTILITY template, hear it approved through pywa's handler, send it outside any window, list,
    read and delete it."""
    wa = bot.wa
    template = Template(
        name="order_ready",
        category=TemplateCategory.UTILITY,
        language=TemplateLanguage.ENGLISH_US,
        parameter_format=ParamFormat.POSITIONAL,
        components=[BodyText("Your order {{1}} is ready for pickup.", "A-1001")],
    )
    created = wa.create_template(template)
    assert created.id

    approved: TemplateStatusUpdate = bot.wait(
        "template_status", lambda u: u.template_id == created.id and u.new_status == TemplateStatus.APPROVED
    )
    assert approved.template_name == "order_ready"

    # Carol never wrote to the business: a template is the only way in.
    carol = Person(parley, "+14155550113", "Carol")
    sent = wa.send_template(
        to=carol.wa_id, name="order_ready", language=TemplateLanguage.ENGLISH_US, params=[BodyText.params("B-2002")]
    )
    assert sent.id.startswith("wamid.")
    shown = carol.wait_for_message(bot.business.phone, lambda m: m["type"] == "template")
    assert shown["business"]["template"]["body"] == "Your order B-2002 is ready for pickup."
    wait_until(lambda: "sent" in bot.statuses_of(sent.id), what="the template's sent status")
    [status] = [s for s in bot.seen("status") if s.id == sent.id]
    assert status.pricing is not None and str(status.pricing.category) == "utility" and status.pricing.billable

    listed = wa.get_templates()
    assert created.id in {t.id for t in listed}
    details = wa.get_template(created.id)
    assert details.name == "order_ready" and details.status == TemplateStatus.APPROVED
    assert details.category == TemplateCategory.UTILITY

    assert wa.delete_template("order_ready", template_id=created.id)
    assert created.id not in {t.id for t in wa.get_templates()}
    with pytest.raises(errors.TemplateNotExists):
        wa.send_template(
            to=carol.wa_id, name="order_ready", language=TemplateLanguage.ENGLISH_US, params=[BodyText.params("C")]
        )


def test_pywa_marks_read_and_shows_typing(parley: ServerProcess, bot: Bot) -> None:
    dana = Person(parley, "+14155550114", "Dana")
    message_id = dana.write(bot.business.phone, "Are you open?")
    incoming: Message = bot.wait("message", lambda m: m.text == "Are you open?")

    assert bot.wa.mark_message_as_read(incoming.id)

    def own_status() -> str | None:
        own = next(m for m in dana.messages_with(bot.business.phone) if m["id"] == message_id)
        return own["status"] if own["status"] == "read" else None

    wait_until(own_status, what="Dana's message to show as read")

    with ws_connect(f"{parley.ws_url}?token={dana.token}", open_timeout=10) as ws:
        assert bot.wa.indicate_typing(incoming.id)

        def typing_event() -> dict[str, Any] | None:
            event = json.loads(ws.recv(timeout=5))
            return event if event.get("type") == "typing" else None

        event = wait_until(typing_event, what="the typing event on Dana's stream")
    chat = dana.chat_with(bot.business.phone)
    assert chat is not None and event["chat_id"] == chat["id"]


def test_pywa_media_roundtrip(parley: ServerProcess, bot: Bot, tmp_path: Path) -> None:
    wa = bot.wa
    uploaded = wa.upload_media(PDF, mime_type="application/pdf", filename="invoice.pdf")
    url = wa.get_media_url(uploaded.id)
    assert url.id == uploaded.id and url.mime_type == "application/pdf"
    assert int(url.file_size) == len(PDF)  # Meta sends it as a string; pywa passes it on as given
    assert url.sha256 == hashlib.sha256(PDF).hexdigest()
    path = wa.download_media(url=url.url, path=tmp_path, filename="invoice.pdf")
    assert path.read_bytes() == PDF
    assert wa.get_media_bytes(url.url) == PDF

    # Media a person sends arrives as an id pywa can download.
    erin = Person(parley, "+14155550115", "Erin")
    upload = erin.http.post("/media", files={"file": ("photo.png", PNG, "image/png")})
    assert upload.status_code == 200, upload.text
    erin.send({"to": bot.business.phone, "type": "image", "image": {"id": upload.json()["id"], "caption": "my cake"}})
    photo: Message = bot.wait("message", lambda m: m.image is not None and m.caption == "my cake")
    assert photo.image is not None and photo.image.mime_type == "image/png"
    assert wa.get_media_bytes(wa.get_media_url(photo.image.id).url) == PNG

    assert wa.delete_media(uploaded.id)
    with pytest.raises(errors.WhatsAppError):
        wa.get_media_url(uploaded.id)


def test_pywa_error_mapping(parley: ServerProcess, bot: Bot) -> None:
    frank = Person(parley, "+14155550116", "Frank")  # never wrote to the business
    with pytest.raises(errors.ReEngagementMessage) as outside:
        bot.wa.send_message(to=frank.wa_id, text="Hello out of nowhere")
    assert outside.value.code == 131047

    with pytest.raises(errors.TemplateNotExists):
        bot.wa.send_template(to=frank.wa_id, name="no_such_template", language=TemplateLanguage.ENGLISH_US)

    revoked = pywa_class(parley.base_url)(
        phone_id=bot.business.phone_number_id, token="PRL-not-a-token", api_version=API_VERSION
    )
    with pytest.raises(errors.ExpiredAccessToken):
        revoked.send_message(to=frank.wa_id, text="hi")

    with httpx.Client(base_url=parley.base_url) as plain:
        response = plain.post(f"/v{API_VERSION}/{bot.business.phone_number_id}/messages", json={})
        assert response.status_code == 401 and response.json()["error"]["code"] == 190
