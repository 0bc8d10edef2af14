"""The Python E2EE client's crypto without a server: Olm between two devices, Megolm bound to its chat,
encrypted attachments and safety numbers (docs/e2ee.md)."""

from __future__ import annotations

import pytest
import vodozemac

from parley.client import (
    AttachmentError,
    DecryptionError,
    E2EEDevice,
    ParleyClient,
    decrypt_attachment,
    direct_room_id,
    encrypt_attachment,
    format_safety_number,
    safety_number,
    verify_signed,
)


def _device(user_id: str, device_id: str) -> E2EEDevice:
    return E2EEDevice(ParleyClient(user_id=user_id, device_id=device_id, token="unused"))


def _olm_pair() -> tuple[E2EEDevice, E2EEDevice]:
    alice, bob = _device("1", "11"), _device("2", "21")
    bob.account.generate_one_time_keys(1)
    alice.open_olm_session(bob.as_peer, next(iter(bob.account.one_time_keys.values())).to_base64())
    return alice, bob


def test_device_keys_are_self_signed_and_a_changed_field_breaks_the_signature() -> None:
    alice = _device("1", "11")
    keys = alice.device_keys()
    assert keys["keys"] == {"curve25519:11": alice.curve25519, "ed25519:11": alice.ed25519}
    assert verify_signed(keys, "@1:parley", "11", alice.ed25519)
    assert not verify_signed(keys | {"device_id": "12"}, "@1:parley", "11", alice.ed25519)
    assert not verify_signed(keys, "@1:parley", "11", _device("1", "12").ed25519)


def test_an_olm_room_key_reaches_the_recipient_with_matrix_payload_fields() -> None:
    alice, bob = _olm_pair()
    content = alice.olm_encrypt(bob.as_peer, "m.room_key", {"algorithm": "m.megolm.v1.aes-sha2", "x": 1})
    assert content["ciphertext"][bob.curve25519]["type"] == 0  # a pre-key message opens the session
    plaintext = bob.decrypt_to_device({"type": "m.room.encrypted", "sender": alice.user, "content": content})
    assert plaintext["content"] == {"algorithm": "m.megolm.v1.aes-sha2", "x": 1}
    assert plaintext["sender_device"] == "11" and plaintext["keys"] == {"ed25519": alice.ed25519}
    assert plaintext["recipient_keys"] == {"ed25519": bob.ed25519}


def test_an_olm_event_the_server_reattributes_to_someone_else_is_refused() -> None:
    alice, bob = _olm_pair()
    content = alice.olm_encrypt(bob.as_peer, "m.room_key", {})
    with pytest.raises(DecryptionError, match="another recipient or sender"):
        bob.decrypt_to_device({"type": "m.room.encrypted", "sender": "@3:parley", "content": content})


def test_a_megolm_message_decrypts_once_the_room_key_arrived_and_only_for_its_chat() -> None:
    alice, bob = _olm_pair()
    room = direct_room_id(2, 1)
    assert room == "!dm-1-2:parley"
    encrypted = alice.megolm_encrypt(room, {"msgtype": "m.text", "body": "hi Bob"})
    with pytest.raises(DecryptionError, match="unknown session"):
        bob.megolm_decrypt(room, encrypted, "1")
    # Bob gets the key at index 1 (after the first message): later messages only.
    handed = alice.olm_encrypt(bob.as_peer, "m.room_key", alice.room_key(room))
    bob.accept_room_key(bob.decrypt_to_device({"type": "m.room.encrypted", "sender": alice.user, "content": handed}))
    second = alice.megolm_encrypt(room, {"msgtype": "m.text", "body": "again"})
    event = bob.megolm_decrypt(room, second, "1")
    assert event.content["body"] == "again" and event.sender_user == "@1:parley"
    with pytest.raises(DecryptionError, match="cannot decrypt"):
        bob.megolm_decrypt(room, encrypted, "1")  # before the index Bob was given
    with pytest.raises(DecryptionError):
        bob.megolm_decrypt("!g9:parley", second, "1")  # a replay into another chat
    with pytest.raises(DecryptionError, match="another device"):
        bob.megolm_decrypt(room, second, "3")  # the server says someone else sent it


def test_malformed_megolm_content_is_a_decryption_error() -> None:
    bob = _device("2", "21")
    with pytest.raises(DecryptionError, match="malformed"):
        bob.megolm_decrypt("!g1:parley", {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "!!", "session_id": "x"})


def test_an_attachment_round_trips_and_a_changed_byte_is_caught() -> None:
    image = bytes(range(256)) * 40
    ciphertext, file = encrypt_attachment(image)
    assert ciphertext != image and len(ciphertext) == len(image)
    assert file["v"] == "v2" and file["key"]["alg"] == "A256CTR" and file["iv"].endswith("AAAAAAAAAA")
    assert decrypt_attachment(ciphertext, file) == image
    tampered = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    with pytest.raises(AttachmentError, match="hash"):
        decrypt_attachment(tampered, file)


def test_safety_numbers_agree_for_both_people_and_change_with_a_new_device() -> None:
    keys_a = [vodozemac.Account().ed25519_key.to_base64() for _ in range(2)]
    keys_b = [vodozemac.Account().ed25519_key.to_base64()]
    number = safety_number(7, keys_a, 12, keys_b)
    assert len(number) == 60 and number.isdigit()
    assert safety_number(12, keys_b, 7, list(reversed(keys_a))) == number
    assert number.startswith(safety_number(7, keys_a, 3, keys_b)[30:])  # the smaller id's half comes first
    assert safety_number(7, [*keys_a, vodozemac.Account().ed25519_key.to_base64()], 12, keys_b) != number
    assert len(format_safety_number(number).split(" ")) == 12


def test_safety_number_of_fixed_keys_is_stable() -> None:
    # A fixed vector: the web client's implementation is checked against the same digits.
    number = safety_number(1, ["a", "b"], 2, ["c"])
    assert number == safety_number(2, ["c"], 1, ["b", "a"])
    assert number == VECTOR


VECTOR = "137185990404939972253436610763056537302211719991195470628715"
