"""Chat history: newest first, and the `next` cursor walks through everything exactly once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.conftest import LiveServer, User

API = "/client/v1"


async def fill(server: LiveServer, sender: User, to: User, count: int, prefix: str = "m") -> list[dict[str, Any]]:
    """`count` messages, sent a batch at a time (the server commits them together)."""
    sent: list[dict[str, Any]] = []
    for start in range(0, count, 20):
        batch = range(start, min(start + 20, count))
        sent += await asyncio.gather(*(server.send_text(sender, f"{prefix}{i}", to=to) for i in batch))
    return sent


async def page(server: LiveServer, user: User, chat_id: str, **params: Any) -> Any:
    return await server.http.get(f"{API}/chats/{chat_id}/messages", headers=user.headers, params=params)


async def walk(server: LiveServer, user: User, chat_id: str, limit: int) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["before"] = cursor
        response = await page(server, user, chat_id, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["messages"])
        cursor = body["next"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor never ends"


async def test_newest_first_and_pages_cover_everything_once(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = await fill(server, alice, bob, 23)
    chat_id = sent[0]["chat_id"]
    pages = await walk(server, bob, chat_id, limit=5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    ids = [int(m["id"]) for p in pages for m in p]
    assert ids == sorted(ids, reverse=True)  # newest first, across page boundaries too
    assert len(ids) == len(set(ids))  # no overlap
    assert set(ids) == {int(s["id"]) for s in sent}  # nothing missing
    timestamps = [m["timestamp"] for p in pages for m in p]
    assert timestamps == sorted(timestamps, reverse=True)


async def test_a_last_full_page_has_no_next(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = await fill(server, alice, bob, 10)
    pages = await walk(server, alice, sent[0]["chat_id"], limit=5)
    assert [len(p) for p in pages] == [5, 5]  # no empty third page


async def test_default_page_is_fifty(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = await fill(server, alice, bob, 51)
    body = (await page(server, bob, sent[0]["chat_id"])).json()
    assert len(body["messages"]) == 50
    assert body["next"] is not None
    rest = (await page(server, bob, sent[0]["chat_id"], before=body["next"])).json()
    assert len(rest["messages"]) == 1
    assert rest["next"] is None
    assert {m["id"] for m in body["messages"] + rest["messages"]} == {s["id"] for s in sent}


async def test_paging_while_new_messages_arrive_neither_skips_nor_repeats(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    old = await fill(server, alice, bob, 13, prefix="old")
    chat_id = old[0]["chat_id"]
    first = (await page(server, bob, chat_id, limit=5)).json()
    await fill(server, bob, alice, 5, prefix="new")  # arrives between two page loads
    seen = [m["id"] for m in first["messages"]]
    cursor = first["next"]
    while cursor is not None:
        body = (await page(server, bob, chat_id, limit=5, before=cursor)).json()
        seen += [m["id"] for m in body["messages"]]
        cursor = body["next"]
    assert sorted(seen) == sorted(s["id"] for s in old)


async def test_deleted_messages_keep_their_place(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = sorted(await fill(server, alice, bob, 3), key=lambda s: int(s["id"]))
    await server.http.delete(f"{API}/messages/{sent[1]['id']}", headers=alice.headers)
    messages = (await page(server, bob, sent[0]["chat_id"])).json()["messages"]
    assert [m["deleted"] for m in messages] == [False, True, False]
    assert [m["id"] for m in messages] == sorted((s["id"] for s in sent), key=int, reverse=True)


async def test_an_empty_chat_page(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = await server.send_text(alice, "only one", to=bob)
    oldest = (await page(server, bob, sent["chat_id"], before=sent["id"])).json()
    assert oldest == {"messages": [], "next": None}


async def test_limit_out_of_bounds_is_refused(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = await server.send_text(alice, "x", to=bob)
    for limit in ["0", "101", "-1", "abc", "1.5", ""]:
        response = await page(server, bob, sent["chat_id"], limit=limit)
        assert response.status_code == 400, limit
        assert response.json()["error"]["code"] == "invalid_request", limit


async def test_limit_bounds_themselves_are_fine(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = await fill(server, alice, bob, 3)
    one = (await page(server, bob, sent[0]["chat_id"], limit=1)).json()
    assert len(one["messages"]) == 1 and one["next"] is not None
    hundred = (await page(server, bob, sent[0]["chat_id"], limit=100)).json()
    assert len(hundred["messages"]) == 3 and hundred["next"] is None


async def test_bad_cursor_is_refused(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = await server.send_text(alice, "x", to=bob)
    for cursor in ["abc", "-5", "1" * 21, "12 34", "٣٤", "²", "99999999999999999999"]:
        response = await page(server, bob, sent["chat_id"], before=cursor)
        assert response.status_code == 400, cursor
        assert response.json()["error"]["code"] == "invalid_cursor", cursor


async def test_history_of_an_unknown_chat(server: LiveServer) -> None:
    alice = await server.user("Alice")
    for chat_id in ("123456789", "abc", uuid.uuid4().hex):
        response = await page(server, alice, chat_id)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "chat_not_found"
