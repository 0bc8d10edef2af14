"""Forwarding a message into another chat, and searching one's own messages (the web client's menu and search)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import LiveServer, User
from tests.integration.test_messages import history, send

API = "/client/v1"


async def forward(server: LiveServer, user: User, message_id: str, chat_id: str, client_id: str = "") -> httpx.Response:
    body = {"chat_id": chat_id, "client_id": client_id or uuid.uuid4().hex}
    return await server.http.post(f"{API}/messages/{message_id}/forward", headers=user.headers, json=body)


async def search(server: LiveServer, user: User, **params: Any) -> httpx.Response:
    return await server.http.get(f"{API}/search", headers=user.headers, params=params)


async def upload_png(server: LiveServer, user: User) -> str:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    files = {"file": ("sunset.png", png, "image/png")}
    response = await server.http.post(f"{API}/media", headers=user.headers, files=files)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def test_a_forwarded_message_arrives_marked_forwarded_once(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    original = (await send(server, bob, "Dinner at 8?", to=alice)).json()
    with_carol = (await send(server, alice, "hi Carol", to=carol)).json()

    first = await forward(server, alice, original["id"], with_carol["chat_id"], client_id="fw-1")
    assert first.status_code == 200, first.text
    assert first.json()["chat_id"] == with_carol["chat_id"]
    again = await forward(server, alice, original["id"], with_carol["chat_id"], client_id="fw-1")
    assert again.json() == first.json()  # a retry: the first copy, no second one

    copies = [m for m in await history(server, carol, with_carol["chat_id"]) if m["text"]["body"] == "Dinner at 8?"]
    assert len(copies) == 1
    assert copies[0]["forwarded"] is True
    assert copies[0]["sender_id"] == alice.user_id
    [kept] = [m for m in await history(server, bob, original["chat_id"]) if m["id"] == original["id"]]
    assert kept["forwarded"] is False  # the original stays the sender's own words

    # The same client_id for another forward is refused, not silently answered with the first copy.
    reused = await forward(server, alice, with_carol["id"], with_carol["chat_id"], client_id="fw-1")
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"


async def test_a_received_picture_can_be_forwarded_and_downloaded_there(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    media_id = await upload_png(server, bob)
    picture = {"to": alice.phone, "type": "image", "image": {"id": media_id, "caption": "Sunset"}, "client_id": "p"}
    sent = (await server.http.post(f"{API}/messages", headers=bob.headers, json=picture)).json()
    with_carol = (await send(server, alice, "look", to=carol)).json()

    answer = await forward(server, alice, sent["id"], with_carol["chat_id"])
    assert answer.status_code == 200, answer.text
    [copy] = [m for m in await history(server, carol, with_carol["chat_id"]) if m["id"] == answer.json()["id"]]
    assert (copy["type"], copy["media"]["id"], copy["media"]["caption"], copy["forwarded"]) == (
        "image",
        media_id,
        "Sunset",
        True,
    )
    download = await server.http.get(f"{API}/media/{media_id}", headers=carol.headers)
    assert download.status_code == 200


async def test_forwarding_what_you_cannot_see_or_into_a_strangers_chat_is_refused(server: LiveServer) -> None:
    alice, bob, mallory = await server.user("Alice"), await server.user("Bob"), await server.user("Mallory")
    private = (await send(server, alice, "just us", to=bob)).json()
    with_mallory = (await send(server, mallory, "hey", to=alice)).json()

    # Mallory cannot forward a message of a chat she is not in, nor into one.
    refused = await forward(server, mallory, private["id"], with_mallory["chat_id"])
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "message_not_found"
    refused = await forward(server, mallory, with_mallory["id"], private["chat_id"])
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "chat_not_found"

    # A deleted message cannot be forwarded; bad bodies are a 400, and nothing is sent.
    await server.http.delete(f"{API}/messages/{private['id']}", headers=alice.headers)
    refused = await forward(server, alice, private["id"], with_mallory["chat_id"])
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_message"
    bad = await server.http.post(
        f"{API}/messages/{with_mallory['id']}/forward", headers=alice.headers, json={"chat_id": "x", "client_id": "c"}
    )
    assert bad.status_code == 400
    assert len(await history(server, mallory, with_mallory["chat_id"])) == 1


async def test_delete_for_everyone_only_within_the_window(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    recent = (await send(server, alice, "oops", to=bob)).json()
    server.clock.advance(hours=59)
    assert (await server.http.delete(f"{API}/messages/{recent['id']}", headers=alice.headers)).status_code == 204
    old = (await send(server, alice, "said long ago", to=bob)).json()
    server.clock.advance(hours=61)
    refused = await server.http.delete(f"{API}/messages/{old['id']}", headers=alice.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "delete_window_closed"
    seen = {m["id"]: m for m in await history(server, bob, old["chat_id"])}
    assert seen[old["id"]]["text"] == {"body": "said long ago"}
    # Deleting again what is already deleted still answers 204, however late.
    assert (await server.http.delete(f"{API}/messages/{recent['id']}", headers=alice.headers)).status_code == 204
    assert seen[recent["id"]]["deleted"] is True


async def test_search_finds_my_messages_in_my_chats_only(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    dinner = (await send(server, bob, "Dinner at the Harbour Café?", to=alice)).json()
    await send(server, alice, "Sounds good", to=bob)
    await send(server, carol, "harbour tour for Bob only", to=bob)  # not Alice's chat
    gone = (await send(server, alice, "harbour secret", to=bob)).json()
    await server.http.delete(f"{API}/messages/{gone['id']}", headers=alice.headers)

    found = await search(server, alice, q="HARBOUR")
    assert found.status_code == 200, found.text
    assert [m["id"] for m in found.json()["messages"]] == [dinner["id"]]
    assert found.json()["messages"][0]["chat_id"] == dinner["chat_id"]
    # The stored JSON's keys are not words of a message.
    assert (await search(server, alice, q="body")).json()["messages"] == []
    # Wildcards are taken literally.
    assert (await search(server, alice, q="%%")).json()["messages"] == []


async def test_search_pages_newest_first(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    ids = [(await send(server, bob, f"note {n}", to=alice)).json()["id"] for n in range(5)]
    first = (await search(server, alice, q="note", limit=3)).json()
    assert [m["id"] for m in first["messages"]] == ids[:1:-1]
    rest = (await search(server, alice, q="note", limit=3, before=first["next"])).json()
    assert [m["id"] for m in rest["messages"]] == ids[1::-1]
    assert rest["next"] is None


async def test_search_refuses_bad_queries(server: LiveServer) -> None:
    alice = await server.user("Alice")
    bad: list[dict[str, Any]] = [
        {"q": "a"},
        {"q": "x" * 101},
        {"q": "ab\x00"},
        {"q": "ok", "limit": 0},
        {"q": "ok", "before": "nope"},
        {},
    ]
    for params in bad:
        answer = await search(server, alice, **params)
        assert answer.status_code == 400, (params, answer.text)
        assert set(answer.json()["error"]) == {"code", "message"}
    assert (await server.http.get(f"{API}/search", params={"q": "ok"})).status_code == 401
