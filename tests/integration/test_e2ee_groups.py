"""Encrypted groups: a removed member's devices never get the next room key; sessions rotate after 100 messages
and after a week."""

from __future__ import annotations

import pytest

from parley.client import ROTATE_AFTER_MESSAGES, DecryptionError, group_room_id
from tests.conftest import LiveServer
from tests.integration.e2ee_helpers import bodies, person


async def test_a_removed_member_cannot_decrypt_what_follows_while_the_others_can(server: LiveServer) -> None:
    alice, bob, carol = await person(server, "Alice"), await person(server, "Bob"), await person(server, "Carol")
    group = await alice.api.create_group("Climbing", [bob.phone, carol.phone])
    gid = str(group["id"])
    await alice.device.send_text("Saturday at the crag", group_id=gid)
    await bob.device.send_text("I'm in", group_id=gid)
    assert bodies(await carol.device.read_chat(gid)) == ["Saturday at the crag", "I'm in"]

    await alice.api.remove_member(gid, carol.user_id)
    await alice.device.send_text("new plan: Sunday", group_id=gid)
    await bob.device.send_text("Sunday works", group_id=gid)

    for reader in (alice, bob):
        assert bodies(await reader.device.read_chat(gid)) == [
            "Saturday at the crag",
            "I'm in",
            "new plan: Sunday",
            "Sunday works",
        ]
    later = [m.raw["encrypted"] for m in (await bob.device.read_chat(gid))[2:]]
    keys = await carol.device.sync()
    assert not any(k["content"].get("session_id") in {e["session_id"] for e in later} for k in keys)
    for encrypted, sender in zip(later, (alice, bob), strict=True):
        with pytest.raises(DecryptionError, match="unknown session"):
            carol.device.megolm_decrypt(group_room_id(gid), encrypted, sender.user_id)


async def test_a_sender_key_rotates_after_100_messages_and_everyone_still_reads(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    group = await alice.api.create_group("Chatty", [bob.phone])
    gid = str(group["id"])
    for i in range(ROTATE_AFTER_MESSAGES + 1):
        await alice.device.send_text(f"message {i}", group_id=gid)
    read = await bob.device.read_chat(gid, limit=100)
    assert bodies(read) == [f"message {i}" for i in range(1, ROTATE_AFTER_MESSAGES + 1)]
    sessions = [m.raw["encrypted"]["session_id"] for m in read]
    assert len(set(sessions[:-1])) == 1 and sessions[-1] != sessions[0]
    assert read[-1].event is not None and read[-1].event.message_index == 0


async def test_a_sender_key_rotates_after_a_week(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    group = await alice.api.create_group("Weekly", [bob.phone])
    gid = str(group["id"])
    await alice.device.send_text("week one", group_id=gid)
    await alice.device.send_text("still week one", group_id=gid)
    server.clock.advance(hours=7 * 24, minutes=1)
    await alice.device.send_text("week two", group_id=gid)
    read = await bob.device.read_chat(gid)
    assert bodies(read) == ["week one", "still week one", "week two"]
    sessions = [m.raw["encrypted"]["session_id"] for m in read]
    assert sessions[0] == sessions[1] != sessions[2]


async def test_a_signed_out_device_never_gets_the_next_room_key(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    bob_tablet = await person(server, "Bob", bob.phone)
    group = await alice.api.create_group("Family", [bob.phone])
    gid = str(group["id"])
    await alice.device.send_text("dinner at 8", group_id=gid)
    assert bodies(await bob_tablet.device.read_chat(gid)) == ["dinner at 8"]

    await bob.api.call("DELETE", f"/devices/{bob_tablet.device.device_id}")  # the tablet was lost
    await alice.device.send_text("the door code is new", group_id=gid)
    later = (await bob.device.read_chat(gid))[-1]
    assert later.body == "the door code is new"
    assert later.raw["encrypted"]["session_id"] != (await bob.device.read_chat(gid))[0].raw["encrypted"]["session_id"]
    with pytest.raises(DecryptionError, match="unknown session"):
        bob_tablet.device.megolm_decrypt(group_room_id(gid), later.raw["encrypted"], alice.user_id)
