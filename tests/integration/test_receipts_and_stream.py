"""Receipts (sent → delivered → read) and the realtime WebSocket stream: live, durable, in order, once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from parley.config import Settings
from tests.conftest import LiveServer, User, running_server

API = "/client/v1"
Event = dict[str, Any]


class Stream:
    """A client's view of its stream: events by type, in arrival order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._held: list[Event] = []

    async def next(self, kind: str | None = None, timeout: float = 5.0) -> Event:
        """The next event of this type; events of other types are kept for later calls."""
        for i, event in enumerate(self._held):
            if kind is None or event["type"] == kind:
                return self._held.pop(i)
        while True:
            event: Event = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if kind is None or event["type"] == kind:
                return event
            self._held.append(event)

    async def messages(self, count: int) -> list[Event]:
        return [await self.next("message") for _ in range(count)]

    async def ack(self, seq: int) -> None:
        await self.ws.send(json.dumps({"type": "ack", "id": seq}))

    async def sync(self) -> None:
        """Round trip: the server handles a client's events in order, so everything sent before is done."""
        await self.ws.send(json.dumps({"type": "sync"}))
        error = await self.next("error")
        assert error["error"]["code"] == "invalid_event"

    def held(self, kind: str) -> list[Event]:
        return [e for e in self._held if e["type"] == kind]


@asynccontextmanager
async def open_stream(
    server: LiveServer, user: User | str, *, header: bool = False, ready: bool = True
) -> AsyncIterator[Stream]:
    token = user.token if isinstance(user, User) else user
    if header:
        ws = await connect(server.ws_url, additional_headers={"Authorization": f"Bearer {token}"})
    else:
        ws = await connect(f"{server.ws_url}?token={token}")
    try:
        stream = Stream(ws)
        if ready:
            await stream.sync()  # subscribed and caught up
        yield stream
    finally:
        await ws.close()


async def send(
    server: LiveServer, sender: User, body: str, *, to: User | None = None, group_id: str | None = None
) -> dict[str, Any]:
    return await server.send_text(sender, body, to=to, group_id=group_id)


async def own_status(server: LiveServer, user: User, chat_id: str, message_id: str) -> str:
    response = await server.http.get(f"{API}/chats/{chat_id}/messages", headers=user.headers, params={"limit": 100})
    return str(next(m for m in response.json()["messages"] if m["id"] == message_id)["status"])


async def receipts(server: LiveServer, user: User, message_id: str) -> dict[str, Event]:
    response = await server.http.get(f"{API}/messages/{message_id}/receipts", headers=user.headers)
    assert response.status_code == 200, response.text
    return {r["user_id"]: r for r in response.json()["receipts"]}


async def create_group(server: LiveServer, admin: User, *members: User) -> str:
    response = await server.http.post(
        f"{API}/groups", headers=admin.headers, json={"name": "G", "members": [m.phone for m in members]}
    )
    assert response.status_code == 200
    return str(response.json()["id"])


# --- live delivery ---------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [False, True], ids=["query-token", "authorization-header"])
async def test_online_recipient_gets_the_message_live(server: LiveServer, header: bool) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    async with open_stream(server, bob, header=header) as stream:
        sent = await send(server, alice, "live!", to=bob)
        event = await stream.next("message")
    assert event["id"] == 1
    assert event["event"] == "new"
    message = event["message"]
    assert (message["id"], message["chat_id"], message["sender_id"]) == (sent["id"], sent["chat_id"], alice.user_id)
    assert message["text"] == {"body": "live!"}
    assert message["status"] == "sent"


async def test_own_sends_come_back_to_the_senders_devices(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    laptop = await server.container.accounts.create_user_with_token(alice.phone, "Alice", "Laptop")
    async with open_stream(server, alice) as phone_stream, open_stream(server, laptop.token) as laptop_stream:
        mine = await send(server, alice, "to bob", to=bob)
        reply = await send(server, bob, "to alice", to=alice)
        for stream in (phone_stream, laptop_stream):
            events = await stream.messages(2)
            assert [e["id"] for e in events] == [1, 2]
            assert [e["message"]["id"] for e in events] == [mine["id"], reply["id"]]
            assert events[0]["message"]["sender_id"] == alice.user_id


async def test_edits_deletes_and_reactions_are_streamed(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    async with open_stream(server, bob) as stream:
        sent = await send(server, alice, "draft", to=bob)
        url = f"{API}/messages/{sent['id']}"
        await server.http.patch(url, headers=alice.headers, json={"text": {"body": "final"}})
        await server.http.post(f"{url}/reactions", headers=alice.headers, json={"emoji": "🎉"})
        await server.http.delete(url, headers=alice.headers)
        events = await stream.messages(4)
    assert [e["event"] for e in events] == ["new", "edited", "reaction", "deleted"]
    assert [e["id"] for e in events] == [1, 2, 3, 4]
    assert {e["message"]["id"] for e in events} == {sent["id"]}
    assert events[1]["message"]["text"] == {"body": "final"}
    assert events[1]["message"]["edited_at"] is not None
    assert events[2]["message"]["reactions"] == [{"user_id": alice.user_id, "emoji": "🎉"}]
    assert events[3]["message"]["deleted"] is True
    assert events[3]["message"]["text"] is None


async def test_every_device_of_the_recipient_gets_the_message(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    tablet = await server.container.accounts.create_user_with_token(bob.phone, "Bob", "Tablet")
    async with open_stream(server, bob) as phone_stream, open_stream(server, tablet.token) as tablet_stream:
        sent = await send(server, alice, "both", to=bob)
        on_phone, on_tablet = await phone_stream.next("message"), await tablet_stream.next("message")
    assert on_phone["message"]["id"] == on_tablet["message"]["id"] == sent["id"]


# --- receipts -----------------------------------------------------------------------------------


async def test_ack_makes_the_message_delivered(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    async with open_stream(server, alice) as alice_stream, open_stream(server, bob) as bob_stream:
        sent = await send(server, alice, "did you get this?", to=bob)
        event = await bob_stream.next("message")
        assert await own_status(server, alice, sent["chat_id"], sent["id"]) == "sent"
        await bob_stream.ack(event["id"])
        receipt = await alice_stream.next("receipt")
    assert receipt["message_id"] == sent["id"]
    assert receipt["chat_id"] == sent["chat_id"]
    assert receipt["user_id"] == bob.user_id
    assert receipt["status"] == "delivered"
    assert receipt["timestamp"] >= sent["timestamp"]

    assert await own_status(server, alice, sent["chat_id"], sent["id"]) == "delivered"
    row = (await receipts(server, alice, sent["id"]))[bob.user_id]
    assert row["status"] == "delivered"
    assert row["delivered_at"] == receipt["timestamp"]
    assert row["read_at"] is None


async def test_acks_are_cumulative_and_count_once(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    tablet = await server.container.accounts.create_user_with_token(bob.phone, "Bob", "Tablet")
    async with open_stream(server, alice) as alice_stream:
        async with open_stream(server, bob) as bob_stream:
            sent = [await send(server, alice, f"m{i}", to=bob) for i in range(3)]
            events = await bob_stream.messages(3)
            await bob_stream.ack(events[-1]["id"])  # one ack covers all three
            got = [await alice_stream.next("receipt") for _ in range(3)]
        assert sorted(r["message_id"] for r in got) == sorted(s["id"] for s in sent)
        assert {r["status"] for r in got} == {"delivered"}
        # The tablet acking the same messages later is no news for Alice.
        async with open_stream(server, tablet.token, ready=False) as tablet_stream:
            await tablet_stream.messages(3)
            await tablet_stream.ack(3)
            await tablet_stream.sync()
        late = await send(server, bob, "sentinel", to=alice)
        while (await alice_stream.next("message"))["message"]["id"] != late["id"]:
            pass  # Alice's own three sends come first
        assert alice_stream.held("receipt") == []


async def test_read_receipt(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    async with open_stream(server, alice) as alice_stream:
        first = await send(server, alice, "one", to=bob)
        second = await send(server, alice, "two", to=bob)
        response = await server.http.post(f"{API}/messages/{second['id']}/read", headers=bob.headers)
        assert response.status_code == 204
        got = [await alice_stream.next("receipt") for _ in range(2)]
    assert sorted(r["message_id"] for r in got) == sorted([first["id"], second["id"]])
    assert {(r["status"], r["user_id"]) for r in got} == {("read", bob.user_id)}
    for sent in (first, second):
        assert await own_status(server, alice, sent["chat_id"], sent["id"]) == "read"
        assert await own_status(server, bob, sent["chat_id"], sent["id"]) == "read"
        row = (await receipts(server, alice, sent["id"]))[bob.user_id]
        assert row["read_at"] is not None
        assert row["delivered_at"] is not None  # read implies delivered


async def test_reading_an_outsiders_message_is_not_found(server: LiveServer) -> None:
    alice, bob, eve = await server.user("Alice"), await server.user("Bob"), await server.user("Eve")
    sent = await send(server, alice, "private", to=bob)
    assert (await server.http.post(f"{API}/messages/{sent['id']}/read", headers=eve.headers)).status_code == 404
    assert (await server.http.get(f"{API}/messages/{sent['id']}/receipts", headers=eve.headers)).status_code == 404
    assert await own_status(server, alice, sent["chat_id"], sent["id"]) == "sent"


async def test_group_receipts_per_member(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    group_id = await create_group(server, alice, bob, carol)
    async with open_stream(server, bob) as bob_stream:
        sent = await send(server, alice, "meeting at 3", group_id=group_id)
        await bob_stream.ack((await bob_stream.next("message"))["id"])
        await bob_stream.sync()

    rows = await receipts(server, alice, sent["id"])
    assert set(rows) == {bob.user_id, carol.user_id}
    assert (rows[bob.user_id]["status"], rows[carol.user_id]["status"]) == ("delivered", "sent")
    assert await own_status(server, alice, group_id, sent["id"]) == "sent"  # the lowest over members

    await server.http.post(f"{API}/messages/{sent['id']}/read", headers=carol.headers)
    rows = await receipts(server, alice, sent["id"])
    assert (rows[bob.user_id]["status"], rows[carol.user_id]["status"]) == ("delivered", "read")
    assert await own_status(server, alice, group_id, sent["id"]) == "delivered"
    assert await own_status(server, carol, group_id, sent["id"]) == "read"
    assert await own_status(server, bob, group_id, sent["id"]) == "delivered"

    await server.http.post(f"{API}/messages/{sent['id']}/read", headers=bob.headers)
    assert await own_status(server, alice, group_id, sent["id"]) == "read"

    not_sender = await server.http.get(f"{API}/messages/{sent['id']}/receipts", headers=bob.headers)
    assert not_sender.status_code == 403


# --- offline devices and reconnects -------------------------------------------------------------------


async def test_offline_device_catches_up_in_order_and_unacked_events_come_again(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    async with open_stream(server, bob):
        pass  # online once, then gone

    sent = [await send(server, alice, f"m{i}", to=bob) for i in range(1, 4)]
    async with open_stream(server, bob, ready=False) as stream:
        events = await stream.messages(3)
        assert [e["id"] for e in events] == [1, 2, 3]
        assert [e["message"]["id"] for e in events] == [s["id"] for s in sent]
        await stream.ack(2)  # the app crashed before it stored m3
        await stream.sync()
    assert await own_status(server, alice, sent[0]["chat_id"], sent[1]["id"]) == "delivered"
    assert await own_status(server, alice, sent[0]["chat_id"], sent[2]["id"]) == "sent"

    sent.append(await send(server, alice, "m4", to=bob))
    async with open_stream(server, bob, ready=False) as stream:
        events = await stream.messages(2)
        assert [e["id"] for e in events] == [3, 4]
        assert [e["message"]["text"]["body"] for e in events] == ["m3", "m4"]
        # Nothing else was pending: the next event is a new, live one.
        await send(server, alice, "m5", to=bob)
        live = await stream.next("message")
        assert (live["id"], live["message"]["text"]["body"]) == (5, "m5")
        await stream.ack(5)
        await stream.sync()

    async with open_stream(server, bob) as stream:
        await send(server, alice, "m6", to=bob)
        event = await stream.next("message")
        assert (event["id"], event["message"]["text"]["body"]) == (6, "m6")
        assert stream.held("message") == []
    for s in sent:
        assert await own_status(server, alice, s["chat_id"], s["id"]) == "delivered"


async def test_catching_up_while_new_messages_arrive_sends_each_once_in_order(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    for i in range(20):
        await send(server, alice, f"backlog {i}", to=bob)

    async def more() -> None:
        for i in range(20):
            await send(server, carol, f"live {i}", to=bob)

    async with open_stream(server, bob, ready=False) as stream:
        writer = asyncio.create_task(more())
        events = await stream.messages(40)
        await writer
        await send(server, alice, "last", to=bob)
        events.append(await stream.next("message"))
    assert [e["id"] for e in events] == list(range(1, 42))
    backlog = [e["message"]["text"]["body"] for e in events if e["message"]["sender_id"] == alice.user_id]
    live = [e["message"]["text"]["body"] for e in events if e["message"]["sender_id"] == carol.user_id]
    assert backlog == [f"backlog {i}" for i in range(20)] + ["last"]
    assert live == [f"live {i}" for i in range(20)]


async def test_a_message_arriving_while_connecting_does_not_resend_acked_ones(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    async with open_stream(server, bob) as stream:
        for i in range(3):
            await send(server, alice, f"old {i}", to=bob)
        await stream.ack((await stream.messages(3))[-1]["id"])
        await stream.sync()

    messaging = server.container.messaging
    real_mark = messaging.device_ack_mark

    async def mark_then_a_message_arrives(device_id: int) -> int:
        mark = await real_mark(device_id)
        await send(server, alice, "during connect", to=bob)
        return mark

    monkeypatch.setattr(messaging, "device_ack_mark", mark_then_a_message_arrives)
    async with open_stream(server, bob, ready=False) as stream:
        first = await stream.next("message")
        assert (first["id"], first["message"]["text"]["body"]) == (4, "during connect")
        await stream.sync()
        assert stream.held("message") == []


async def test_ack_beyond_the_inbox_does_not_swallow_future_messages(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    async with open_stream(server, bob) as stream:
        await stream.ack(1_000_000)
        await stream.sync()
    await send(server, alice, "after a bogus ack", to=bob)
    async with open_stream(server, bob, ready=False) as stream:
        event = await stream.next("message")
    assert event["message"]["text"] == {"body": "after a bogus ack"}


async def test_a_new_device_starts_from_now(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    await send(server, alice, "before the tablet", to=bob)
    tablet = await server.container.accounts.create_user_with_token(bob.phone, "Bob", "Tablet")
    async with open_stream(server, tablet.token) as stream:
        await send(server, alice, "after the tablet", to=bob)
        event = await stream.next("message")
    assert event["message"]["text"] == {"body": "after the tablet"}


# --- typing -------------------------------------------------------------------------------------------


async def test_typing_reaches_the_other_member(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    chat_id = (await send(server, alice, "hi", to=bob))["chat_id"]
    async with open_stream(server, alice) as alice_stream, open_stream(server, bob) as bob_stream:
        assert (await server.http.post(f"{API}/chats/{chat_id}/typing", headers=alice.headers)).status_code == 204
        assert await bob_stream.next("typing") == {"type": "typing", "chat_id": chat_id, "user_id": alice.user_id}

        await bob_stream.ws.send(json.dumps({"type": "typing", "chat_id": chat_id}))
        assert await alice_stream.next("typing") == {"type": "typing", "chat_id": chat_id, "user_id": bob.user_id}


async def test_typing_in_a_chat_you_are_not_in(server: LiveServer) -> None:
    alice, bob, eve = await server.user("Alice"), await server.user("Bob"), await server.user("Eve")
    chat_id = (await send(server, alice, "hi", to=bob))["chat_id"]
    assert (await server.http.post(f"{API}/chats/{chat_id}/typing", headers=eve.headers)).status_code == 404
    async with open_stream(server, bob) as bob_stream, open_stream(server, eve) as eve_stream:
        await eve_stream.ws.send(json.dumps({"type": "typing", "chat_id": chat_id}))
        error = await eve_stream.next("error")
        assert error["error"]["code"] == "chat_not_found"
        # Bob saw nothing from Eve: the next thing he gets is Alice's message.
        await send(server, alice, "sentinel", to=bob)
        await bob_stream.next("message")
        assert bob_stream.held("typing") == []


# --- the connection itself ----------------------------------------------------------------------------


async def test_bad_token_is_refused(server: LiveServer) -> None:
    for url in (server.ws_url, f"{server.ws_url}?token=", f"{server.ws_url}?token=garbage-token"):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url):
                pass
        assert refused.value.response.status_code == 403, url
    with pytest.raises(InvalidStatus):
        async with connect(server.ws_url, additional_headers={"Authorization": "Bearer garbage-token"}):
            pass


async def test_the_token_may_ride_in_the_url_of_the_stream_only(server: LiveServer) -> None:
    # A browser cannot set headers on a WebSocket, so the stream takes `?token=`; no other route does: URLs end up
    # in proxy logs and Referer headers.
    bob = await server.user("Bob")
    async with open_stream(server, bob) as stream:
        await stream.sync()
    refused = await server.http.get(f"{API}/chats", params={"token": bob.token})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_token"
    assert (await server.http.get(f"{API}/chats", headers=bob.headers)).status_code == 200


async def _closed_with(ws: ClientConnection) -> tuple[int | None, str | None]:
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    return ws.close_code, ws.close_reason


async def test_a_second_stream_of_a_device_replaces_the_first(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    async with open_stream(server, bob) as first, open_stream(server, bob, ready=False) as second:
        code, reason = await _closed_with(first.ws)
        assert code == 4409 and reason == "this device opened a newer stream"
        sent = await server.send_text(alice, "to the newer stream", to=bob)
        assert (await second.next("message"))["message"]["id"] == sent["id"]


async def test_a_device_opening_many_streams_at_once_keeps_one(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sockets = await asyncio.gather(*(connect(f"{server.ws_url}?token={bob.token}") for _ in range(10)))
    try:
        sent = await server.send_text(alice, "to the one stream left", to=bob)
        received, replaced = [], []
        for ws in sockets:
            try:
                received.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            except ConnectionClosed:
                replaced.append(ws.close_code)
        assert [event["message"]["id"] for event in received] == [sent["id"]]
        assert replaced == [4409] * 9
    finally:
        for ws in sockets:
            await ws.close()


async def test_an_account_streams_to_at_most_the_configured_number_of_devices(settings: Settings) -> None:
    limits = settings.limits.model_copy(update={"max_streams_per_account": 2})
    async with running_server(settings.model_copy(update={"limits": limits})) as server:
        bob = await server.user("Bob")
        devices = [await server.container.accounts.create_user_with_token(bob.phone, "Bob") for _ in range(2)]
        async with open_stream(server, bob), open_stream(server, devices[0].token):
            async with open_stream(server, devices[1].token, ready=False) as refused:
                code, reason = await _closed_with(refused.ws)
            assert code == 4429 and reason is not None and "at most 2 devices" in reason
        # Closed streams free their places.
        async with open_stream(server, devices[0].token), open_stream(server, devices[1].token) as third:
            await third.sync()


async def test_revoked_token_is_refused(server: LiveServer) -> None:
    bob = await server.user("Bob")
    async with open_stream(server, bob):
        pass
    await server.http.post(f"{API}/auth/logout", headers=bob.headers)
    with pytest.raises(InvalidStatus):
        async with connect(f"{server.ws_url}?token={bob.token}"):
            pass


async def test_revoking_a_device_closes_its_open_stream(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    lost = await server.container.accounts.create_user_with_token(bob.phone, "Bob", "Lost phone")
    async with open_stream(server, lost.token) as stream:
        response = await server.http.delete(f"{API}/devices/{lost.device_id}", headers=bob.headers)
        assert response.status_code == 204
        await send(server, alice, "not for the thief", to=bob)
        with pytest.raises(ConnectionClosed):
            while True:
                event = await stream.next(timeout=5)
                assert event["type"] != "message", "a revoked device still receives messages"


async def test_bad_client_events_get_an_error_and_the_stream_stays_open(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    async with open_stream(server, bob) as stream:
        for raw in [
            "not json",
            "[1, 2]",
            '{"type": "ack", "id": "3"}',
            '{"type": "typing"}',
            '{"type": "typing", "chat_id": "x"}',
        ]:
            await stream.ws.send(raw)
            error = await stream.next("error")
            assert set(error["error"]) == {"code", "message"}
        await send(server, alice, "still here", to=bob)
        assert (await stream.next("message"))["message"]["text"] == {"body": "still here"}


async def test_message_ids_in_stream_are_the_ones_history_shows(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    async with open_stream(server, bob) as stream:
        ids = [(await send(server, alice, f"{i}", to=bob))["id"] for i in range(3)]
        streamed = [e["message"]["id"] for e in await stream.messages(3)]
    chat_id = (await server.http.get(f"{API}/chats", headers=bob.headers)).json()["chats"][0]["id"]
    history = (await server.http.get(f"{API}/chats/{chat_id}/messages", headers=bob.headers)).json()["messages"]
    assert streamed == ids == [m["id"] for m in reversed(history)]
