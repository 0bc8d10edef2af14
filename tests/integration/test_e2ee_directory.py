"""The key directory and the to-device relay as a device sees them: its keys published and claimed once, ciphertext
relayed and acknowledged, encrypted messages stored unread; bad input refused with a clear error, never a 500."""

from __future__ import annotations

import base64
import json
from typing import Any

import canonicaljson
import vodozemac
from sqlalchemy import func, select

from parley.e2ee import repository as e2ee_repo
from parley.e2ee.models import e2ee_to_device
from tests.conftest import LiveServer, User

API = "/client/v1"


class Device:
    """The least a device does to publish keys: a vodozemac account signing Matrix-shaped objects."""

    def __init__(self, user: User, device_id: int) -> None:
        self.user, self.device_id, self.account = user, str(device_id), vodozemac.Account()
        self.mxid = f"@{user.user_id}:parley"

    def sign(self, obj: dict[str, Any]) -> dict[str, Any]:
        signature = self.account.sign(canonicaljson.encode_canonical_json(obj)).to_base64()
        return {**obj, "signatures": {self.mxid: {f"ed25519:{self.device_id}": signature}}}

    def device_keys(self) -> dict[str, Any]:
        return self.sign(
            {
                "user_id": self.mxid,
                "device_id": self.device_id,
                "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
                "keys": {
                    f"curve25519:{self.device_id}": self.account.curve25519_key.to_base64(),
                    f"ed25519:{self.device_id}": self.account.ed25519_key.to_base64(),
                },
            }
        )

    def one_time_keys(self, count: int) -> dict[str, Any]:
        self.account.generate_one_time_keys(count)
        keys = {
            f"signed_curve25519:{key_id}": self.sign({"key": key.to_base64()})
            for key_id, key in self.account.one_time_keys.items()
        }
        self.account.mark_keys_as_published()
        return keys


async def device_of(server: LiveServer, user: User) -> Device:
    principal = await server.container.accounts.authenticate(user.token)
    return Device(user, principal.device_id)


async def publish(server: LiveServer, device: Device, one_time: int = 2) -> dict[str, Any]:
    body = {"device_keys": device.device_keys(), "one_time_keys": device.one_time_keys(one_time)}
    response = await server.http.post(f"{API}/keys/upload", headers=device.user.headers, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_keys_are_published_queried_and_each_one_time_key_claimed_once(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    alice_device, bob_device = await device_of(server, alice), await device_of(server, bob)
    assert (await publish(server, bob_device, one_time=2))["one_time_key_counts"] == {"signed_curve25519": 2}
    await publish(server, alice_device)

    queried = await server.http.post(
        f"{API}/keys/query", headers=alice.headers, json={"device_keys": {bob_device.mxid: []}}
    )
    keys = queried.json()["device_keys"][bob_device.mxid][bob_device.device_id]
    assert keys["keys"][f"ed25519:{bob_device.device_id}"] == bob_device.account.ed25519_key.to_base64()

    claim = {"one_time_keys": {bob_device.mxid: {bob_device.device_id: "signed_curve25519"}}}
    first = await server.http.post(f"{API}/keys/claim", headers=alice.headers, json=claim)
    second = await server.http.post(f"{API}/keys/claim", headers=alice.headers, json=claim)
    claimed = [
        next(iter(r.json()["one_time_keys"][bob_device.mxid][bob_device.device_id].values()))["key"]
        for r in (first, second)
    ]
    assert claimed[0] != claimed[1]  # each one-time key is handed out once
    exhausted = await server.http.post(f"{API}/keys/claim", headers=alice.headers, json=claim)
    assert exhausted.status_code == 409
    assert exhausted.json()["error"]["code"] == "one_time_keys_exhausted"


async def test_keys_for_another_users_device_or_badly_signed_are_refused(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    alice_device, bob_device = await device_of(server, alice), await device_of(server, bob)
    forged = await server.http.post(
        f"{API}/keys/upload", headers=alice.headers, json={"device_keys": bob_device.device_keys()}
    )
    assert forged.status_code == 403
    tampered = alice_device.device_keys()
    tampered["keys"][f"curve25519:{alice_device.device_id}"] = bob_device.account.curve25519_key.to_base64()
    bad = await server.http.post(f"{API}/keys/upload", headers=alice.headers, json={"device_keys": tampered})
    assert bad.status_code == 400
    assert "signature" in bad.json()["error"]["message"]
    # Nothing of the refused uploads was kept.
    queried = await server.http.post(
        f"{API}/keys/query", headers=bob.headers, json={"device_keys": {alice_device.mxid: []}}
    )
    assert queried.json()["device_keys"][alice_device.mxid] == {}


async def test_olm_ciphertext_is_relayed_once_and_acknowledged(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    alice_device, bob_device = await device_of(server, alice), await device_of(server, bob)
    await publish(server, alice_device)
    await publish(server, bob_device)
    claim = {"one_time_keys": {bob_device.mxid: {bob_device.device_id: "signed_curve25519"}}}
    claimed = (await server.http.post(f"{API}/keys/claim", headers=alice.headers, json=claim)).json()
    otk = next(iter(claimed["one_time_keys"][bob_device.mxid][bob_device.device_id].values()))["key"]
    session = alice_device.account.create_outbound_session(
        bob_device.account.curve25519_key, vodozemac.Curve25519PublicKey.from_base64(otk)
    )
    message_type, ciphertext = session.encrypt(b'{"type":"m.dummy"}').to_parts()
    body64 = base64.b64encode(ciphertext).decode().rstrip("=")
    content = {
        "algorithm": "m.olm.v1.curve25519-aes-sha2",
        "sender_key": alice_device.account.curve25519_key.to_base64(),
        "ciphertext": {bob_device.account.curve25519_key.to_base64(): {"type": message_type, "body": body64}},
    }
    messages = {"messages": {bob_device.mxid: {bob_device.device_id: content}}}
    for _ in range(2):  # a retry of the same transaction queues nothing twice
        sent = await server.http.put(f"{API}/sendToDevice/m.room.encrypted/t1", headers=alice.headers, json=messages)
        assert sent.status_code == 200, sent.text

    synced = (await server.http.get(f"{API}/keys/sync", headers=bob.headers)).json()
    [event] = synced["to_device"]["events"]
    assert event["sender"] == alice_device.mxid
    pre_key = vodozemac.AnyOlmMessage.from_parts(
        event["content"]["ciphertext"][bob_device.account.curve25519_key.to_base64()]["type"],
        base64.b64decode(body64 + "=" * (-len(body64) % 4)),
    ).to_pre_key()
    assert pre_key is not None
    _, plaintext = bob_device.account.create_inbound_session(alice_device.account.curve25519_key, pre_key)
    assert json.loads(plaintext) == {"type": "m.dummy"}
    again = (
        await server.http.get(f"{API}/keys/sync", headers=bob.headers, params={"since": synced["next_batch"]})
    ).json()
    assert again["to_device"]["events"] == []  # acknowledged by passing next_batch

    broken = {
        **content,
        "ciphertext": {bob_device.account.curve25519_key.to_base64(): {"type": 0, "body": "bm90IG9sbQ"}},
    }
    refused = await server.http.put(
        f"{API}/sendToDevice/m.room.encrypted/t2",
        headers=alice.headers,
        json={"messages": {bob_device.mxid: {bob_device.device_id: broken}}},
    )
    assert refused.status_code == 400
    assert "malformed Olm ciphertext" in refused.json()["error"]["message"]


async def test_an_encrypted_message_is_stored_unread_and_refused_when_malformed_or_to_a_business(
    server: LiveServer,
) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    alice_device = await device_of(server, alice)
    outbound = vodozemac.GroupSession()
    ciphertext = outbound.encrypt(b'{"type":"m.room.message","content":{"msgtype":"m.text","body":"secret plans"}}')
    encrypted = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "ciphertext": ciphertext.to_base64(),
        "sender_key": alice_device.account.curve25519_key.to_base64(),
        "session_id": outbound.session_id,
        "device_id": alice_device.device_id,
    }
    sent = await server.http.post(
        f"{API}/messages",
        headers=alice.headers,
        json={"to": bob.phone, "type": "encrypted", "encrypted": encrypted, "client_id": "e1"},
    )
    assert sent.status_code == 200, sent.text
    history = await server.http.get(f"{API}/chats/{sent.json()['chat_id']}/messages", headers=bob.headers)
    [message] = history.json()["messages"]
    assert message["type"] == "encrypted" and message["text"] is None
    assert message["encrypted"]["ciphertext"] == encrypted["ciphertext"]

    malformed = {**encrypted, "ciphertext": "bm90IG1lZ29sbQ"}
    refused = await server.http.post(
        f"{API}/messages",
        headers=alice.headers,
        json={"to": bob.phone, "type": "encrypted", "encrypted": malformed, "client_id": "e2"},
    )
    assert refused.status_code == 400
    assert "Megolm" in refused.text


async def test_a_signed_out_device_leaves_the_directory_and_peers_hear_of_it(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    alice_device, bob_device = await device_of(server, alice), await device_of(server, bob)
    await publish(server, alice_device)
    await publish(server, bob_device)
    await server.send_text(alice, "hi", to=bob)  # they share a chat: Alice hears of Bob's device changes
    server.clock.advance(seconds=11)  # the keys published above are settled news: the next sync moves past them
    first = (await server.http.get(f"{API}/keys/sync", headers=alice.headers)).json()

    signed_out = await server.http.post(f"{API}/auth/logout", headers=bob.headers)
    assert signed_out.status_code == 204

    queried = await server.http.post(
        f"{API}/keys/query", headers=alice.headers, json={"device_keys": {bob_device.mxid: []}}
    )
    assert queried.json()["device_keys"][bob_device.mxid] == {}
    later = await server.http.get(f"{API}/keys/sync", headers=alice.headers, params={"since": first["next_batch"]})
    assert later.json()["device_lists"]["changed"] == [bob_device.mxid]


async def test_what_another_process_commits_late_with_a_smaller_id_still_reaches_the_device(
    server: LiveServer,
) -> None:
    """Ids come from each process's clock: with several processes, a to-device message or a device-list change can
    commit after a sync handed over a newer one. It is handed over next time, never acknowledged away unseen."""
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    alice_device, bob_device, carol_device = [await device_of(server, u) for u in (alice, bob, carol)]
    for device in (alice_device, bob_device):
        await publish(server, device)
    await server.send_text(alice, "hi", to=bob)  # they share a chat: Bob hears of Alice's device changes
    server.clock.advance(seconds=11)
    c = server.container

    sent = await server.http.put(
        f"{API}/sendToDevice/m.dummy/t2",
        headers=alice.headers,
        json={"messages": {bob_device.mxid: {bob_device.device_id: {"n": 2}}}},
    )
    assert sent.status_code == 200, sent.text
    await publish(server, carol_device)  # a device-list change of someone Bob does not talk to
    first = (await server.http.get(f"{API}/keys/sync", headers=bob.headers)).json()
    assert [e["content"] for e in first["to_device"]["events"]] == [{"n": 2}]
    assert first["device_lists"]["changed"] == []

    # Another process drew smaller ids before those, and commits only now.
    newest_message = int(first["next_batch"].split("_")[0])
    newest_change = await c.db.read(e2ee_repo.last_device_list_change)
    late_message = {
        "id": newest_message - 1,
        "recipient_device_id": int(bob_device.device_id),
        "sender_user_id": int(alice.user_id),
        "sender_device_id": int(alice_device.device_id),
        "type": "m.dummy",
        "content": json.dumps({"n": 1}),
        "txn_id": "t1",
        "created_at": server.clock.now_ms(),
    }
    await c.db.write("test.late", lambda conn: e2ee_repo.queue_to_device(conn, [late_message]))
    await c.db.write(
        "test.late",
        lambda conn: e2ee_repo.note_device_list_change(conn, newest_change - 1, int(alice.user_id), 0),
    )

    later = (
        await server.http.get(f"{API}/keys/sync", headers=bob.headers, params={"since": first["next_batch"]})
    ).json()
    assert [e["content"] for e in later["to_device"]["events"]] == [{"n": 1}]  # handed over, not deleted unseen
    assert later["device_lists"]["changed"] == [alice_device.mxid]
    server.clock.advance(seconds=11)  # the change is settled news: listed once more, then no longer
    settled = (
        await server.http.get(f"{API}/keys/sync", headers=bob.headers, params={"since": later["next_batch"]})
    ).json()
    assert settled["to_device"]["events"] == []
    assert settled["device_lists"]["changed"] == [alice_device.mxid]
    quiet = (
        await server.http.get(f"{API}/keys/sync", headers=bob.headers, params={"since": settled["next_batch"]})
    ).json()
    assert quiet["to_device"]["events"] == [] and quiet["device_lists"]["changed"] == []
    queued = (
        select(func.count())
        .select_from(e2ee_to_device)
        .where(e2ee_to_device.c.recipient_device_id == int(bob_device.device_id))
    )
    assert await c.db.read(lambda conn: conn.execute(queued).scalar_one()) == 0  # acknowledged, so deleted
