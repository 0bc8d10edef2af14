"""Cloud API media: uploads held to Meta's types and limits, media objects with 5-minute download URLs that need
the business's token, deletion, scoping between businesses, and media fetched from a business's link."""

from __future__ import annotations

import asyncio
import hashlib
import io
import struct
import uuid
import zipfile
import zlib
from collections.abc import AsyncIterator, Callable
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import insert

from parley.business.media import fetch_media_link_with, resolve_media_id
from parley.business.models import phone_numbers
from parley.config import MediaFetchSettings, Settings
from parley.graph import GraphError
from parley.kit.clock import OffsetClock
from tests.conftest import LiveServer, User
from tests.integration.business_helpers import Biz, V, create_business, person_writes, send

KB, MB = 1024, 1024 * 1024
OAS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "business-messaging-api_v23.0.yaml"


@cache
def meta_spec() -> dict[str, Any] | None:
    return dict(yaml.safe_load(OAS.read_text())) if OAS.exists() else None


def assert_matches_meta(schema: str | Callable[[dict[str, Any]], Any], value: Any) -> None:
    """Validate against Meta's OpenAPI file (a components schema name, or a getter into the spec), when the
    reference copy is at hand."""
    jsonschema = pytest.importorskip("jsonschema")
    spec = meta_spec()
    if spec is None:
        return
    target = {"$ref": f"#/components/schemas/{schema}"} if isinstance(schema, str) else schema(spec)
    jsonschema.Draft202012Validator({**target, "components": spec["components"]}).validate(value)


def _media_object_schema(spec: dict[str, Any]) -> Any:
    return spec["paths"]["/{Version}/{Media-ID}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The test origin server listens on loopback, which a business's link may not reach by default.
    return settings.model_copy(update={"media_fetch": MediaFetchSettings(allow_private_networks=True, timeout_s=5)})


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    live = LiveServer(settings, OffsetClock())
    settings.public_url = live.base_url  # media URLs must point at this very server (read when it starts)
    await live.start()
    try:
        yield live
    finally:
        await live.stop()


# --- real (tiny) files of every kind --------------------------------------------------------------------------


def png(width: int = 1, height: int = 1, padding: int = 0) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    text = chunk(b"tEXt", b"Comment\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + text + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    """A baseline 1x1 grey JPEG: one Huffman code per table, DC difference 0 then end-of-block."""

    def segment(marker: int, data: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data

    one_code = bytes([1] + [0] * 15) + b"\x00"
    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xDB, b"\x00" + b"\x01" * 64)
        + segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")
        + segment(0xC4, b"\x00" + one_code)
        + segment(0xC4, b"\x10" + one_code)
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x3f"
        + b"\xff\xd9"
    )


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def ogg_page(packet: bytes, sequence: int, first: bool) -> bytes:
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, 2 if first else 0, 0, 0x5EED, sequence, 0, 1) + bytes([len(packet)])
    page = header + packet
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


def ogg_opus() -> bytes:
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 6) + b"parley" + struct.pack("<I", 0)
    return ogg_page(head, 0, True) + ogg_page(tags, 1, False)


def ogg_vorbis() -> bytes:
    return ogg_page(b"\x01vorbis" + b"\x00" * 22, 0, True)


def webp(size: int = 64, animated: bool = False) -> bytes:
    """A WebP of about `size` bytes: lossless 1x1 (static) or an extended file with the animation flag."""
    if animated:
        chunks = b"VP8X" + struct.pack("<I", 10) + b"\x02" + b"\x00" * 9 + b"ANIM" + struct.pack("<I", 6) + b"\x00" * 6
    else:
        chunks = b"VP8L" + struct.pack("<I", 6) + b"\x2f\x00\x00\x00\x00\x00"
    body = b"WEBP" + chunks
    padding = size - 8 - len(body) - 8
    if padding > 0:
        body += b"JUNK" + struct.pack("<I", padding) + b"\x00" * padding
    return b"RIFF" + struct.pack("<I", len(body)) + body


def iso_media(brand: bytes) -> bytes:
    return (
        struct.pack(">I", 24) + b"ftyp" + brand + b"\x00\x00\x02\x00" + brand + b"isom" + struct.pack(">I", 8) + b"free"
    )


def mp3() -> bytes:
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 413


def aac() -> bytes:
    return b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x21" * 9


def amr() -> bytes:
    return b"#!AMR\n" + b"\x3c" + b"\x00" * 31


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def legacy_doc() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

EVERY_KIND: list[tuple[str, bytes, str]] = [
    ("image/png", png(3, 2), "a.png"),
    ("image/jpeg", jpeg(), "a.jpg"),
    ("audio/ogg", ogg_opus(), "voice.ogg"),
    ("audio/mpeg", mp3(), "a.mp3"),
    ("audio/aac", aac(), "a.aac"),
    ("audio/amr", amr(), "a.amr"),
    ("audio/mp4", iso_media(b"M4A "), "a.m4a"),
    ("video/mp4", iso_media(b"isom"), "a.mp4"),
    ("video/3gpp", iso_media(b"3gp4"), "a.3gp"),
    ("application/pdf", pdf(), "minutes.pdf"),
    (DOCX, docx(), "letter.docx"),
    ("application/msword", legacy_doc(), "old.doc"),
    ("text/plain", b"opening hours: 9-17\n", "hours.txt"),
    ("image/webp", webp(), "sticker.webp"),
]


# --- steps ---------------------------------------------------------------------------------------------------


async def upload(
    server: LiveServer,
    biz: Biz,
    data: bytes,
    mime: str,
    filename: str = "file",
    *,
    headers: dict[str, str] | None = None,
    number: str | None = None,
    form: dict[str, str] | None = None,
) -> httpx.Response:
    fields = {"messaging_product": "whatsapp", "type": mime} if form is None else form
    return await server.http.post(
        f"{V}/{number or biz.phone_number_id}/media",
        headers=biz.headers if headers is None else headers,
        files={"file": (filename, data, mime)},
        data=fields,
    )


async def uploaded(server: LiveServer, biz: Biz, data: bytes, mime: str, filename: str = "file") -> str:
    response = await upload(server, biz, data, mime, filename)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"id"}
    return str(response.json()["id"])


def graph_error(response: httpx.Response, code: int, status: int = 400, subcode: int | None = None) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["type"] == "OAuthException" and error["fbtrace_id"]
    if subcode is not None:
        assert error.get("error_subcode") == subcode, error
    return str(error["error_data"]["details"])


async def media_info(server: LiveServer, biz: Biz, media_id: str, **params: str) -> httpx.Response:
    return await server.http.get(f"{V}/{media_id}", headers=biz.headers, params=params)


async def add_number(server: LiveServer, biz: Biz) -> tuple[str, int]:
    """A second number in the same business account (what Meta's multi-number WABAs have)."""
    phone = server.next_phone()
    container = server.container
    user = await container.accounts.create_user_with_token(phone, "Acme Support")
    number_id = container.ids.next_id()
    now = container.clock.now_ms()

    def unit(conn: Any) -> None:
        conn.execute(
            insert(phone_numbers).values(
                id=number_id,
                waba_id=int(biz.waba_id),
                user_id=user.user_id,
                display_phone_number=phone,
                verified_name="Acme Support",
                created_at=now,
            )
        )

    await container.db.write("tests.add_number", unit)
    return str(number_id), user.user_id


async def person_sends_media(server: LiveServer, person: User, biz: Biz, data: bytes, mime: str) -> str:
    """A person uploads a file and sends it to the business; the media id the business's webhook carries."""
    up = await server.http.post("/client/v1/media", headers=person.headers, files={"file": ("p", data, mime)})
    assert up.status_code == 200, up.text
    media_id = str(up.json()["id"])
    sent = await server.http.post(
        "/client/v1/messages",
        headers=person.headers,
        json={"to": biz.phone, "type": "image", "image": {"id": media_id}, "client_id": uuid.uuid4().hex},
    )
    assert sent.status_code == 200, sent.text
    return media_id


# --- uploads -------------------------------------------------------------------------------------------------


async def test_every_kind_uploads_and_downloads_with_the_token(server: LiveServer) -> None:
    biz = await create_business(server)
    for mime, data, filename in EVERY_KIND:
        media_id = await uploaded(server, biz, data, mime, filename)
        info = await media_info(server, biz, media_id)
        assert info.status_code == 200, (mime, info.text)
        body = info.json()
        assert body == {
            "messaging_product": "whatsapp",
            "url": body["url"],
            "mime_type": mime,
            "sha256": hashlib.sha256(data).hexdigest(),
            "file_size": str(len(data)),
            "id": media_id,
        }
        assert_matches_meta(_media_object_schema, body)
        assert body["url"].startswith(server.settings.public_url)
        download = await server.http.get(body["url"], headers=biz.headers)
        assert download.status_code == 200, (mime, download.text)
        assert download.content == data
        assert download.headers["content-type"].split(";")[0] == mime
        assert filename in download.headers["content-disposition"]


async def test_the_file_part_type_is_used_when_no_type_field_is_sent(server: LiveServer) -> None:
    biz = await create_business(server)
    response = await upload(server, biz, png(), "image/png", form={"messaging_product": "whatsapp"})
    assert response.status_code == 200, response.text
    assert (await media_info(server, biz, response.json()["id"])).json()["mime_type"] == "image/png"


async def test_meta_limits_per_kind(server: LiveServer) -> None:
    biz = await create_business(server)
    # Images: 5 MB.
    assert (await upload(server, biz, png(padding=5 * MB - 200), "image/png")).status_code == 200
    details = graph_error(await upload(server, biz, png(padding=5 * MB + 10), "image/png"), 131053)
    assert "5 MB" in details
    # Documents go up to 100 MB: more than people's 16 MB.
    assert (await upload(server, biz, pdf() + b"\x00" * (17 * MB), "application/pdf")).status_code == 200
    # Stickers: 100 KB static, 500 KB animated.
    assert (await upload(server, biz, webp(90 * KB), "image/webp")).status_code == 200
    assert "100 KB" in graph_error(await upload(server, biz, webp(120 * KB), "image/webp"), 131053)
    assert (await upload(server, biz, webp(400 * KB, animated=True), "image/webp")).status_code == 200
    assert "500 KB" in graph_error(await upload(server, biz, webp(600 * KB, animated=True), "image/webp"), 131053)
    # Audio and video: 16 MB.
    big_video = iso_media(b"isom") + b"\x00" * (16 * MB)
    assert "16 MB" in graph_error(await upload(server, biz, big_video, "video/mp4"), 131053)


async def test_types_meta_does_not_take_and_bytes_that_disagree_with_the_type(server: LiveServer) -> None:
    biz = await create_business(server)
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    details = graph_error(await upload(server, biz, gif, "image/gif"), 100)
    assert "image/gif" in details and "image/jpeg" in details
    graph_error(await upload(server, biz, b"PK\x03\x04" + b"\x00" * 30, "application/zip"), 100)
    # Declared PNG, actually a JPEG.
    assert "image/png" in graph_error(await upload(server, biz, jpeg(), "image/png"), 131053)
    # OGG must carry OPUS.
    graph_error(await upload(server, biz, ogg_vorbis(), "audio/ogg"), 131053)
    # A PDF that is not one, a video that is a PNG, text that is binary.
    graph_error(await upload(server, biz, b"MZ\x90\x00" + b"\x00" * 60, "application/pdf"), 131053)
    graph_error(await upload(server, biz, png(), "video/mp4"), 131053)
    graph_error(await upload(server, biz, b"\x00\x01\x02binary", "text/plain"), 131053)
    graph_error(await upload(server, biz, b"", "image/png"), 131053)
    # Nothing was stored for any of them.
    assert stored_files(server) == set()


async def test_upload_form_needs_the_file_and_messaging_product(server: LiveServer) -> None:
    biz = await create_business(server)
    graph_error(await upload(server, biz, png(), "image/png", form={"type": "image/png"}), 100)
    no_file = await server.http.post(
        f"{V}/{biz.phone_number_id}/media",
        headers=biz.headers,
        data={"messaging_product": "whatsapp", "type": "image/png"},
        files={"other": ("x", b"y", "text/plain")},
    )
    assert "file" in graph_error(no_file, 100)
    not_multipart = await server.http.post(f"{V}/{biz.phone_number_id}/media", headers=biz.headers, json={})
    graph_error(not_multipart, 100)


async def test_uploads_need_a_token_of_the_numbers_business(server: LiveServer) -> None:
    acme, globex = await create_business(server, "Acme"), await create_business(server, "Globex")
    graph_error(await upload(server, acme, png(), "image/png", headers={}), 190, 401)
    graph_error(await upload(server, acme, png(), "image/png", headers={"Authorization": "Bearer nope"}), 190, 401)
    graph_error(await upload(server, acme, png(), "image/png", number=globex.phone_number_id), 100, 400, 33)
    graph_error(await upload(server, acme, png(), "image/png", number="not-a-number"), 100, 400, 33)


# --- media objects and downloads ------------------------------------------------------------------------------


async def test_download_needs_a_token_that_reaches_the_media(server: LiveServer) -> None:
    acme, globex = await create_business(server, "Acme"), await create_business(server, "Globex")
    media_id = await uploaded(server, acme, png(), "image/png")
    url = (await media_info(server, acme, media_id)).json()["url"]

    graph_error(await server.http.get(url), 190, 401)
    graph_error(await server.http.get(url, headers={"Authorization": "Bearer wrong"}), 190, 401)
    graph_error(await server.http.get(url, headers=globex.headers), 100, 400, 33)
    # Another business cannot read the media object either.
    graph_error(await media_info(server, globex, media_id), 100, 400, 33)
    # A second token of the same business can.
    _, second_token = await server.container.business.create_token(int(acme.waba_id), "ci")
    assert (await server.http.get(url, headers={"Authorization": f"Bearer {second_token}"})).status_code == 200


async def test_urls_expire_after_five_minutes_and_cannot_be_extended(server: LiveServer) -> None:
    biz = await create_business(server)
    media_id = await uploaded(server, biz, png(), "image/png")
    url = (await media_info(server, biz, media_id)).json()["url"]
    server.clock.advance(minutes=4, seconds=50)
    assert (await server.http.get(url, headers=biz.headers)).status_code == 200
    server.clock.advance(seconds=20)
    assert "expired" in graph_error(await server.http.get(url, headers=biz.headers), 100, 404)

    parsed = httpx.URL(url)
    later = parsed.copy_set_param("expires", str(int(parsed.params["expires"]) + 3600))
    graph_error(await server.http.get(str(later), headers=biz.headers), 100, 404)

    fresh = (await media_info(server, biz, media_id)).json()["url"]
    assert fresh != url
    assert (await server.http.get(fresh, headers=biz.headers)).content == png()


async def test_phone_number_id_limits_the_call_to_that_numbers_media(server: LiveServer) -> None:
    acme, globex = await create_business(server, "Acme"), await create_business(server, "Globex")
    support_number, _ = await add_number(server, acme)
    media_id = await uploaded(server, acme, png(), "image/png")

    assert (await media_info(server, acme, media_id, phone_number_id=acme.phone_number_id)).status_code == 200
    graph_error(await media_info(server, acme, media_id, phone_number_id=support_number), 100, 400, 33)
    graph_error(await media_info(server, acme, media_id, phone_number_id=globex.phone_number_id), 100, 400, 33)
    # Without the filter, any number of the business reaches it; uploads work for every number.
    assert (await media_info(server, acme, media_id)).status_code == 200
    other = await uploaded_for(server, acme, support_number)
    assert (await media_info(server, acme, other, phone_number_id=support_number)).status_code == 200

    wrong = await server.http.delete(
        f"{V}/{media_id}", headers=acme.headers, params={"phone_number_id": support_number}
    )
    graph_error(wrong, 100, 400, 33)
    assert (await media_info(server, acme, media_id)).status_code == 200


async def uploaded_for(server: LiveServer, biz: Biz, number: str) -> str:
    response = await upload(server, biz, jpeg(), "image/jpeg", number=number)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def test_delete_removes_unsent_media(server: LiveServer) -> None:
    acme, globex = await create_business(server, "Acme"), await create_business(server, "Globex")
    media_id = await uploaded(server, acme, png(), "image/png")
    url = (await media_info(server, acme, media_id)).json()["url"]

    graph_error(await server.http.delete(f"{V}/{media_id}", headers=globex.headers), 100, 400, 33)
    response = await server.http.delete(f"{V}/{media_id}", headers=acme.headers)
    assert response.status_code == 200 and response.json() == {"success": True}

    graph_error(await media_info(server, acme, media_id), 100, 400, 33)
    assert (await server.http.get(url, headers=acme.headers)).status_code == 404
    assert not (server.settings.resolved_media_dir / media_id).exists()
    graph_error(await server.http.delete(f"{V}/{media_id}", headers=acme.headers), 100, 400, 33)


async def test_media_people_send_reaches_the_business_and_survives_its_delete(server: LiveServer) -> None:
    acme, globex = await create_business(server, "Acme"), await create_business(server, "Globex")
    alice = await server.user("Alice")
    media_id = await person_sends_media(server, alice, acme, png(2, 2), "image/png")

    info = await media_info(server, acme, media_id, phone_number_id=acme.phone_number_id)
    assert info.status_code == 200, info.text
    assert (await server.http.get(info.json()["url"], headers=acme.headers)).content == png(2, 2)
    graph_error(await media_info(server, globex, media_id), 100, 400, 33)

    # Deleting it through the API does not take it from the person's chat.
    assert (await server.http.delete(f"{V}/{media_id}", headers=acme.headers)).json() == {"success": True}
    mine = await server.http.get(f"/client/v1/media/{media_id}", headers=alice.headers)
    assert mine.status_code == 200 and mine.content == png(2, 2)


# --- media by id for a send ------------------------------------------------------------------------------------


async def test_resolve_media_id_checks_reach_and_kind(server: LiveServer) -> None:
    acme, globex = await create_business(server, "Acme"), await create_business(server, "Globex")
    image = int(await uploaded(server, acme, png(), "image/png", "logo.png"))
    sticker = int(await uploaded(server, acme, webp(), "image/webp"))

    def resolve(user_id: int, media_id: int, kind: str) -> Callable[[Any], Any]:
        return lambda conn: resolve_media_id(conn, {user_id}, media_id, kind)

    found = await server.container.db.read(resolve(acme.user_id, image, "image"))
    assert (found.media_id, found.mime_type, found.size, found.filename) == (image, "image/png", len(png()), "logo.png")
    assert (await server.container.db.read(resolve(acme.user_id, sticker, "sticker"))).mime_type == "image/webp"

    with pytest.raises(GraphError) as wrong_kind:
        await server.container.db.read(resolve(acme.user_id, image, "sticker"))
    assert wrong_kind.value.code == 131053
    with pytest.raises(GraphError) as not_theirs:
        await server.container.db.read(resolve(globex.user_id, image, "image"))
    assert not_theirs.value.code == 100
    with pytest.raises(GraphError) as unknown:
        await server.container.db.read(resolve(acme.user_id, 12345, "image"))
    assert unknown.value.code == 100


# --- media by link -------------------------------------------------------------------------------------------


Route = tuple[int, dict[str, str], bytes]


class Origin:
    """A plain HTTP/1.1 origin on loopback: path -> (status, headers, body); the body is close-delimited when
    no Content-Length is given."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        self.stalled: set[str] = set()  # paths that never answer
        self._server: asyncio.Server | None = None
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await reader.readline()).decode()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            path = line.split(" ")[1] if " " in line else "/"
            self.hits.append(path)
            if path in self.stalled:
                await asyncio.sleep(30)
            status, headers, body = self.routes.get(path, (404, {"Content-Type": "text/plain"}, b"no such file"))
            head = f"HTTP/1.1 {status} X\r\nConnection: close\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in headers.items()
            )
            writer.write(head.encode() + b"\r\n")
            for start in range(0, len(body), 64 * KB):
                writer.write(body[start : start + 64 * KB])
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    server = Origin()
    await server.start()
    yield server
    await server.stop()


def sized(mime: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": mime, "Content-Length": str(len(body))}


async def fetch(server: LiveServer, biz: Biz, kind: str, url: str) -> Any:
    c = server.container
    return await fetch_media_link_with(c.media, c.settings.media_fetch, biz.user_id, kind, url)


async def fetch_error(server: LiveServer, biz: Biz, kind: str, url: str, code: int = 131052) -> str:
    with pytest.raises(GraphError) as caught:
        await fetch(server, biz, kind, url)
    assert caught.value.code == code, caught.value
    return caught.value.details


async def test_link_media_is_fetched_sniffed_and_stored(server: LiveServer, origin: Origin) -> None:
    biz = await create_business(server)
    origin.routes["/pics/cat.png"] = (200, sized("image/png", png(5, 5)), png(5, 5))
    # A server that does not say what it sends: the extension and then the bytes decide.
    origin.routes["/files/menu.pdf"] = (200, {"Content-Type": "application/octet-stream"}, pdf())
    origin.routes["/blob"] = (200, {"Content-Disposition": 'attachment; filename="report.docx"'}, docx())
    origin.routes["/v.ogg"] = (200, {"Content-Type": "audio/ogg; codecs=opus"}, ogg_opus())

    image = await fetch(server, biz, "image", origin.url("/pics/cat.png"))
    assert (image.mime_type, image.size, image.filename) == ("image/png", len(png(5, 5)), "cat.png")
    document = await fetch(server, biz, "document", origin.url("/files/menu.pdf"))
    assert (document.mime_type, document.filename) == ("application/pdf", "menu.pdf")
    report = await fetch(server, biz, "document", origin.url("/blob"))
    assert (report.mime_type, report.filename) == (DOCX, "report.docx")
    assert (await fetch(server, biz, "audio", origin.url("/v.ogg"))).mime_type == "audio/ogg"

    # Stored as the business's own media: it can read it back through the API.
    info = await media_info(server, biz, str(image.media_id))
    assert info.status_code == 200 and info.json()["sha256"] == hashlib.sha256(png(5, 5)).hexdigest()
    assert (await server.http.get(info.json()["url"], headers=biz.headers)).content == png(5, 5)


async def test_link_redirects_are_followed_three_times_at_most(server: LiveServer, origin: Origin) -> None:
    biz = await create_business(server)
    origin.routes["/img"] = (200, sized("image/jpeg", jpeg()), jpeg())
    for hop in range(1, 5):
        origin.routes[f"/r{hop}"] = (302, {"Location": f"/r{hop + 1}" if hop < 4 else "/img"}, b"")
    assert (await fetch(server, biz, "image", origin.url("/r2"))).mime_type == "image/jpeg"
    assert "redirects" in await fetch_error(server, biz, "image", origin.url("/r1"))


async def test_link_failures_are_media_download_errors(server: LiveServer, origin: Origin) -> None:
    biz = await create_business(server)
    stored_before = (
        set(server.settings.resolved_media_dir.iterdir()) if server.settings.resolved_media_dir.exists() else set()
    )
    assert "404" in await fetch_error(server, biz, "image", origin.url("/missing.png"))

    big = png(padding=6 * MB)
    origin.routes["/big.png"] = (200, sized("image/png", big), big)
    assert "limit" in await fetch_error(server, biz, "image", origin.url("/big.png"))
    # Without a Content-Length the cap still holds while streaming.
    origin.routes["/stream.png"] = (200, {"Content-Type": "image/png"}, big)
    assert "5 MB" in await fetch_error(server, biz, "image", origin.url("/stream.png"))

    origin.routes["/page.png"] = (200, {"Content-Type": "text/html"}, b"<html>not an image</html>")
    assert "image/png" in await fetch_error(server, biz, "image", origin.url("/page.png"), code=131053)

    assert "http" in await fetch_error(server, biz, "image", "ftp://127.0.0.1/cat.png")
    assert "valid URL" in await fetch_error(server, biz, "image", "http://[::1")
    closed = origin.url("/x").replace(str(origin.port), str(_closed_port()))
    await fetch_error(server, biz, "image", closed)

    stored_after = (
        set(server.settings.resolved_media_dir.iterdir()) if server.settings.resolved_media_dir.exists() else set()
    )
    assert {p for p in stored_after - stored_before if not p.name.startswith(".")} == set()


async def test_a_link_that_never_answers_times_out(server: LiveServer, origin: Origin) -> None:
    biz = await create_business(server)
    origin.stalled.add("/slow.png")
    impatient = MediaFetchSettings(allow_private_networks=True, timeout_s=0.3)
    with pytest.raises(GraphError) as caught:
        await fetch_media_link_with(server.container.media, impatient, biz.user_id, "image", origin.url("/slow.png"))
    assert caught.value.code == 131052 and "in time" in caught.value.details


async def test_links_to_private_networks_are_refused_by_default(server: LiveServer, origin: Origin) -> None:
    biz = await create_business(server)
    origin.routes["/cat.png"] = (200, sized("image/png", png()), png())
    strict = MediaFetchSettings()
    with pytest.raises(GraphError) as caught:
        await fetch_media_link_with(server.container.media, strict, biz.user_id, "image", origin.url("/cat.png"))
    assert caught.value.code == 131052 and "public internet" in caught.value.details
    assert origin.hits == []
    # A public host redirecting to loopback is refused at the hop.
    origin.routes["/hop"] = (302, {"Location": origin.url("/cat.png")}, b"")
    with pytest.raises(GraphError):
        await fetch_media_link_with(server.container.media, strict, biz.user_id, "image", origin.url("/hop"))


async def test_a_link_whose_name_resolves_to_loopback_is_refused_on_the_address_dialled(
    server: LiveServer, origin: Origin
) -> None:
    """DNS rebinding: a name may answer a public address to a check and loopback to the connect. The one lookup
    is the one dialled: a name that answers 127.0.0.1 when the connection opens is refused there."""
    biz = await create_business(server)
    origin.routes["/cat.png"] = (200, sized("image/png", png()), png())
    lookups: list[str] = []

    async def rebinding_dns(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    url = f"http://cdn.rebind.test:{origin.port}/cat.png"
    with pytest.raises(GraphError) as caught:
        await fetch_media_link_with(
            server.container.media, MediaFetchSettings(), biz.user_id, "image", url, resolver=rebinding_dns
        )
    assert caught.value.code == 131052 and "public internet" in caught.value.details
    assert lookups == ["cdn.rebind.test"] and origin.hits == []


def stored_files(server: LiveServer) -> set[Path]:
    folder = server.settings.resolved_media_dir
    return {p for p in folder.iterdir() if not p.name.startswith(".")} if folder.exists() else set()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- third-party clients ---------------------------------------------------------------------------------------


async def test_pywa_uploads_reads_downloads_and_deletes(server: LiveServer, tmp_path: Path) -> None:
    pywa = pytest.importorskip("pywa")
    biz = await create_business(server)

    def run() -> tuple[str, Any, bytes, Path, Any]:
        wa = pywa.WhatsApp(
            phone_id=biz.phone_number_id, token=biz.token, api_version="23.0", session=httpx.Client(timeout=20)
        )
        wa.api._session.base_url = f"{server.base_url}{V}"
        media = wa.upload_media(media=png(4, 4), mime_type="image/png", filename="photo.png")
        url = wa.get_media_url(media.id)
        data = wa.get_media_bytes(url.url)
        saved = wa.download_media(url=url.url, path=tmp_path)
        deleted = wa.delete_media(media.id)
        return media.id, url, data, saved, deleted

    media_id, url, data, saved, deleted = await asyncio.to_thread(run)
    assert url.mime_type == "image/png" and url.sha256 == hashlib.sha256(png(4, 4)).hexdigest()
    assert data == png(4, 4)
    assert saved.name == "photo.png" and saved.read_bytes() == png(4, 4)
    assert bool(deleted) is True
    graph_error(await media_info(server, biz, media_id), 100, 400, 33)


async def test_heyoo_uploads_reads_downloads_and_deletes(server: LiveServer, tmp_path: Path) -> None:
    heyoo = pytest.importorskip("heyoo")
    biz = await create_business(server)
    source = tmp_path / "flyer.pdf"
    source.write_bytes(pdf())

    def run() -> tuple[Any, Any, Any, Any]:
        wa = heyoo.WhatsApp(token=biz.token, phone_number_id=biz.phone_number_id)
        wa.base_url = f"{server.base_url}{V}"
        uploaded_media = wa.upload_media(str(source))
        url = wa.query_media_url(uploaded_media["id"])
        saved = wa.download_media(url, "application/pdf", str(tmp_path / "copy"))
        return uploaded_media, url, saved, wa.delete_media(uploaded_media["id"])

    uploaded_media, url, saved, deleted = await asyncio.to_thread(run)
    assert uploaded_media is not None and url is not None
    assert Path(saved).read_bytes() == pdf()
    assert deleted == {"success": True}


# --- sending media to people ----------------------------------------------------------------------------------


async def test_people_receive_media_sent_by_id_and_by_link_even_after_the_business_deletes_it(
    server: LiveServer, origin: Origin
) -> None:
    biz = await create_business(server)
    alice = await server.user("Alice")
    await person_writes(server, alice, biz, "Send me the menu")
    media_id = await uploaded(server, biz, jpeg(), "image/jpeg", "dish.jpg")
    origin.routes["/menu.pdf"] = (200, sized("application/pdf", pdf()), pdf())

    by_id = await send(server, biz, {"to": alice.phone, "type": "image", "image": {"id": media_id}})
    assert by_id.status_code == 200, by_id.text
    by_link = await send(
        server, biz, {"to": alice.phone, "type": "document", "document": {"link": origin.url("/menu.pdf")}}
    )
    assert by_link.status_code == 200, by_link.text
    # pywa's `with wa.upload_media(...)` deletes the upload right after sending it.
    assert (await server.http.delete(f"{V}/{media_id}", headers=biz.headers)).json() == {"success": True}

    chats = (await server.http.get("/client/v1/chats", headers=alice.headers)).json()["chats"]
    [chat] = [c for c in chats if c["peer"] and c["peer"]["phone"] == biz.phone]
    messages = (await server.http.get(f"/client/v1/chats/{chat['id']}/messages", headers=alice.headers)).json()
    received = {m["type"]: m["media"] for m in messages["messages"] if m["type"] in ("image", "document")}
    assert received["image"]["id"] == media_id
    assert received["document"]["mime_type"] == "application/pdf" and received["document"]["filename"] == "menu.pdf"
    for item, data in ((received["image"], jpeg()), (received["document"], pdf())):
        download = await server.http.get(f"/client/v1/media/{item['id']}", headers=alice.headers)
        assert download.status_code == 200 and download.content == data

    # A link that cannot be fetched fails the send with Meta's media download error.
    failed = await send(server, biz, {"to": alice.phone, "type": "image", "image": {"link": origin.url("/gone.jpg")}})
    assert "404" in graph_error(failed, 131052)


async def test_a_retried_send_by_link_fetches_and_stores_the_file_once(server: LiveServer, origin: Origin) -> None:
    biz = await create_business(server)
    alice = await server.user("Alice")
    await person_writes(server, alice, biz, "Send me the menu")
    origin.routes["/menu.pdf"] = (200, sized("application/pdf", pdf()), pdf())
    message = {"to": alice.phone, "type": "document", "document": {"link": origin.url("/menu.pdf")}}

    first = await send(server, biz, message, **{"Idempotency-Key": "menu-1"})
    retry = await send(server, biz, message, **{"Idempotency-Key": "menu-1"})
    assert first.status_code == retry.status_code == 200, retry.text
    assert retry.json() == first.json()
    assert origin.hits.count("/menu.pdf") == 1  # the retry answered before fetching a second copy
    assert len(list(server.settings.resolved_media_dir.iterdir())) == 1

    other = {**message, "document": {"link": origin.url("/menu.pdf"), "caption": "today"}}
    reused = await send(server, biz, other, **{"Idempotency-Key": "menu-1"})
    assert "Idempotency-Key" in graph_error(reused, 100, 409)
    assert origin.hits.count("/menu.pdf") == 1
