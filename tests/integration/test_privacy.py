"""Blocking (a blocked person's messages are stored for them, never delivered) and abuse reports."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select

from parley.privacy.models import reports
from tests.conftest import LiveServer, User
from tests.integration.test_receipts_and_stream import open_stream

API = "/client/v1"


async def block(server: LiveServer, blocker: User, blocked: User) -> None:
    response = await server.http.post(f"{API}/blocks", headers=blocker.headers, json={"phone": blocked.phone})
    assert response.status_code == 200, response.text


async def send(server: LiveServer, sender: User, body: str, to: User) -> dict[str, Any]:
    return await server.send_text(sender, body, to=to)


async def bodies(server: LiveServer, user: User, chat_id: str) -> list[str]:
    response = await server.http.get(f"{API}/chats/{chat_id}/messages", headers=user.headers)
    assert response.status_code == 200, response.text
    return [m["text"]["body"] for m in response.json()["messages"]]


async def chats(server: LiveServer, user: User) -> list[dict[str, Any]]:
    return list((await server.http.get(f"{API}/chats", headers=user.headers)).json()["chats"])


async def stored_reports(server: LiveServer) -> list[Any]:
    return await server.container.db.read(lambda c: list(c.execute(select(reports)).all()))


async def test_block_and_list(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    response = await server.http.post(f"{API}/blocks", headers=alice.headers, json={"phone": bob.phone})
    assert response.status_code == 200
    assert response.json()["user_id"] == bob.user_id
    listed = (await server.http.get(f"{API}/blocks", headers=alice.headers)).json()["blocks"]
    assert [(b["user_id"], b["phone"], b["name"]) for b in listed] == [(bob.user_id, bob.phone, "Bob")]
    # Blocking twice is still one block; Bob's own list is empty.
    await block(server, alice, bob)
    assert len((await server.http.get(f"{API}/blocks", headers=alice.headers)).json()["blocks"]) == 1
    assert (await server.http.get(f"{API}/blocks", headers=bob.headers)).json()["blocks"] == []


async def test_blocked_users_messages_are_never_delivered(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    before = await send(server, bob, "before the block", alice)
    await block(server, alice, bob)
    async with open_stream(server, alice) as stream:
        withheld = await send(server, bob, "are you ignoring me?", alice)
        sentinel = await send(server, carol, "sentinel", alice)
        seen = [await stream.next("message")]
        while seen[-1]["message"]["id"] != sentinel["id"]:
            seen.append(await stream.next("message"))
        # Alice's device got the old message and Carol's: nothing from Bob after the block.
        assert [e["message"]["id"] for e in seen] == [before["id"], sentinel["id"]]
        await stream.ack(seen[-1]["id"])
        await stream.sync()

    assert withheld["chat_id"] == before["chat_id"]
    # Alice reading everything in the chat does not reach Bob's withheld message either.
    assert (await server.http.post(f"{API}/messages/{before['id']}/read", headers=alice.headers)).status_code == 204
    # Stored for Bob, exactly as if it had been sent, and never delivered nor read.
    bob_view = (await server.http.get(f"{API}/chats/{before['chat_id']}/messages", headers=bob.headers)).json()
    assert [(m["text"]["body"], m["status"]) for m in bob_view["messages"]] == [
        ("are you ignoring me?", "sent"),
        ("before the block", "read"),
    ]
    # Alice sees only what came before the block, and nothing new is unread.
    assert await bodies(server, alice, before["chat_id"]) == ["before the block"]
    with_bob = next(c for c in await chats(server, alice) if c["id"] == before["chat_id"])
    assert with_bob["unread_count"] == 0
    assert with_bob["last_message"]["id"] == before["id"]


async def test_a_blocked_stranger_does_not_show_up_in_the_chat_list(server: LiveServer) -> None:
    alice, pest = await server.user("Alice"), await server.user("Pest")
    await block(server, alice, pest)
    sent = await send(server, pest, "hello?", alice)
    assert await bodies(server, pest, sent["chat_id"]) == ["hello?"]
    assert await chats(server, alice) == []


async def test_a_blocked_members_group_messages_skip_only_the_blocker(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    group = (
        await server.http.post(
            f"{API}/groups", headers=alice.headers, json={"name": "G", "members": [bob.phone, carol.phone]}
        )
    ).json()
    await block(server, alice, bob)
    await server.send_text(bob, "from bob", group_id=group["id"])
    await server.send_text(carol, "from carol", group_id=group["id"])
    assert await bodies(server, alice, group["id"]) == ["from carol"]
    assert await bodies(server, carol, group["id"]) == ["from carol", "from bob"]
    assert (await chats(server, alice))[0]["unread_count"] == 1


async def test_a_blocked_users_typing_edits_and_reactions_do_not_reach_the_blocker(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    old = await send(server, bob, "old message", alice)
    mine = await send(server, alice, "my message", bob)
    with_carol = await send(server, carol, "hi", alice)
    async with open_stream(server, alice) as stream:
        await stream.ack((await stream.messages(3))[-1]["id"])  # everything so far
        await block(server, alice, bob)
        chat_id = old["chat_id"]
        assert (await server.http.post(f"{API}/chats/{chat_id}/typing", headers=bob.headers)).status_code == 204
        await server.http.patch(f"{API}/messages/{old['id']}", headers=bob.headers, json={"text": {"body": "edited"}})
        await server.http.post(f"{API}/messages/{mine['id']}/reactions", headers=bob.headers, json={"emoji": "😠"})
        await server.http.post(f"{API}/chats/{with_carol['chat_id']}/typing", headers=carol.headers)
        typing = await stream.next("typing")
        assert typing["user_id"] == carol.user_id
        await stream.sync()
        assert stream.held("message") == []
        assert stream.held("typing") == []


async def test_unblock_delivers_new_messages_but_not_the_withheld_ones(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    await block(server, alice, bob)
    withheld = await send(server, bob, "while blocked", alice)
    assert (await server.http.delete(f"{API}/blocks/{bob.user_id}", headers=alice.headers)).status_code == 204
    assert (await server.http.get(f"{API}/blocks", headers=alice.headers)).json()["blocks"] == []
    async with open_stream(server, alice) as stream:
        after = await send(server, bob, "after unblock", alice)
        assert (await stream.next("message"))["message"]["id"] == after["id"]
    assert await bodies(server, alice, withheld["chat_id"]) == ["after unblock"]
    again = await server.http.delete(f"{API}/blocks/{bob.user_id}", headers=alice.headers)
    assert again.status_code == 404


async def test_block_refusals(server: LiveServer) -> None:
    alice = await server.user("Alice")
    myself = await server.http.post(f"{API}/blocks", headers=alice.headers, json={"phone": alice.phone})
    assert myself.status_code == 400
    unknown = await server.http.post(f"{API}/blocks", headers=alice.headers, json={"phone": server.next_phone()})
    assert unknown.status_code == 404
    invalid = await server.http.post(f"{API}/blocks", headers=alice.headers, json={"phone": "12"})
    assert invalid.status_code == 400
    assert invalid.json()["error"]["code"] == "invalid_phone_number"
    assert (await server.http.get(f"{API}/blocks", headers=alice.headers)).json()["blocks"] == []


async def test_report_with_messages_is_recorded(server: LiveServer) -> None:
    alice, spammer = await server.user("Alice"), await server.user("Spammer")
    first = await send(server, spammer, "buy now", alice)
    second = await send(server, spammer, "limited offer", alice)
    response = await server.http.post(
        f"{API}/reports",
        headers=alice.headers,
        json={
            "user_id": spammer.user_id,
            "chat_id": first["chat_id"],
            "message_ids": [first["id"], second["id"]],
            "reason": "spam",
        },
    )
    assert response.status_code == 200
    [row] = await stored_reports(server)
    assert str(row.id) == response.json()["id"]
    assert (str(row.reporter_id), str(row.reported_user_id), str(row.chat_id)) == (
        alice.user_id,
        spammer.user_id,
        first["chat_id"],
    )
    assert json.loads(row.message_ids) == [first["id"], second["id"]]
    assert row.reason == "spam"


async def test_report_by_phone_without_messages(server: LiveServer) -> None:
    alice, creep = await server.user("Alice"), await server.user("Creep")
    response = await server.http.post(
        f"{API}/reports", headers=alice.headers, json={"phone": creep.phone, "reason": "harassment"}
    )
    assert response.status_code == 200
    [row] = await stored_reports(server)
    assert str(row.reported_user_id) == creep.user_id


async def test_reporting_messages_that_are_not_from_that_user_is_not_found(server: LiveServer) -> None:
    alice, bob, carol, dave = (
        await server.user("Alice"),
        await server.user("Bob"),
        await server.user("Carol"),
        await server.user("Dave"),
    )
    from_bob = await send(server, bob, "innocent", alice)
    from_alice = await send(server, alice, "mine", bob)
    elsewhere = await send(server, carol, "not in alice's chats", dave)
    for message_ids in ([from_alice["id"]], [from_bob["id"], from_alice["id"]], ["99999999"]):
        response = await server.http.post(
            f"{API}/reports", headers=alice.headers, json={"user_id": bob.user_id, "message_ids": message_ids}
        )
        assert response.status_code == 404, message_ids
    # Carol's message, reported by someone who was never in that chat.
    outsider = await server.http.post(
        f"{API}/reports", headers=alice.headers, json={"user_id": carol.user_id, "message_ids": [elsewhere["id"]]}
    )
    assert outsider.status_code == 404
    unknown_user = await server.http.post(
        f"{API}/reports", headers=alice.headers, json={"user_id": "12345", "reason": "x"}
    )
    assert unknown_user.status_code == 404
    both = await server.http.post(
        f"{API}/reports", headers=alice.headers, json={"user_id": bob.user_id, "phone": bob.phone}
    )
    assert both.status_code == 400
    assert await stored_reports(server) == []


async def test_blocking_then_reporting_the_withheld_message(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    await block(server, alice, bob)
    withheld = await send(server, bob, "abuse", alice)
    response = await server.http.post(
        f"{API}/reports",
        headers=alice.headers,
        json={"user_id": bob.user_id, "message_ids": [withheld["id"]], "reason": uuid.uuid4().hex},
    )
    assert response.status_code == 200
    assert len(await stored_reports(server)) == 1


async def test_who_can_add_me_to_groups_defaults_to_everyone_and_can_be_changed(server: LiveServer) -> None:
    alice = await server.user("Alice")
    assert (await server.http.get(f"{API}/privacy", headers=alice.headers)).json() == {
        "group_add": "everyone",
        "last_seen": "everyone",
    }
    for choice in ("contacts", "nobody", "everyone", "nobody"):
        changed = await server.http.patch(f"{API}/privacy", headers=alice.headers, json={"group_add": choice})
        assert changed.status_code == 200
        assert changed.json() == {"group_add": choice, "last_seen": "everyone"}
    assert (await server.http.get(f"{API}/privacy", headers=alice.headers)).json() == {
        "group_add": "nobody",
        "last_seen": "everyone",
    }
    for bad in (
        {"group_add": "friends"},
        {"group_add": None, "last_seen": "friends"},
        {"seen": "nobody"},
        {"group_add": 1},
    ):
        refused = await server.http.patch(f"{API}/privacy", headers=alice.headers, json=bad)
        assert refused.status_code == 400, bad
        assert set(refused.json()["error"]) == {"code", "message"}
    assert (await server.http.get(f"{API}/privacy", headers=alice.headers)).json() == {
        "group_add": "nobody",
        "last_seen": "everyone",
    }
    assert (await server.http.get(f"{API}/privacy")).status_code == 401
