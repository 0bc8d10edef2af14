"""What the browser's end-to-end encryption needs from the server beside the key directory: a fallback key numbered
like a one-time key, encrypted files the chat may download (and no one else), the crypto library served with the
types a browser insists on, and the safety number's QR code."""

from __future__ import annotations

from typing import Any

import pytest
import vodozemac

from parley.web import e2ee_pages
from tests.conftest import LiveServer, User
from tests.integration.test_e2ee_directory import API, Device, device_of, publish
from tests.integration.test_media import upload


async def test_a_fallback_key_with_a_one_time_keys_id_is_kept_and_handed_out_after_it(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    alice_device, bob_device = await device_of(server, alice), await device_of(server, bob)
    await publish(server, alice_device)
    await publish(server, bob_device, one_time=1)  # its id is AAAAAAAAAAA, like the first fallback key's
    bob_device.account.generate_fallback_key()
    [(key_id, key)] = bob_device.account.fallback_key.items()
    fallback = {f"signed_curve25519:{key_id}": bob_device.sign({"key": key.to_base64(), "fallback": True})}
    uploaded = await server.http.post(f"{API}/keys/upload", headers=bob.headers, json={"fallback_keys": fallback})
    assert uploaded.status_code == 200, uploaded.text

    claim = {"one_time_keys": {bob_device.mxid: {bob_device.device_id: "signed_curve25519"}}}
    answers = [await server.http.post(f"{API}/keys/claim", headers=alice.headers, json=claim) for _ in range(3)]
    claimed = [a.json()["one_time_keys"][bob_device.mxid][bob_device.device_id] for a in answers]
    assert list(claimed[0]) == list(claimed[1]) == [f"signed_curve25519:{key_id}"]  # the ids a device knows
    assert "fallback" not in next(iter(claimed[0].values()))
    assert next(iter(claimed[1].values()))["key"] == key.to_base64()
    assert claimed[2] == claimed[1]  # the fallback key stays until it is replaced
    synced = await server.http.get(f"{API}/keys/sync", headers=bob.headers)
    assert synced.json()["device_unused_fallback_key_types"] == ["signed_curve25519"]


def encrypted_by(device: Device) -> dict[str, Any]:
    outbound = vodozemac.GroupSession()
    return {
        "algorithm": "m.megolm.v1.aes-sha2",
        "ciphertext": outbound.encrypt(b'{"content":{"msgtype":"m.image"}}').to_base64(),
        "sender_key": device.account.curve25519_key.to_base64(),
        "session_id": outbound.session_id,
        "device_id": device.device_id,
    }


async def upload_ciphertext(server: LiveServer, user: User, data: bytes) -> str:
    response = await upload(server, user, data, "application/octet-stream", "encrypted.bin")
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def test_an_encrypted_files_blob_is_for_the_chat_only(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    alice_device = await device_of(server, alice)
    blob = bytes(range(256)) * 8  # ciphertext: no type to sniff
    media_id = await upload_ciphertext(server, alice, blob)
    assert (await server.http.get(f"{API}/media/{media_id}", headers=bob.headers)).status_code == 404

    send = {"to": bob.phone, "type": "encrypted", "encrypted": encrypted_by(alice_device), "client_id": "p1"}
    sent = await server.http.post(f"{API}/messages", headers=alice.headers, json={**send, "attachments": [media_id]})
    assert sent.status_code == 200, sent.text
    again = await server.http.post(f"{API}/messages", headers=alice.headers, json={**send, "attachments": [media_id]})
    assert again.json()["id"] == sent.json()["id"]  # a retry: the first message, nothing new
    downloaded = await server.http.get(f"{API}/media/{media_id}", headers=bob.headers)
    assert downloaded.status_code == 200 and downloaded.content == blob
    assert (await server.http.get(f"{API}/media/{media_id}", headers=carol.headers)).status_code == 404

    # Someone else's upload can't be smuggled into a chat by naming it; plain messages name media in their body.
    carols = await upload_ciphertext(server, carol, blob)
    stolen = {**send, "client_id": "p2", "encrypted": encrypted_by(alice_device), "attachments": [carols]}
    refused = await server.http.post(f"{API}/messages", headers=alice.headers, json=stolen)
    assert refused.status_code == 404
    plain = {"to": bob.phone, "type": "text", "text": {"body": "hi"}, "client_id": "p3", "attachments": [media_id]}
    invalid = await server.http.post(f"{API}/messages", headers=alice.headers, json=plain)
    assert invalid.status_code == 400
    assert "attachments" in invalid.json()["error"]["message"]


async def test_the_crypto_library_is_served_with_browser_types_or_said_missing(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    vendor = "/static/vendor/matrix-sdk-crypto-wasm"
    if e2ee_pages.crypto_library_dir() is not None:  # installed by `npm ci` (scripts/test.sh does it)
        module = await server.http.get(f"{vendor}/index.mjs")
        assert module.status_code == 200 and module.headers["content-type"].startswith("text/javascript")
        wasm = await server.http.get(f"{vendor}/pkg/matrix_sdk_crypto_wasm_bg.wasm")
        assert wasm.headers["content-type"] == "application/wasm" and wasm.content[:4] == b"\0asm"
    assert (await server.http.get(f"{vendor}/package.json")).status_code == 404  # only what the browser loads
    assert (await server.http.get(f"{vendor}/../../../pyproject.toml")).status_code == 404
    monkeypatch.setattr(e2ee_pages, "crypto_library_dir", lambda: None)  # a deployment that skipped `npm ci`
    missing = await server.http.get(f"{vendor}/index.mjs")
    assert missing.status_code == 404 and "npm ci" in missing.text
    page = await server.http.get("/app")
    assert "'wasm-unsafe-eval'" in page.headers["content-security-policy"]


async def test_the_safety_numbers_qr_code(server: LiveServer) -> None:
    number = "12345" * 12
    qr = await server.http.get("/safety-qr.svg", params={"number": number})
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in qr.content
    for bad in ("1234", "12345" * 11 + "1234x", "<script>"):
        refused = await server.http.get("/safety-qr.svg", params={"number": bad})
        assert refused.status_code == 400, bad
