"""Retry keys are bound to their request: the same key with the same request is the first answer and nothing new;
the same key with another request is refused (409) and sends nothing, on every route that takes one."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, User
from tests.integration.business_helpers import V, create_business, events, person_writes
from tests.integration.inbox_helpers import agent

pytestmark = pytest.mark.asyncio


async def _bodies_seen_by(server: LiveServer, person: User) -> list[str]:
    chats = (await server.http.get("/client/v1/chats", headers=person.headers)).json()["chats"]
    bodies = []
    for chat in chats:
        page = await server.http.get(f"/client/v1/chats/{chat['id']}/messages", headers=person.headers)
        bodies += [m["text"]["body"] for m in page.json()["messages"] if m["type"] == "text"]
    return bodies


async def test_a_graph_idempotency_key_reused_with_another_body_is_refused_and_sends_nothing(
    server: LiveServer,
) -> None:
    biz = await create_business(server)
    alice = await server.user("Alice")
    await person_writes(server, alice, biz, "Hi!")

    async def send(body: dict[str, Any], **dump: Any) -> httpx.Response:
        headers = {**biz.headers, "Idempotency-Key": "order-1", "Content-Type": "application/json"}
        content = json.dumps(body, **dump).encode()
        return await server.http.post(f"{V}/{biz.phone_number_id}/messages", headers=headers, content=content)

    def text(body: str) -> dict[str, Any]:
        return {"messaging_product": "whatsapp", "to": alice.phone, "type": "text", "text": {"body": body}}

    first = await send(text("a"), separators=(",", ":"))
    # The same request with its keys in another order and other spacing is the same request: a retry.
    retry = await send(text("a"), sort_keys=True, indent=2)
    assert first.status_code == retry.status_code == 200, retry.text
    assert retry.json()["messages"][0]["id"] == first.json()["messages"][0]["id"]
    outbox_before = len(await events(server, biz, None))

    reused = await send(text("b"))
    assert reused.status_code == 409, reused.text
    error = reused.json()["error"]
    assert error["code"] == 100 and error["type"] == "OAuthException" and error["fbtrace_id"]
    assert "Idempotency-Key" in error["error_data"]["details"]
    assert (await _bodies_seen_by(server, alice)).count("b") == 0
    assert (await _bodies_seen_by(server, alice)).count("a") == 1
    assert len(await events(server, biz, None)) == outbox_before  # no status webhook for a message never sent


async def test_a_client_id_reused_for_another_message_is_refused_and_sends_nothing(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")

    async def send(body: str, to: str) -> httpx.Response:
        payload: dict[str, Any] = {"to": to, "type": "text", "text": {"body": body}, "client_id": "c-1"}
        return await server.http.post("/client/v1/messages", headers=alice.headers, json=payload)

    first = await send("hello", bob.phone)
    # The recipient's number written another way is still the same request.
    spaced = f"+1 ({bob.phone[2:5]}) {bob.phone[5:8]}-{bob.phone[8:]}"
    retry = await send("hello", spaced)
    assert first.status_code == retry.status_code == 200, retry.text
    assert retry.json() == first.json()

    reused = await send("goodbye", bob.phone)
    assert reused.status_code == 409
    assert reused.json() == {"error": {"code": "idempotency_key_reused", "message": reused.json()["error"]["message"]}}
    assert "client_id" in reused.json()["error"]["message"]
    assert await _bodies_seen_by(server, bob) == ["hello"]


async def test_an_inbox_reply_key_reused_with_another_text_is_refused_and_sends_nothing(server: LiveServer) -> None:
    biz = await create_business(server)
    ana = await agent(server, biz, "Ana")
    ada = await server.user("Ada")
    await person_writes(server, ada, biz)
    [row] = await ana.conversations()
    path = f"/conversations/{row['id']}/messages"
    key = {"Idempotency-Key": str(uuid.uuid4())}

    first = await ana.post(path, {"text": "On our way"}, **key)
    again = await ana.post(path, {"text": "On our way"}, **key)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json()

    reused = await ana.post(path, {"text": "Sorry, we are closed"}, **key)
    assert reused.status_code == 409, reused.text
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    bodies = await _bodies_seen_by(server, ada)
    assert bodies.count("On our way") == 1 and "Sorry, we are closed" not in bodies
