"""The stream's own WebSocket protocol (what `parley serve` runs), and the ASGI route other servers use."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from parley.config import Settings
from parley.kit.clock import OffsetClock
from parley.serving import protocol_for
from tests.conftest import LiveServer

API = "/client/v1"


async def _sync(ws: ClientConnection) -> None:
    """Round trip: once the error for an unknown event is back, the stream is subscribed and caught up."""
    await ws.send(json.dumps({"type": "sync"}))
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if event["type"] == "error":
            assert event["error"]["code"] == "invalid_event"
            return


async def _next(ws: ClientConnection, kind: str) -> dict[str, object]:
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if event["type"] == kind:
            return dict(event)


async def _closed_with(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    return ws.close_code


def _serves_a_socket(task: asyncio.Task[object]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    where = code.co_filename if code is not None else ""
    return "/parley/messaging/" in where or "/uvicorn/protocols/" in where


async def test_an_idle_stream_holds_no_task_on_the_server(server: LiveServer) -> None:
    alice = await server.user("Alice")
    users = [await server.user() for _ in range(5)]
    async with contextlib.AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(connect(f"{server.ws_url}?token={u.token}")) for u in users]
        for user, ws in zip(users, sockets, strict=True):
            await _sync(ws)
            # Once a message is in, the stream has caught up, and its sender is done with what it had to send.
            sent = await server.send_text(alice, "hello", to=user)
            assert dict((await _next(ws, "message"))["message"])["id"] == sent["id"]  # type: ignore[call-overload]
        await asyncio.sleep(0)
        # uvicorn's own WebSocket protocol would hold one ASGI task per socket here.
        assert [t for t in asyncio.all_tasks() if _serves_a_socket(t)] == []
        # ... and the streams are live all the same.
        sent = await server.send_text(alice, "still delivered", to=users[0])
        assert dict((await _next(sockets[0], "message"))["message"])["id"] == sent["id"]  # type: ignore[call-overload]


async def test_pings_are_answered_and_fragmented_messages_are_whole_events(server: LiveServer) -> None:
    bob = await server.user("Bob")
    async with connect(f"{server.ws_url}?token={bob.token}") as ws:
        await _sync(ws)
        await asyncio.wait_for(await ws.ping(b"are you there"), 5)
        await ws.send(iter(['{"type": ', '"sync"}']))  # one message in two frames
        error = await _next(ws, "error")
        assert dict(error["error"])["code"] == "invalid_event"  # type: ignore[call-overload]


async def test_a_binary_message_closes_the_stream_with_1003(server: LiveServer) -> None:
    bob = await server.user("Bob")
    async with connect(f"{server.ws_url}?token={bob.token}") as ws:
        await _sync(ws)
        await ws.send(b'{"type": "ack", "id": 1}')
        assert await _closed_with(ws) == 1003


async def test_a_request_that_is_not_a_websocket_upgrade_gets_400(server: LiveServer) -> None:
    bob = await server.user("Bob")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        f"GET /client/v1/stream?token={bob.token} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    status = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    assert status.startswith(b"HTTP/1.1 400"), status


async def test_a_server_stopping_closes_its_streams_with_1012(settings: Settings) -> None:
    live = LiveServer(settings, OffsetClock())
    await live.start()
    bob = await live.user("Bob")
    stopped = False
    try:
        async with connect(f"{live.ws_url}?token={bob.token}") as ws:
            await _sync(ws)
            assert (await live.container.messaging.presence(int(bob.user_id), bob.user_id))[0]  # online
            stop = asyncio.create_task(live.stop())
            assert await _closed_with(ws) == 1012
            await stop
            stopped = True
    finally:
        if not stopped:
            await live.stop()


class _PingingServer(LiveServer):
    """`parley serve`'s protocols with uvicorn's keep-alive on: a ping every 0.1 s, its pong due within 0.1 s."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, OffsetClock())
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws_ping_interval=0.1,
            ws_ping_timeout=0.1,
            http=protocol_for(settings.server),
        )
        self._server = uvicorn.Server(config)


async def test_keepalive_pings_and_closes_a_peer_that_never_answers(settings: Settings) -> None:
    live = _PingingServer(settings)
    await live.start()
    try:
        bob = await live.user("Bob")
        async with connect(f"{live.ws_url}?token={bob.token}") as answering:  # websockets answers pings itself
            await _sync(answering)
            await asyncio.sleep(0.5)
            await _sync(answering)
        reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
        writer.write(
            f"GET /client/v1/stream?token={bob.token} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
            "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode()
        )
        received = await asyncio.wait_for(reader.read(), 10)  # up to the server's close: this client never pongs
        writer.close()
        head, _, frames = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101")
        opcodes = []
        while frames:
            length = frames[1] & 0x7F  # server frames are unmasked; these are all short
            opcodes.append(frames[0] & 0x0F)
            if frames[0] & 0x0F == 0x8:
                assert int.from_bytes(frames[2:4], "big") == 1011
            frames = frames[2 + length :]
        assert 0x9 in opcodes and opcodes[-1] == 0x8  # pinged, then closed for the missing pong
    finally:
        await live.stop()


class _AsgiStreamServer(LiveServer):
    """uvicorn's own HTTP and WebSocket protocols: the stream through the ASGI route, as on any ASGI server."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, OffsetClock())
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", ws_ping_interval=None)
        )


@pytest.fixture
async def asgi_server(settings: Settings) -> AsyncIterator[LiveServer]:
    live = _AsgiStreamServer(settings)
    await live.start()
    try:
        yield live
    finally:
        await live.stop()


async def test_the_asgi_route_serves_the_same_stream(asgi_server: LiveServer) -> None:
    server = asgi_server
    alice, bob = await server.user("Alice"), await server.user("Bob")
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{server.ws_url}?token=garbage"):
            pass
    assert refused.value.response.status_code == 403
    async with connect(server.ws_url, additional_headers={"Authorization": f"Bearer {bob.token}"}) as first:
        await _sync(first)
        sent = await server.send_text(alice, "hello", to=bob)
        event = await _next(first, "message")
        assert dict(event["message"])["id"] == sent["id"]  # type: ignore[call-overload]
        await first.send(json.dumps({"type": "ack", "id": event["id"]}))
        await _sync(first)
        async with connect(f"{server.ws_url}?token={bob.token}") as second:
            assert await _closed_with(first) == 4409
            await _sync(second)  # the acked message is not sent again: the next event is the sync's error
            await second.send(b"binary")
            assert await _closed_with(second) == 1003
        response = await server.http.get(f"{API}/messages/{sent['id']}/receipts", headers=alice.headers)
        assert response.json()["receipts"][0]["status"] == "delivered"
