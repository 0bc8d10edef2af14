"""End-to-end encrypted 1:1 chats through the real server: both ways, every device of a person, a new device reads
only what follows it, and safety numbers both people compare."""

from __future__ import annotations

import pytest

from parley.client import DecryptionError, E2EEDevice, direct_room_id
from tests.conftest import LiveServer
from tests.integration.e2ee_helpers import bodies, chat_id_with, client_for, person, signed_in


async def test_a_one_to_one_chat_reads_both_ways_and_the_server_relays_ciphertext_only(server: LiveServer) -> None:
    alice, bob = await signed_in(server, "Alice"), await person(server, "Bob")
    await alice.device.send_text("Lunch at noon?", to=bob.phone)
    await bob.device.send_text("Yes, see you there", to=alice.phone)

    chat = await chat_id_with(bob, alice)
    assert bodies(await bob.device.read_chat(chat)) == ["Lunch at noon?", "Yes, see you there"]
    assert bodies(await alice.device.read_chat(chat)) == ["Lunch at noon?", "Yes, see you there"]
    raw = (await bob.api.messages(chat))["messages"]
    assert {m["type"] for m in raw} == {"encrypted"}
    assert all(m["text"] is None and "Lunch" not in str(m) for m in raw)
    assert raw[0]["encrypted"]["device_id"] == bob.device.device_id


async def test_every_device_of_both_people_reads_including_the_senders_other_device(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    alice_laptop = await person(server, "Alice", alice.phone)
    bob_tablet = await person(server, "Bob", bob.phone)
    assert alice_laptop.user_id == alice.user_id and alice_laptop.device.device_id != alice.device.device_id

    await alice.device.send_text("from my phone", to=bob.phone)
    await bob_tablet.device.send_text("from my tablet", to=alice.phone)

    chat = await chat_id_with(alice, bob)
    for reader in (alice, alice_laptop, bob, bob_tablet):
        assert bodies(await reader.device.read_chat(chat)) == ["from my phone", "from my tablet"]


async def test_a_new_device_reads_what_follows_its_sign_in_and_no_history(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    await bob.device.send_text("before your new phone", to=alice.phone)
    await alice.device.send_text("noted", to=bob.phone)

    alice_new = await signed_in(server, "Alice", alice.phone)
    await bob.device.send_text("after your new phone", to=alice.phone)

    chat = await chat_id_with(alice_new, bob)
    read = await alice_new.device.read_chat(chat)
    assert bodies(read) == [None, None, "after your new phone"]
    assert all(m.error for m in read[:2])
    assert bodies(await alice.device.read_chat(chat)) == ["before your new phone", "noted", "after your new phone"]


async def test_both_people_see_the_same_safety_number_and_it_changes_with_a_new_device(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    number = await alice.device.safety_number_with(bob.user_id)
    assert len(number) == 60 and number.isdigit()
    assert await bob.device.safety_number_with(alice.user_id) == number

    await person(server, "Bob", bob.phone)  # Bob signs in on a second device
    changed = await alice.device.safety_number_with(bob.user_id)
    assert changed != number
    assert changed == await bob.device.safety_number_with(alice.user_id)
    assert f"@{bob.user_id}:parley" in alice.device.identity_changes  # the chat's "security code changed" notice


async def test_a_message_sent_before_someone_exists_cannot_be_read_by_a_device_without_the_key(
    server: LiveServer,
) -> None:
    alice, bob, eve = await person(server, "Alice"), await person(server, "Bob"), await person(server, "Eve")
    await alice.device.send_text("for Bob only", to=bob.phone)
    chat = await chat_id_with(bob, alice)
    encrypted = (await bob.api.messages(chat))["messages"][0]["encrypted"]
    await eve.device.sync()
    try:
        eve.device.megolm_decrypt(direct_room_id(alice.user_id, bob.user_id), encrypted, alice.user_id)
    except DecryptionError as error:
        assert "unknown session" in str(error)
    else:
        raise AssertionError("a device that never got the room key decrypted the message")


async def test_a_device_tops_up_its_one_time_keys_when_the_server_runs_low(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    wanted = {f"@{bob.user_id}:parley": {bob.device.device_id: "signed_curve25519"}}
    for _ in range(30):
        await alice.api.keys_claim(wanted)
    assert (await bob.api.keys_sync())["device_one_time_keys_count"] == {"signed_curve25519": 20}
    await bob.device.sync()
    assert (await bob.api.keys_sync())["device_one_time_keys_count"] == {"signed_curve25519": 50}
    # The new keys work: a sender that claims one of them reaches Bob.
    await alice.device.send_text("after the top-up", to=bob.phone)
    assert bodies(await bob.device.read_chat(await chat_id_with(bob, alice))) == ["after the top-up"]


async def test_an_edit_carries_new_ciphertext_that_every_reader_decrypts(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    sent = await alice.device.send_text("See you at 6", to=bob.phone)
    edited = await alice.device.edit_text(sent["id"], "See you at 7", to=bob.phone)
    assert edited["edited_at"] is not None and "See you" not in str(edited)
    chat = await chat_id_with(bob, alice)
    assert bodies(await bob.device.read_chat(chat)) == ["See you at 7"]
    assert bodies(await alice.device.read_chat(chat)) == ["See you at 7"]


async def test_the_same_ciphertext_sent_again_as_another_message_reads_as_a_replay(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    await alice.device.send_text("Transfer approved", to=bob.phone)
    chat = await chat_id_with(bob, alice)
    [original] = (await bob.api.messages(chat))["messages"]
    await alice.api.send_encrypted(original["encrypted"], to=bob.phone)  # what a server could do with stored rows
    read = await bob.device.read_chat(chat)
    assert bodies(read) == ["Transfer approved", None]
    assert read[1].error is not None and "replayed" in read[1].error
    assert bodies(await bob.device.read_chat(chat)) == ["Transfer approved", None]  # reading again changes nothing


async def test_a_restarted_client_restores_its_device_and_keeps_reading_and_sending(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    await alice.device.send_text("before the restart", to=bob.phone)
    await bob.device.send_text("got it", to=alice.phone)
    saved = alice.device.export_state(b"k" * 32)
    assert "before the restart" not in saved

    api = client_for(server, alice.api.token, alice.user_id, alice.device.device_id)
    restored = E2EEDevice.restore(api, saved, b"k" * 32, clock=server.clock)
    assert restored.ed25519 == alice.device.ed25519
    chat = await chat_id_with(bob, alice)
    await restored.send_text("after the restart", to=bob.phone)
    assert bodies(await restored.read_chat(chat)) == ["before the restart", "got it", "after the restart"]
    assert bodies(await bob.device.read_chat(chat)) == ["before the restart", "got it", "after the restart"]
    with pytest.raises(ValueError):
        E2EEDevice.restore(bob.api, saved, b"k" * 32)  # another device's state
