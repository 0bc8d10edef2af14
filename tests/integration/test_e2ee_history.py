"""Chat history to a new device: a person's existing device sends another of theirs the room keys it holds (Olm,
relayed as ciphertext), and the new device then reads the 1:1 and group messages sent before it existed. Only the
person's own devices can send or receive it."""

from __future__ import annotations

import pytest

from parley.client import device as device_module
from tests.conftest import LiveServer
from tests.integration.e2ee_helpers import bodies, chat_id_with, person, signed_in


async def test_a_new_device_reads_the_past_once_another_device_of_the_person_sends_it(server: LiveServer) -> None:
    alice, bob, carol = await person(server, "Alice"), await person(server, "Bob"), await person(server, "Carol")
    await bob.device.send_text("before your new phone", to=alice.phone)
    await alice.device.send_text("noted", to=bob.phone)
    group = await alice.api.create_group("Book club", [bob.phone, carol.phone])
    gid = str(group["id"])
    await carol.device.send_text("chapter 3 by Friday", group_id=gid)
    await alice.device.send_text("deal", group_id=gid)

    alice_new = await signed_in(server, "Alice", alice.phone)
    chat = await chat_id_with(alice_new, bob)
    assert bodies(await alice_new.device.read_chat(chat)) == [None, None]
    assert bodies(await alice_new.device.read_chat(gid)) == [None, None]

    sent = await alice.device.transfer_history(alice_new.device.device_id)
    assert sent >= 4  # Bob's and Alice's sessions in the 1:1 chat, Carol's and Alice's in the group
    assert bodies(await alice_new.device.read_chat(chat)) == ["before your new phone", "noted"]
    assert bodies(await alice_new.device.read_chat(gid)) == ["chapter 3 by Friday", "deal"]
    assert alice_new.device.history_imported == sent
    # Who sent what stays checked: each message reads as from its sender.
    senders = {m.body: m.event.sender_user for m in await alice_new.device.read_chat(gid) if m.event}
    assert senders == {"chapter 3 by Friday": f"@{carol.user_id}:parley", "deal": f"@{alice.user_id}:parley"}

    # The new device goes on as any other: it reads what follows and its own sends reach everyone.
    await bob.device.send_text("welcome back", to=alice.phone)
    await alice_new.device.send_text("thanks", to=bob.phone)
    expected = ["before your new phone", "noted", "welcome back", "thanks"]
    assert bodies(await alice_new.device.read_chat(chat)) == expected
    assert bodies(await bob.device.read_chat(chat)) == expected


async def test_many_chats_travel_in_several_messages_and_a_second_transfer_adds_nothing(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(device_module, "HISTORY_BATCH", 2)  # a small batch: the five keys take three messages
    alice = await person(server, "Alice")
    friends = [await person(server, f"Friend {i}") for i in range(5)]
    for i, friend in enumerate(friends):
        await alice.device.send_text(f"hello {i}", to=friend.phone)
    alice_new = await person(server, "Alice", alice.phone)

    assert await alice.device.transfer_history(alice_new.device.device_id) == 5
    for i, friend in enumerate(friends):
        assert bodies(await alice_new.device.read_chat(await chat_id_with(alice_new, friend))) == [f"hello {i}"]
    assert alice_new.device.history_imported == 5
    await alice.device.transfer_history(alice_new.device.device_id)
    await alice_new.device.sync()
    assert alice_new.device.history_imported == 5  # the same keys again: nothing new


async def test_only_the_persons_own_devices_send_or_receive_history(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    await bob.device.send_text("our secret plan", to=alice.phone)
    alice_new = await person(server, "Alice", alice.phone)

    # Nobody sends their keys to someone else's device through this, nor to the device itself.
    with pytest.raises(ValueError, match="not another device of this person"):
        await alice.device.transfer_history(bob.device.device_id)
    with pytest.raises(ValueError, match="not another device of this person"):
        await alice.device.transfer_history(alice.device.device_id)

    # Bob forges a history message to Alice's new device with keys he holds: it imports nothing.
    target = (await bob.device.query_devices([alice_new.device.user]))[alice_new.device.user][
        alice_new.device.device_id
    ]
    await bob.device._ensure_olm([target])
    forged = bob.device.olm_encrypt(target, device_module.HISTORY_KEYS, {"keys": bob.device.exported_room_keys()})
    await bob.api.send_to_device("m.room.encrypted", {alice_new.device.user: {target.device_id: forged}}, "forged-1")
    await alice_new.device.sync()
    assert alice_new.device.history_imported == 0
    chat = await chat_id_with(alice_new, bob)
    assert bodies(await alice_new.device.read_chat(chat)) == [None]

    # A signed-out device is gone from the directory: nothing can be sent to it.
    await alice.api.call("DELETE", f"/devices/{alice_new.device.device_id}")
    with pytest.raises(ValueError, match="not another device of this person"):
        await alice.device.transfer_history(alice_new.device.device_id)
