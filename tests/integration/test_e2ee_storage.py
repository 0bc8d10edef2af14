"""What the server keeps of encrypted chats: an encrypted image is ciphertext on disk that the recipient turns back
into the exact bytes, and no text column, database file or media file holds any message's plaintext."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import String, select
from sqlalchemy.engine import Connection

from parley.kit.db import metadata
from tests.conftest import LiveServer
from tests.integration.e2ee_helpers import chat_id_with, person

# A PNG header then a distinctive run, so a plaintext copy anywhere on disk would be found.
IMAGE = b"\x89PNG\r\n\x1a\n" + b"PLAINTEXT-PIXELS-" * 400


async def test_an_encrypted_image_is_ciphertext_on_disk_and_decrypts_to_the_exact_bytes(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    await alice.device.send_file(IMAGE, mimetype="image/png", body="cat.png", to=bob.phone)

    chat = await chat_id_with(bob, alice)
    [message] = await bob.device.read_chat(chat)
    assert message.event is not None
    content = message.event.content
    assert content["msgtype"] == "m.image" and content["info"] == {"mimetype": "image/png", "size": len(IMAGE)}
    assert content["file"]["url"].startswith("parley-media://")
    assert await bob.device.download_file(content) == IMAGE

    blobs = [p.read_bytes() for p in _files(server.settings.resolved_media_dir)]
    assert blobs, "the upload should be on disk"
    assert all(b"PLAINTEXT-PIXELS" not in blob and b"PNG" not in blob[:8] for blob in blobs)
    assert any(len(blob) == len(IMAGE) for blob in blobs)  # the ciphertext blob (AES-CTR keeps the length)


async def test_no_table_file_or_media_blob_holds_the_plaintext_of_any_message(server: LiveServer) -> None:
    alice, bob, carol = await person(server, "Alice"), await person(server, "Bob"), await person(server, "Carol")
    secrets = [f"secret-{hashlib.sha256(str(i).encode()).hexdigest()[:12]}" for i in range(6)]
    group = await alice.api.create_group("Secret club", [bob.phone, carol.phone])
    await alice.device.send_text(secrets[0], to=bob.phone)
    await bob.device.send_text(secrets[1], to=alice.phone)
    await alice.device.send_text(secrets[2], group_id=str(group["id"]))
    await carol.device.send_text(secrets[3], group_id=str(group["id"]))
    await bob.device.send_file(
        secrets[4].encode() * 50, mimetype="text/plain", body=secrets[5], to=carol.phone, msgtype="m.file"
    )
    for reader in (alice, bob, carol):
        await reader.device.sync()  # room keys delivered and acknowledged: the to-device queue is drained too

    chat = await chat_id_with(bob, alice)
    assert [m.body for m in await bob.device.read_chat(chat)] == secrets[:2]  # the people still read everything

    found = await server.container.db.read(lambda conn: _text_cells_containing(conn, secrets))
    assert found == []
    for blob in _files(server.settings.resolved_media_dir):
        assert not any(s.encode() in blob.read_bytes() for s in secrets), blob
    if server.settings.resolved_database_url.startswith("sqlite"):
        for path in _files(server.settings.data_dir):  # the database file, its WAL, and anything beside it
            data = path.read_bytes()
            assert not any(s.encode() in data for s in secrets), path


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _text_cells_containing(conn: Connection, needles: list[str]) -> list[tuple[str, str]]:
    """(table, column) of every text cell in every table that contains one of `needles`."""
    hits: list[tuple[str, str]] = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, String):
                continue
            for (value,) in conn.execute(select(column).where(column.is_not(None))):
                if any(n in str(value) for n in needles):
                    hits.append((table.name, column.name))
    return hits


async def test_an_encrypted_blob_reaches_chat_peers_only_and_never_rides_a_plaintext_send(server: LiveServer) -> None:
    alice, bob, eve = await person(server, "Alice"), await person(server, "Bob"), await person(server, "Eve")
    blob = await alice.api.upload_media(b"\x00ciphertext" * 10)
    assert blob["mime_type"] == "application/octet-stream"
    refused = await alice.api.raw(
        "POST",
        "/messages",
        json={"to": bob.phone, "type": "document", "document": {"id": blob["id"]}, "client_id": "plain-doc"},
    )
    assert refused.status_code == 400, refused.text
    assert (await bob.api.raw("GET", f"/media/{blob['id']}")).status_code == 404  # no chat with Alice yet

    await alice.device.send_text("hello", to=bob.phone)
    assert await bob.api.download_media(blob["id"]) == b"\x00ciphertext" * 10
    assert (await eve.api.raw("GET", f"/media/{blob['id']}")).status_code == 404
