"""Media: uploads checked by type, size and content; downloads only for the uploader and chat members."""

from __future__ import annotations

import hashlib
import struct
import uuid
import zlib
from typing import Any

import httpx

from tests.conftest import LiveServer, User

API = "/client/v1"
MB = 1024 * 1024


def png(width: int = 1, height: int = 1) -> bytes:
    """A real (tiny, grey) PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def upload(server: LiveServer, user: User, data: bytes, mime: str, filename: str = "file") -> httpx.Response:
    return await server.http.post(f"{API}/media", headers=user.headers, files={"file": (filename, data, mime)})


async def send_media(
    server: LiveServer,
    sender: User,
    media_id: str,
    *,
    kind: str = "image",
    to: User | None = None,
    group_id: str | None = None,
    caption: str | None = None,
) -> httpx.Response:
    target: dict[str, Any] = {"to": to.phone} if to is not None else {"group_id": group_id}
    item: dict[str, Any] = {"id": media_id}
    if caption is not None:
        item["caption"] = caption
    return await server.http.post(
        f"{API}/messages",
        headers=sender.headers,
        json={**target, "type": kind, kind: item, "client_id": uuid.uuid4().hex},
    )


async def test_image_round_trip(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    image = png(4, 3)
    uploaded = await upload(server, alice, image, "image/png", "holiday.png")
    assert uploaded.status_code == 200
    info = uploaded.json()
    assert info["mime_type"] == "image/png"
    assert info["size"] == len(image)
    assert info["sha256"] == hashlib.sha256(image).hexdigest()
    assert info["filename"] == "holiday.png"

    sent = await send_media(server, alice, info["id"], to=bob, caption="the beach")
    assert sent.status_code == 200
    [message] = (await server.http.get(f"{API}/chats/{sent.json()['chat_id']}/messages", headers=bob.headers)).json()[
        "messages"
    ]
    assert message["type"] == "image"
    assert message["text"] is None
    assert message["media"] == {
        "id": info["id"],
        "mime_type": "image/png",
        "size": len(image),
        "filename": "holiday.png",
        "caption": "the beach",
    }

    download = await server.http.get(f"{API}/media/{info['id']}", headers=bob.headers)
    assert download.status_code == 200
    assert download.content == image
    assert download.headers["content-type"] == "image/png"


async def test_the_uploader_can_fetch_before_sending_and_nobody_else_can(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    image = png()
    media_id = (await upload(server, alice, image, "image/png")).json()["id"]
    assert (await server.http.get(f"{API}/media/{media_id}", headers=alice.headers)).content == image
    assert (await server.http.get(f"{API}/media/{media_id}", headers=bob.headers)).status_code == 404
    assert (await server.http.get(f"{API}/media/{media_id}")).status_code == 401


async def test_outsiders_cannot_download(server: LiveServer) -> None:
    alice, bob, eve = await server.user("Alice"), await server.user("Bob"), await server.user("Eve")
    media_id = (await upload(server, alice, png(), "image/png")).json()["id"]
    await send_media(server, alice, media_id, to=bob)
    outsider = await server.http.get(f"{API}/media/{media_id}", headers=eve.headers)
    unknown = await server.http.get(f"{API}/media/{int(media_id) + 1}", headers=eve.headers)
    assert outsider.status_code == unknown.status_code == 404
    assert outsider.json() == unknown.json()


async def test_group_members_download_and_leavers_lose_access(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    group = (
        await server.http.post(
            f"{API}/groups", headers=alice.headers, json={"name": "G", "members": [bob.phone, carol.phone]}
        )
    ).json()
    pdf = b"%PDF-1.7\n" + b"x" * 1000
    media_id = (await upload(server, alice, pdf, "application/pdf", "minutes.pdf")).json()["id"]
    sent = await send_media(server, alice, media_id, kind="document", group_id=group["id"], caption="minutes")
    assert sent.status_code == 200
    for member in (bob, carol):
        download = await server.http.get(f"{API}/media/{media_id}", headers=member.headers)
        assert download.content == pdf
    await server.http.post(f"{API}/groups/{group['id']}/leave", headers=carol.headers)
    assert (await server.http.get(f"{API}/media/{media_id}", headers=carol.headers)).status_code == 404


async def test_refused_media_types(server: LiveServer) -> None:
    alice = await server.user("Alice")
    # application/octet-stream is an encrypted attachment's ciphertext (e2ee: test_e2ee_storage.py checks its rules).
    for mime in ("application/x-msdownload", "text/html", "image/svg+xml", ""):
        response = await upload(server, alice, b"MZ\x90\x00" + b"\x00" * 100, mime, "setup.exe")
        assert response.status_code == 415, mime
        assert response.json()["error"]["code"] == "unsupported_media_type"


async def test_content_must_match_the_declared_image_type(server: LiveServer) -> None:
    alice = await server.user("Alice")
    cases = [
        ("image/png", b"GIF89a" + b"\x00" * 100),
        ("image/png", b"\xff\xd8\xff\xe0" + b"\x00" * 100),  # a JPEG called PNG
        ("image/jpeg", png()),
        ("image/webp", b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 100),  # a WAV file is RIFF too
        ("application/pdf", b"MZ\x90\x00" + b"\x00" * 100),
    ]
    for mime, data in cases:
        response = await upload(server, alice, data, mime)
        assert response.status_code == 415, mime
    webp = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 100
    assert (await upload(server, alice, webp, "image/webp")).status_code == 200


async def test_image_size_limit_is_5_mb(server: LiveServer) -> None:
    alice = await server.user("Alice")
    header = png()
    exactly = header + b"\x00" * (5 * MB - len(header))
    assert (await upload(server, alice, exactly, "image/png")).status_code == 200
    over = await upload(server, alice, exactly + b"\x00", "image/png")
    assert over.status_code == 413
    assert over.json()["error"]["code"] == "payload_too_large"
    # A document of the same size is fine: its limit is 16 MB.
    assert (await upload(server, alice, b"%PDF" + b"\x00" * (5 * MB), "application/pdf")).status_code == 200


async def test_refused_uploads_leave_no_file_behind(server: LiveServer) -> None:
    alice = await server.user("Alice")
    media_dir = server.settings.resolved_media_dir
    before = set(media_dir.iterdir()) if media_dir.exists() else set()
    await upload(server, alice, png() + b"\x00" * (5 * MB), "image/png")
    await upload(server, alice, b"not a png", "image/png")
    await upload(server, alice, b"", "image/png")
    after = set(media_dir.iterdir()) if media_dir.exists() else set()
    assert after == before


async def test_malformed_uploads(server: LiveServer) -> None:
    alice = await server.user("Alice")
    empty = await upload(server, alice, b"", "image/png")
    assert empty.status_code == 400
    no_file = await server.http.post(f"{API}/media", headers=alice.headers, data={"file": "just text"})
    assert no_file.status_code == 400
    json_body = await server.http.post(f"{API}/media", headers=alice.headers, json={"file": "x"})
    assert json_body.status_code == 400
    for response in (empty, no_file, json_body):
        assert set(response.json()["error"]) == {"code", "message"}


async def test_filenames_lose_their_paths(server: LiveServer) -> None:
    alice = await server.user("Alice")
    response = await upload(server, alice, png(), "image/png", "../../etc/cat.png")
    assert response.json()["filename"] == "cat.png"
    windows = await upload(server, alice, png(), "image/png", "C:\\Users\\me\\dog.png")
    assert windows.json()["filename"] == "dog.png"


async def test_sending_media_you_cannot_see_is_not_found(server: LiveServer) -> None:
    alice, bob, eve = await server.user("Alice"), await server.user("Bob"), await server.user("Eve")
    private = (await upload(server, eve, png(), "image/png")).json()["id"]
    response = await send_media(server, alice, private, to=bob)
    assert response.status_code == 404
    assert (await server.http.get(f"{API}/chats", headers=bob.headers)).json()["chats"] == []
    # ...and Bob did not gain access to Eve's file through the failed send.
    assert (await server.http.get(f"{API}/media/{private}", headers=bob.headers)).status_code == 404


async def test_media_kind_must_match_the_message_type(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    image_id = (await upload(server, alice, png(), "image/png")).json()["id"]
    as_video = await send_media(server, alice, image_id, kind="video", to=bob)
    assert as_video.status_code == 400
    assert (await send_media(server, alice, image_id, kind="image", to=bob)).status_code == 200


async def test_media_can_be_forwarded_within_the_chat_it_was_shared_in(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    media_id = (await upload(server, alice, png(), "image/png")).json()["id"]
    await send_media(server, alice, media_id, to=bob)
    # Bob may send it back into the chat where he got it, but not on to Carol.
    assert (await send_media(server, bob, media_id, to=alice)).status_code == 200
    assert (await send_media(server, bob, media_id, to=carol)).status_code == 404
    assert (await server.http.get(f"{API}/media/{media_id}", headers=carol.headers)).status_code == 404


async def test_deleting_the_message_hides_the_media_reference(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    media_id = (await upload(server, alice, png(), "image/png")).json()["id"]
    sent = (await send_media(server, alice, media_id, to=bob, caption="oops")).json()
    await server.http.delete(f"{API}/messages/{sent['id']}", headers=alice.headers)
    [message] = (await server.http.get(f"{API}/chats/{sent['chat_id']}/messages", headers=bob.headers)).json()[
        "messages"
    ]
    assert message["deleted"] is True
    assert message["media"] is None
