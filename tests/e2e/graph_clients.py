"""Shared pieces of the third-party-client e2e tests (pywa, heyoo, schemathesis, Meta's examples).

A `parley serve` process tuned for them (links to loopback allowed, quick webhook retries, quick template
review), businesses made with the operator CLI, people who use the client API and acknowledge their
stream like a phone does, loopback servers (files to send by link, a webhook receiver that checks Meta's
signature, any ASGI app such as pywa's FastAPI server) and pywa pointed at Parley.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from tests.conftest import free_port
from tests.e2e.conftest import ServerProcess

T = TypeVar("T")
API_VERSION = "25.0"

# What the third-party tests need from the server: media links on 127.0.0.1 are fetched, a webhook that was
# not up yet is retried within a second, templates are reviewed at once.
E2E_ENV = {
    "PARLEY_MEDIA_FETCH__ALLOW_PRIVATE_NETWORKS": "true",
    "PARLEY_WEBHOOKS__BACKOFF_BASE_S": "0.2",
    "PARLEY_WEBHOOKS__BACKOFF_CAP_S": "1",
    "PARLEY_WEBHOOKS__TIMEOUT_S": "5",
    "PARLEY_TEMPLATES__REVIEW_DELAY_S": "0.2",
    "PARLEY_TEMPLATES__REVIEW_POLL_S": "0.1",
}


def start_parley(data_dir: Path) -> ServerProcess:
    server = ServerProcess(data_dir, env=E2E_ENV)
    server.start()
    return server


def wait_until(probe: Callable[[], T | None], timeout: float = 10.0, what: str = "the condition") -> T:
    """Poll `probe` until it returns something other than None/False."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


# --- files ----------------------------------------------------------------------------------------------------


def png_bytes(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 90)) -> bytes:
    """A real PNG (8-bit RGB), built by hand: signature, IHDR, one zlib IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def pdf_bytes(text: str = "Parley e2e") -> bytes:
    """A small, valid one-page PDF with a correct cross-reference table."""
    stream = f"BT /F1 18 Tf 20 40 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def ogg_opus_bytes() -> bytes:
    """The first page of an OGG/OPUS stream (an OpusHead packet): what a voice note starts with."""
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 48000, 0, 0)
    page = b"OggS" + bytes([0, 2]) + struct.pack("<qIIi", 0, 1, 0, 0) + bytes([1, len(head)]) + head
    return page


def mp4_bytes() -> bytes:
    """An ISO base media file: an `ftyp` box and an empty `mdat` box."""
    ftyp = b"ftypisom" + struct.pack(">I", 512) + b"isomiso2avc1mp41"
    return struct.pack(">I", 8 + len(ftyp) - 4) + ftyp + struct.pack(">I", 8) + b"mdat"


def webp_bytes() -> bytes:
    """A lossless 1x1 WebP (RIFF/WEBP/VP8L)."""
    vp8l = bytes.fromhex("2f00000000071011fd8f0d20")
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l
    return b"RIFF" + struct.pack("<I", len(body)) + body


def jpeg_bytes() -> bytes:
    """The start of a baseline JPEG (SOI + JFIF APP0) and its end marker: enough for type sniffing."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\xff\xd9"


# --- businesses and people -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Business:
    waba_id: str
    phone_number_id: str
    access_token: str
    app_id: str
    app_secret: str
    phone: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    @property
    def wa_id(self) -> str:
        return self.phone.lstrip("+")


def create_business(
    server: ServerProcess,
    name: str,
    phone: str,
    *,
    webhook_url: str | None = None,
    verify_token: str | None = None,
    app_secret: str | None = None,
) -> Business:
    args = ["business", "create", "--name", name, "--phone", phone, "--json"]
    if webhook_url is not None:
        args += ["--webhook-url", webhook_url]
    if verify_token is not None:
        args += ["--verify-token", verify_token]
    if app_secret is not None:
        args += ["--app-secret", app_secret]
    created = json.loads(server.cli(*args))
    return Business(
        waba_id=created["waba_id"],
        phone_number_id=created["phone_number_id"],
        access_token=created["access_token"],
        app_id=created["app_id"],
        app_secret=created["app_secret"],
        phone=phone,
    )


def _sign_up(server: ServerProcess, phone: str, name: str) -> tuple[str, str]:
    """Sign up through the client API the way the app does (the server shows development codes)."""
    with httpx.Client(base_url=f"{server.base_url}/client/v1", timeout=15) as http:
        asked = http.post("/auth/request-code", json={"phone": phone})
        assert asked.status_code == 200, asked.text
        codes = http.get("/dev/codes").json()["codes"]
        code = next(c["code"] for c in codes if c["phone"] == phone)
        verified = http.post("/auth/verify", json={"phone": phone, "code": code, "device_name": "phone", "name": name})
        assert verified.status_code == 200, verified.text
        return str(verified.json()["user_id"]), str(verified.json()["token"])


class Person:
    """Someone on Parley's client API (what the phone app does), talking to businesses."""

    def __init__(self, server: ServerProcess, phone: str, name: str) -> None:
        self.server = server
        self.phone = phone
        self.name = name
        self.user_id, self.token = _sign_up(server, phone, name)
        self.http = httpx.Client(base_url=f"{server.base_url}/client/v1", headers=self.headers, timeout=15)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def wa_id(self) -> str:
        return self.phone.lstrip("+")

    def send(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post("/messages", json={"client_id": uuid.uuid4().hex, **body})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def write(self, to: str, text: str) -> str:
        """Send a text; the client API id of the new message."""
        return str(self.send({"to": to, "type": "text", "text": {"body": text}})["id"])

    def tap(self, to: str, message_id: str, reply_type: str, reply_id: str, title: str) -> str:
        """Tap a button (or list row) of the business's message `message_id`."""
        body = {
            "to": to,
            "type": "reply",
            "reply": {"reply_type": reply_type, "id": reply_id, "title": title},
            "context": {"message_id": message_id},
        }
        return str(self.send(body)["id"])

    def chat_with(self, phone: str) -> dict[str, Any] | None:
        response = self.http.get("/chats")
        assert response.status_code == 200, response.text
        for chat in response.json()["chats"]:
            if chat["peer"] is not None and chat["peer"]["phone"] == phone:
                return dict(chat)
        return None

    def messages_with(self, phone: str) -> list[dict[str, Any]]:
        """The chat with `phone`, oldest first (at most the last 100 messages)."""
        chat = self.chat_with(phone)
        if chat is None:
            return []
        response = self.http.get(f"/chats/{chat['id']}/messages", params={"limit": 100})
        assert response.status_code == 200, response.text
        return list(reversed(response.json()["messages"]))

    def wait_for_message(
        self, phone: str, match: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            return next((m for m in self.messages_with(phone) if m["sender_id"] != self.user_id and match(m)), None)

        return wait_until(probe, timeout, f"a message from {phone} in {self.name}'s chat")

    def read(self, message_id: str) -> None:
        response = self.http.post(f"/messages/{message_id}/read")
        assert response.status_code == 204, response.text

    def ack_all(self, quiet_s: float = 0.5) -> int:
        """Open the realtime stream like a phone coming online and acknowledge every message it is given."""
        last = 0
        with ws_connect(f"{self.server.ws_url}?token={self.token}", open_timeout=10) as ws:
            while True:
                try:
                    event = json.loads(ws.recv(timeout=quiet_s))
                except (TimeoutError, ConnectionClosed):
                    break
                if event.get("type") == "message":
                    last = max(last, int(event["id"]))
            if last:
                ws.send(json.dumps({"type": "ack", "id": last}))
                time.sleep(0.2)  # let the server take the ack before the socket closes
        return last

    def close(self) -> None:
        self.http.close()


# --- loopback servers ------------------------------------------------------------------------------------------


class ThreadedUvicorn:
    """Any ASGI app on 127.0.0.1 in a background thread (pywa's FastAPI app, a webhook sink)."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> ThreadedUvicorn:
        self._thread.start()
        wait_until(lambda: self._server.started, 10, "the loopback server to start")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)


class FileServer:
    """Serves fixed files over HTTP on 127.0.0.1: what a business's `link` points at."""

    def __init__(self, files: dict[str, tuple[bytes, str]]) -> None:
        self.files = files
        served = files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = served.get(self.path.split("?")[0].lstrip("/"))
                if found is None:
                    self.send_error(404)
                    return
                body, content_type = found
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def start(self) -> FileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@dataclass
class Delivery:
    body: bytes
    headers: dict[str, str]

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    @property
    def field(self) -> str:
        return str(self.json["entry"][0]["changes"][0]["field"])

    @property
    def value(self) -> dict[str, Any]:
        return dict(self.json["entry"][0]["changes"][0]["value"])


class WebhookSink:
    """A business's webhook endpoint: answers the verification GET and keeps every correctly signed POST.

    A POST whose `X-Hub-Signature-256` is not HMAC-SHA256(app_secret, raw body) is refused with 403 and
    counted in `bad_signatures`.
    """

    def __init__(self, verify_token: str, app_secret: str = "") -> None:
        self.verify_token = verify_token
        self.app_secret = app_secret
        self.deliveries: list[Delivery] = []
        self.challenges: list[dict[str, str]] = []
        self.bad_signatures = 0
        self._lock = threading.Lock()
        app = FastAPI()

        @app.get("/hook")
        async def challenge(request: Request) -> Response:
            params = dict(request.query_params)
            with self._lock:
                self.challenges.append(params)
            if params.get("hub.mode") == "subscribe" and params.get("hub.verify_token") == self.verify_token:
                return Response(params.get("hub.challenge", ""), media_type="text/plain")
            return Response("Forbidden", status_code=403)

        @app.post("/hook")
        async def receive(request: Request) -> Response:
            body = await request.body()
            expected = "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, request.headers.get("x-hub-signature-256", "")):
                with self._lock:
                    self.bad_signatures += 1
                return Response("bad signature", status_code=403)
            with self._lock:
                self.deliveries.append(Delivery(body, dict(request.headers)))
            return Response("ok")

        self._server = ThreadedUvicorn(app)
        self.url = f"{self._server.url}/hook"

    def start(self) -> WebhookSink:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def received(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)

    def wait_for(self, match: Callable[[Delivery], bool], timeout: float = 10.0, what: str = "a webhook") -> Delivery:
        return wait_until(lambda: next((d for d in self.received() if match(d)), None), timeout, what)


@contextmanager
def running(*servers: Any) -> Iterator[None]:
    started = []
    try:
        for server in servers:
            server.start()
            started.append(server)
        yield
    finally:
        for server in reversed(started):
            server.stop()


def message_webhook(kind: str, wamid: str | None = None, status: str | None = None) -> Callable[[Delivery], bool]:
    """A matcher for `messages` webhooks: an inbound message of `kind`, or a status of message `wamid`."""

    def match(delivery: Delivery) -> bool:
        if delivery.field != "messages":
            return False
        value = delivery.value
        if kind == "status":
            return any(
                s["id"] == wamid and (status is None or s["status"] == status) for s in value.get("statuses", [])
            )
        return any(m["type"] == kind for m in value.get("messages", []))

    return match


# --- pywa pointed at Parley -------------------------------------------------------------------------------------


def pywa_class(base_url: str) -> Any:
    """pywa's sync `WhatsApp`, its Graph API calls going to `base_url` instead of graph.facebook.com.

    pywa has no base-URL option; its `GraphAPI` sets `session.base_url` in `__init__`, so a subclass sets it
    again right after. `registered` is set when pywa's delayed callback-URL registration thread has finished
    (`registration_error` holds what it raised, if anything).
    """
    from pywa import WhatsApp
    from pywa.api import GraphAPI

    class ParleyGraphAPI(GraphAPI):
        def __init__(self, token: str, session: httpx.Client, api_version: float) -> None:
            super().__init__(token=token, session=session, api_version=api_version)
            session.base_url = f"{base_url}/v{api_version}"

    class ParleyWhatsApp(WhatsApp):
        _api_cls = ParleyGraphAPI

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.registered = threading.Event()
            self.registration_error: BaseException | None = None
            # pywa's own client gives up after 5 s; on a busy machine an integrator sets longer, as pywa advises.
            kwargs.setdefault("session", httpx.Client(timeout=20))
            super().__init__(*args, **kwargs)

        def _register_callback_url(self) -> None:
            try:
                super()._register_callback_url()
            except BaseException as exc:
                self.registration_error = exc
                raise
            finally:
                self.registered.set()

    return ParleyWhatsApp
