"""Sending, retrying, replying, reacting, editing and deleting messages in 1:1 chats."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.conftest import LiveServer, User

API = "/client/v1"


async def send(
    server: LiveServer,
    sender: User,
    body: str = "hi",
    *,
    to: User | str | None = None,
    client_id: str | None = None,
    context: str | None = None,
) -> httpx.Response:
    payload: dict[str, Any] = {
        "to": to.phone if isinstance(to, User) else to,
        "type": "text",
        "text": {"body": body},
        "client_id": client_id or uuid.uuid4().hex,
    }
    if context is not None:
        payload["context"] = {"message_id": context}
    return await server.http.post(f"{API}/messages", headers=sender.headers, json=payload)


async def history(server: LiveServer, user: User, chat_id: str) -> list[dict[str, Any]]:
    response = await server.http.get(f"{API}/chats/{chat_id}/messages", headers=user.headers, params={"limit": 100})
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


async def message(server: LiveServer, user: User, chat_id: str, message_id: str) -> dict[str, Any]:
    return next(m for m in await history(server, user, chat_id) if m["id"] == message_id)


async def chat(server: LiveServer, user: User, chat_id: str) -> dict[str, Any]:
    chats = (await server.http.get(f"{API}/chats", headers=user.headers)).json()["chats"]
    return next(c for c in chats if c["id"] == chat_id)


async def test_text_message_reaches_the_recipient(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    before = server.clock.now_ms()
    response = await send(server, alice, "hello Bob", to=bob, client_id="c-1")
    assert response.status_code == 200
    sent = response.json()
    assert set(sent) == {"id", "chat_id", "timestamp"}
    assert before <= sent["timestamp"] <= server.clock.now_ms()

    [received] = await history(server, bob, sent["chat_id"])
    assert received == {
        "id": sent["id"],
        "chat_id": sent["chat_id"],
        "sender_id": alice.user_id,
        "sender_name": "Alice",
        "type": "text",
        "text": {"body": "hello Bob"},
        "media": None,
        "context": None,
        "quoted": None,
        "client_id": "c-1",
        "timestamp": sent["timestamp"],
        "edited_at": None,
        "deleted": False,
        "forwarded": False,
        "reactions": [],
        "status": "sent",
        "business": None,
        "encrypted": None,
    }
    [own] = await history(server, alice, sent["chat_id"])
    assert own["text"] == {"body": "hello Bob"}
    assert own["status"] == "sent"


async def test_both_directions_share_one_chat(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    first = (await send(server, alice, "hi", to=bob)).json()
    reply = (await send(server, bob, "hey", to=alice)).json()
    assert reply["chat_id"] == first["chat_id"]
    bodies = [m["text"]["body"] for m in await history(server, alice, first["chat_id"])]
    assert bodies == ["hey", "hi"]
    bob_chat = await chat(server, bob, first["chat_id"])
    assert bob_chat["type"] == "direct"
    assert bob_chat["peer"] == {
        "user_id": alice.user_id,
        "phone": alice.phone,
        "name": "Alice",
        "kind": "person",
        "photo_id": None,
    }
    assert bob_chat["title"] == "Alice"


async def test_recipient_phone_may_be_written_any_way(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    formatted = f"+1 ({bob.phone[2:5]}) {bob.phone[5:8]}-{bob.phone[8:]}"
    first = (await send(server, alice, "one", to=bob)).json()
    second = await send(server, alice, "two", to=formatted)
    assert second.status_code == 200
    assert second.json()["chat_id"] == first["chat_id"]


async def test_retry_with_the_same_client_id_returns_the_first_answer(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    first = await send(server, alice, "only once", to=bob, client_id="retry-me")
    retry = await send(server, alice, "only once", to=bob, client_id="retry-me")
    assert retry.status_code == 200
    assert retry.json() == first.json()
    # The same client_id with another message is refused (Stripe's rule for a reused key): nothing is sent.
    changed = await send(server, alice, "different", to=bob, client_id="retry-me")
    assert changed.status_code == 409, changed.text
    assert changed.json()["error"]["code"] == "idempotency_key_reused"

    chat_id = first.json()["chat_id"]
    messages = await history(server, bob, chat_id)
    assert [m["text"]["body"] for m in messages] == ["only once"]
    assert (await chat(server, bob, chat_id))["unread_count"] == 1


async def test_concurrent_retries_create_one_message(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    responses = await asyncio.gather(*(send(server, alice, "burst", to=bob, client_id="same") for _ in range(8)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(await history(server, bob, responses[0].json()["chat_id"])) == 1


async def test_client_ids_belong_to_their_sender(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    from_alice = (await send(server, alice, "from alice", to=carol, client_id="x")).json()
    from_bob = (await send(server, bob, "from bob", to=carol, client_id="x")).json()
    assert from_alice["id"] != from_bob["id"]
    assert [m["text"]["body"] for m in await history(server, carol, from_bob["chat_id"])] == ["from bob"]


async def test_text_limit_is_4096_characters(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    longest = "é" * 4096  # characters, not bytes
    ok = await send(server, alice, longest, to=bob)
    assert ok.status_code == 200
    too_long = await send(server, alice, "x" * 4097, to=bob)
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "invalid_message"
    assert "4096" in too_long.json()["error"]["message"]
    assert [m["text"]["body"] for m in await history(server, bob, ok.json()["chat_id"])] == [longest]


async def test_empty_text_is_refused(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    response = await send(server, alice, "", to=bob)
    assert response.status_code == 400
    assert (await server.http.get(f"{API}/chats", headers=bob.headers)).json()["chats"] == []


async def test_reply_carries_the_quoted_message(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    question = (await send(server, alice, "lunch?", to=bob)).json()
    answer = await send(server, bob, "yes", to=alice, context=question["id"])
    assert answer.status_code == 200
    seen_by_alice = await message(server, alice, question["chat_id"], answer.json()["id"])
    assert seen_by_alice["context"] == {"message_id": question["id"]}
    # The quote's words come along, so a client shows them without loading the quoted message.
    assert seen_by_alice["quoted"] == {
        "sender_id": alice.user_id,
        "sender_name": "Alice",
        "type": "text",
        "preview": "lunch?",
        "deleted": False,
    }


async def test_reply_to_a_message_from_another_chat_is_not_found(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    elsewhere = (await send(server, carol, "private", to=bob)).json()
    in_chat = (await send(server, alice, "hello", to=bob)).json()
    for context in (elsewhere["id"], "123456789", str(int(in_chat["id"]) + 1)):
        response = await send(server, alice, "re", to=bob, context=context)
        assert response.status_code == 404, context
        assert response.json()["error"]["code"] == "message_not_found"
    assert len(await history(server, bob, in_chat["chat_id"])) == 1


async def test_reactions_set_replace_and_remove(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = (await send(server, alice, "news", to=bob)).json()
    url = f"{API}/messages/{sent['id']}/reactions"

    set_ = await server.http.post(url, headers=bob.headers, json={"emoji": "👍"})
    assert set_.status_code == 200
    assert set_.json()["reactions"] == [{"user_id": bob.user_id, "emoji": "👍"}]

    replaced = await server.http.post(url, headers=bob.headers, json={"emoji": "❤️"})
    assert replaced.json()["reactions"] == [{"user_id": bob.user_id, "emoji": "❤️"}]

    await server.http.post(url, headers=alice.headers, json={"emoji": "😂"})
    both = (await message(server, alice, sent["chat_id"], sent["id"]))["reactions"]
    assert sorted((r["user_id"], r["emoji"]) for r in both) == sorted([(bob.user_id, "❤️"), (alice.user_id, "😂")])

    removed = await server.http.post(url, headers=bob.headers, json={"emoji": ""})
    assert removed.status_code == 200
    assert removed.json()["reactions"] == [{"user_id": alice.user_id, "emoji": "😂"}]
    seen_by_bob = await message(server, bob, sent["chat_id"], sent["id"])
    assert seen_by_bob["reactions"] == [{"user_id": alice.user_id, "emoji": "😂"}]


async def test_outsiders_cannot_react(server: LiveServer) -> None:
    alice, bob, eve = await server.user("Alice"), await server.user("Bob"), await server.user("Eve")
    sent = (await send(server, alice, "news", to=bob)).json()
    response = await server.http.post(
        f"{API}/messages/{sent['id']}/reactions", headers=eve.headers, json={"emoji": "👎"}
    )
    assert response.status_code == 404
    assert (await message(server, alice, sent["chat_id"], sent["id"]))["reactions"] == []


async def test_edit_within_fifteen_minutes(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = (await send(server, alice, "teh typo", to=bob)).json()
    server.clock.advance(minutes=14)
    edited = await server.http.patch(
        f"{API}/messages/{sent['id']}", headers=alice.headers, json={"text": {"body": "the typo"}}
    )
    assert edited.status_code == 200
    assert edited.json()["text"] == {"body": "the typo"}
    assert edited.json()["edited_at"] >= sent["timestamp"] + 14 * 60_000

    seen = await message(server, bob, sent["chat_id"], sent["id"])
    assert seen["text"] == {"body": "the typo"}
    assert seen["edited_at"] == edited.json()["edited_at"]
    assert seen["timestamp"] == sent["timestamp"]


async def test_edit_after_fifteen_minutes_is_refused(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = (await send(server, alice, "original", to=bob)).json()
    server.clock.advance(minutes=16)
    response = await server.http.patch(
        f"{API}/messages/{sent['id']}", headers=alice.headers, json={"text": {"body": "changed"}}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "edit_window_closed"
    seen = await message(server, bob, sent["chat_id"], sent["id"])
    assert seen["text"] == {"body": "original"}
    assert seen["edited_at"] is None


async def test_edit_keeps_the_text_limit(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = (await send(server, alice, "short", to=bob)).json()
    response = await server.http.patch(
        f"{API}/messages/{sent['id']}", headers=alice.headers, json={"text": {"body": "x" * 4097}}
    )
    assert response.status_code == 400
    assert (await message(server, bob, sent["chat_id"], sent["id"]))["text"] == {"body": "short"}


async def test_only_the_sender_edits_or_deletes(server: LiveServer) -> None:
    alice, bob, eve = await server.user("Alice"), await server.user("Bob"), await server.user("Eve")
    sent = (await send(server, alice, "mine", to=bob)).json()
    url = f"{API}/messages/{sent['id']}"

    edit = await server.http.patch(url, headers=bob.headers, json={"text": {"body": "yours now"}})
    assert edit.status_code == 403
    assert edit.json()["error"]["code"] == "not_your_message"
    delete = await server.http.delete(url, headers=bob.headers)
    assert delete.status_code == 403
    # Someone outside the chat learns nothing: the message does not exist for them.
    assert (await server.http.patch(url, headers=eve.headers, json={"text": {"body": "x"}})).status_code == 404
    assert (await server.http.delete(url, headers=eve.headers)).status_code == 404

    seen = await message(server, alice, sent["chat_id"], sent["id"])
    assert seen["text"] == {"body": "mine"}
    assert seen["deleted"] is False


async def test_delete_for_everyone(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    keep = (await send(server, alice, "keep", to=bob)).json()
    gone = (await send(server, alice, "oops", to=bob)).json()
    assert (await server.http.delete(f"{API}/messages/{gone['id']}", headers=alice.headers)).status_code == 204

    for user in (alice, bob):
        messages = await history(server, user, gone["chat_id"])
        assert [m["id"] for m in messages] == [gone["id"], keep["id"]]
        deleted = messages[0]
        assert deleted["deleted"] is True
        assert deleted["text"] is None
        assert deleted["media"] is None
        assert messages[1]["text"] == {"body": "keep"}
    assert (await chat(server, bob, gone["chat_id"]))["unread_count"] == 1
    # A deleted message cannot be brought back by editing it.
    edit = await server.http.patch(
        f"{API}/messages/{gone['id']}", headers=alice.headers, json={"text": {"body": "back"}}
    )
    assert edit.status_code == 400
    assert (await message(server, bob, gone["chat_id"], gone["id"]))["text"] is None


async def test_unknown_message_ids(server: LiveServer) -> None:
    alice = await server.user("Alice")
    for raw in ("999999999", "abc", "1" * 25):
        assert (await server.http.delete(f"{API}/messages/{raw}", headers=alice.headers)).status_code == 404
        assert (await server.http.post(f"{API}/messages/{raw}/read", headers=alice.headers)).status_code == 404


async def test_sending_to_an_unknown_number(server: LiveServer) -> None:
    alice = await server.user("Alice")
    response = await send(server, alice, "anyone?", to=server.next_phone())
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "user_not_found"
    assert (await server.http.get(f"{API}/chats", headers=alice.headers)).json()["chats"] == []


async def test_sending_to_an_impossible_number(server: LiveServer) -> None:
    alice = await server.user("Alice")
    response = await send(server, alice, "anyone?", to="+1 415")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_phone_number"


async def test_sending_to_yourself_is_refused(server: LiveServer) -> None:
    alice = await server.user("Alice")
    response = await send(server, alice, "note to self", to=alice)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_message"
    assert (await server.http.get(f"{API}/chats", headers=alice.headers)).json()["chats"] == []


ILL_FORMED: list[dict[str, Any]] = [
    {"type": "text", "text": {"body": "no target"}},
    {"to": "BOB", "group_id": "1", "type": "text", "text": {"body": "two targets"}},
    {"to": "BOB", "type": "text"},
    {"to": "BOB", "type": "image", "text": {"body": "no image"}},
    {"to": "BOB", "type": "sticker", "text": {"body": "?"}},
    {"to": "BOB", "type": "text", "text": {"body": "x"}, "context": {"message_id": "not-an-id"}},
]


async def test_ill_formed_sends_are_refused(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    for payload in ILL_FORMED:
        body = {k: (bob.phone if v == "BOB" else v) for k, v in payload.items()}
        response = await server.http.post(f"{API}/messages", headers=alice.headers, json={**body, "client_id": "c"})
        assert response.status_code == 400, payload
        assert response.json()["error"]["code"] == "invalid_request", payload
    assert (await server.http.get(f"{API}/chats", headers=alice.headers)).json()["chats"] == []


async def test_client_id_is_required_and_bounded(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    base = {"to": bob.phone, "type": "text", "text": {"body": "x"}}
    assert (await server.http.post(f"{API}/messages", headers=alice.headers, json=base)).status_code == 400
    too_long = {**base, "client_id": "c" * 65}
    assert (await server.http.post(f"{API}/messages", headers=alice.headers, json=too_long)).status_code == 400
    longest = {**base, "client_id": "c" * 64}
    assert (await server.http.post(f"{API}/messages", headers=alice.headers, json=longest)).status_code == 200


async def test_chats_are_listed_most_recent_first_with_unread_counts(server: LiveServer) -> None:
    me, bob, carol = await server.user("Me"), await server.user("Bob"), await server.user("Carol")
    with_bob = (await send(server, bob, "b1", to=me)).json()
    with_carol = (await send(server, carol, "c1", to=me)).json()
    await send(server, carol, "c2", to=me)
    chats = (await server.http.get(f"{API}/chats", headers=me.headers)).json()["chats"]
    assert [c["id"] for c in chats] == [with_carol["chat_id"], with_bob["chat_id"]]
    assert [c["unread_count"] for c in chats] == [2, 1]
    assert chats[0]["last_message"]["text"] == {"body": "c2"}

    server.clock.advance(seconds=1)
    await send(server, me, "back to bob", to=bob)
    chats = (await server.http.get(f"{API}/chats", headers=me.headers)).json()["chats"]
    assert [c["id"] for c in chats] == [with_bob["chat_id"], with_carol["chat_id"]]
    assert chats[0]["last_message"]["text"] == {"body": "back to bob"}
    assert chats[0]["unread_count"] == 1  # my own message is not unread for me


async def test_reading_clears_unread_up_to_that_message(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    first = (await send(server, alice, "1", to=bob)).json()
    second = (await send(server, alice, "2", to=bob)).json()
    await send(server, alice, "3", to=bob)
    assert (await chat(server, bob, first["chat_id"]))["unread_count"] == 3
    assert (await server.http.post(f"{API}/messages/{second['id']}/read", headers=bob.headers)).status_code == 204
    assert (await chat(server, bob, first["chat_id"]))["unread_count"] == 1
    statuses = {m["text"]["body"]: m["status"] for m in await history(server, alice, first["chat_id"])}
    assert statuses == {"1": "read", "2": "read", "3": "sent"}


async def test_sender_name_follows_a_rename(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = (await send(server, alice, "hi", to=bob)).json()
    await server.http.patch(f"{API}/me", headers=alice.headers, json={"name": "Alice L."})
    assert (await message(server, bob, sent["chat_id"], sent["id"]))["sender_name"] == "Alice L."
    assert (await chat(server, bob, sent["chat_id"]))["title"] == "Alice L."
