"""`PARLEY_E2EE__PEOPLE_ENCRYPTED_ONLY=true`: the server refuses plaintext in chats between people (texts, media,
forwards, edits) with a clear 400 and stores nothing, while encrypted sends and business chats work as before."""

from __future__ import annotations

import uuid

import pytest

from parley.config import E2eeSettings, Settings
from tests.conftest import LiveServer
from tests.integration.business_helpers import create_business
from tests.integration.e2ee_helpers import bodies, chat_id_with, person

API = "/client/v1"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"e2ee": E2eeSettings(people_encrypted_only=True)})


def text_to(body: str, **target: str) -> dict[str, object]:
    return {**target, "type": "text", "text": {"body": body}, "client_id": uuid.uuid4().hex}


async def test_plaintext_between_people_is_refused_and_nothing_is_stored(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    refused = await alice.api.raw("POST", "/messages", json=text_to("in clear", to=bob.phone))
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "encryption_required" and "send type 'encrypted'" in error["message"]
    assert await alice.api.chats() == [] and await bob.api.chats() == []

    # Encrypted, the same message goes through and both read it.
    await alice.device.send_text("encrypted, it goes", to=bob.phone)
    chat = await chat_id_with(bob, alice)
    assert bodies(await bob.device.read_chat(chat)) == ["encrypted, it goes"]

    group = await alice.api.create_group("Hikers", [bob.phone])
    in_group = await alice.api.raw("POST", "/messages", json=text_to("in clear", group_id=str(group["id"])))
    assert in_group.status_code == 400 and in_group.json()["error"]["code"] == "encryption_required"
    uploaded = await alice.api.upload_media(b"\x89PNG\r\n\x1a\n" + b"0" * 64, mime_type="image/png")
    picture = {"to": bob.phone, "type": "image", "image": {"id": uploaded["id"]}, "client_id": uuid.uuid4().hex}
    refused_picture = await alice.api.raw("POST", "/messages", json=picture)
    assert refused_picture.status_code == 400 and refused_picture.json()["error"]["code"] == "encryption_required"
    assert len((await bob.api.messages(chat))["messages"]) == 1


async def test_business_chats_stay_plaintext_and_nothing_is_forwarded_into_clear(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    shop = await create_business(server, "Corner Shop")
    to_shop = await alice.api.raw("POST", "/messages", json=text_to("Do you deliver?", to=shop.phone))
    assert to_shop.status_code == 200, to_shop.text
    await alice.device.send_text("hello", to=bob.phone)
    with_bob = await chat_id_with(alice, bob)

    forwarded = await alice.api.raw(
        "POST",
        f"/messages/{to_shop.json()['id']}/forward",
        json={"chat_id": with_bob, "client_id": uuid.uuid4().hex},
    )
    assert forwarded.status_code == 400 and forwarded.json()["error"]["code"] == "encryption_required"
    assert len((await alice.api.messages(with_bob))["messages"]) == 1

    # A plaintext message of a business chat is edited as before.
    edited = await alice.api.raw("PATCH", f"/messages/{to_shop.json()['id']}", json={"text": {"body": "Deliver?"}})
    assert edited.status_code == 200, edited.text


async def test_a_plaintext_message_from_before_the_setting_takes_no_plaintext_edit(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    # Sent before the operator turned the setting on.
    monkeypatch.setattr(server.container.messaging, "_people_encrypted_only", False)
    old = await alice.api.raw("POST", "/messages", json=text_to("typed before", to=bob.phone))
    assert old.status_code == 200, old.text
    monkeypatch.setattr(server.container.messaging, "_people_encrypted_only", True)
    edited = await alice.api.raw("PATCH", f"/messages/{old.json()['id']}", json={"text": {"body": "typed after"}})
    assert edited.status_code == 400 and edited.json()["error"]["code"] == "encryption_required"
    [kept] = (await bob.api.messages(await chat_id_with(bob, alice)))["messages"]
    assert kept["text"]["body"] == "typed before"
