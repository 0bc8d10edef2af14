"""Bad input to the key directory, the to-device relay and encrypted sends gets a clear 4xx, never a 500, and
changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from parley.client import ParleyAPIError
from tests.conftest import LiveServer
from tests.integration.business_helpers import create_business
from tests.integration.e2ee_helpers import person


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"]
    return str(body["error"]["code"])


async def test_a_malformed_megolm_ciphertext_on_send_is_refused_and_nothing_is_stored(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    good = alice.device.megolm_encrypt("!dm-1-2:parley", {"msgtype": "m.text", "body": "x"})
    for bad in (
        good | {"ciphertext": "not base64 at all!"},
        good | {"ciphertext": good["ciphertext"][:20]},  # truncated: the MAC and signature are missing
        good | {"algorithm": "m.olm.v1.curve25519-aes-sha2"},
        {k: v for k, v in good.items() if k != "session_id"},
    ):
        response = await alice.api.raw(
            "POST",
            "/messages",
            json={"to": bob.phone, "type": "encrypted", "encrypted": bad, "client_id": uuid.uuid4().hex},
        )
        _error(response, 400)
    assert await bob.api.chats() == []


async def test_a_malformed_olm_ciphertext_on_send_to_device_is_refused(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    target = {f"@{bob.user_id}:parley": {bob.device.device_id: None}}
    for content in (
        {
            "algorithm": "m.olm.v1.curve25519-aes-sha2",
            "sender_key": alice.device.curve25519,
            "ciphertext": {bob.device.curve25519: {"type": 0, "body": "AAAA"}},
        },
        {
            "algorithm": "m.olm.v1.curve25519-aes-sha2",
            "sender_key": alice.device.curve25519,
            "ciphertext": {bob.device.curve25519: {"type": 7, "body": "AwgA"}},
        },
        {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "x"},
        {"algorithm": "m.olm.v1.curve25519-aes-sha2", "sender_key": alice.device.curve25519},
    ):
        messages = {user: dict.fromkeys(devices, content) for user, devices in target.items()}
        response = await alice.api.raw(
            "PUT", f"/sendToDevice/m.room.encrypted/{uuid.uuid4().hex}", json={"messages": messages}
        )
        _error(response, 400)
    assert (await bob.api.keys_sync())["to_device"]["events"] == []


async def test_claims_of_exhausted_one_time_keys_answer_409(server: LiveServer) -> None:
    alice = await person(server, "Alice")
    bob = await person(server, "Bob", fallback_key=False)
    wanted = {f"@{bob.user_id}:parley": {bob.device.device_id: "signed_curve25519"}}
    claimed = set()
    for _ in range(50):
        answer = await alice.api.keys_claim(wanted)
        [(key_id, _key)] = answer["one_time_keys"][f"@{bob.user_id}:parley"][bob.device.device_id].items()
        claimed.add(key_id)
    assert len(claimed) == 50  # each one-time key handed out once
    response = await alice.api.raw("POST", "/keys/claim", json={"one_time_keys": wanted})
    assert _error(response, 409) == "one_time_keys_exhausted"


async def test_the_fallback_key_answers_once_one_time_keys_run_out(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    wanted = {f"@{bob.user_id}:parley": {bob.device.device_id: "signed_curve25519"}}
    one_time_ids = set()
    for _ in range(50):
        answer = await alice.api.keys_claim(wanted)
        one_time_ids |= set(answer["one_time_keys"][f"@{bob.user_id}:parley"][bob.device.device_id])
    for _ in range(2):
        answer = await alice.api.keys_claim(wanted)
        [(key_id, key)] = answer["one_time_keys"][f"@{bob.user_id}:parley"][bob.device.device_id].items()
        assert key.get("fallback") is True
        # vodozemac numbers fallback keys apart: the id is also a one-time key's, and is handed out as given.
        assert key_id in one_time_ids
    assert (await bob.api.keys_sync())["device_unused_fallback_key_types"] == ["signed_curve25519"]


async def test_key_uploads_for_another_users_device_are_forbidden(server: LiveServer) -> None:
    alice, mallory = await person(server, "Alice"), await person(server, "Mallory")
    response = await mallory.api.raw("POST", "/keys/upload", json={"device_keys": alice.device.device_keys()})
    assert _error(response, 403) == "forbidden"
    before = await mallory.api.keys_query([f"@{alice.user_id}:parley"])
    assert before["device_keys"][f"@{alice.user_id}:parley"][alice.device.device_id] == alice.device.device_keys()


async def test_a_bad_signature_is_refused(server: LiveServer) -> None:
    alice = await person(server, "Alice")
    keys = alice.device.device_keys()
    tampered = keys | {"algorithms": ["m.olm.v1.curve25519-aes-sha2"]}  # the signature no longer covers this
    _error(await alice.api.raw("POST", "/keys/upload", json={"device_keys": tampered}), 400)
    otk = {"signed_curve25519:AAAAAQ": {"key": alice.device.curve25519, "signatures": keys["signatures"]}}
    _error(await alice.api.raw("POST", "/keys/upload", json={"one_time_keys": otk}), 400)


async def test_changing_a_published_identity_key_is_a_conflict(server: LiveServer) -> None:
    alice = await person(server, "Alice")
    impostor = type(alice.device)(alice.api)  # new keys under the same device id
    response = await alice.api.raw("POST", "/keys/upload", json={"device_keys": impostor.device_keys()})
    _error(response, 409)


async def test_an_encrypted_send_to_a_business_is_refused(server: LiveServer) -> None:
    alice = await person(server, "Alice")
    biz = await create_business(server, "Acme")
    with pytest.raises(ParleyAPIError) as refused:
        await alice.device.send_text("my card number", to=biz.phone)
    assert refused.value.status == 400
    assert (await alice.device.query_devices([f"@{biz.user_id}:parley"])) == {f"@{biz.user_id}:parley": {}}
