"""Two server processes on one PostgreSQL and one Redis: a message sent through one process reaches a
WebSocket held by the other, and the receipt travels back the same way."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.e2e.conftest import ServerProcess, shared_services_env

pytestmark = [pytest.mark.e2e, pytest.mark.services]


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with shared_services_env() as env:
        first = ServerProcess(tmp_path / "a", env)
        second = ServerProcess(tmp_path / "b", env)
        try:
            first.start()
            second.start()
            yield first, second
        finally:
            first.stop()
            second.stop()


async def _next_event(ws: websockets.ClientConnection, kind: str) -> dict[str, object]:
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if event["type"] == kind:
            return dict(event)


def test_message_crosses_processes_through_redis(two_servers: tuple[ServerProcess, ServerProcess]) -> None:
    first, second = two_servers
    alice = first.create_user("+14155550301", "Alice")
    bob = second.create_user("+14155550302", "Bob")

    async def scenario() -> None:
        # Alice listens on process A, Bob listens on process B.
        async with (
            websockets.connect(f"{first.ws_url}?token={alice['token']}") as alice_ws,
            websockets.connect(second.ws_url, additional_headers={"Authorization": f"Bearer {bob['token']}"}) as bob_ws,
        ):
            await asyncio.sleep(0.3)  # let both processes SUBSCRIBE in Redis
            async with httpx.AsyncClient(base_url=second.base_url) as client:
                response = await client.post(
                    "/client/v1/messages",
                    headers={"Authorization": f"Bearer {bob['token']}"},
                    json={
                        "to": alice["phone"],
                        "type": "text",
                        "text": {"body": "via B"},
                        "client_id": uuid.uuid4().hex,
                    },
                )
            assert response.status_code == 200
            sent_id = response.json()["id"]

            event = await _next_event(alice_ws, "message")
            message = event["message"]
            assert isinstance(message, dict)
            assert message["id"] == sent_id and message["text"] == {"body": "via B"}

            # Alice acks on A; Bob's socket on B hears "delivered".
            await alice_ws.send(json.dumps({"type": "ack", "id": event["id"]}))
            receipt = await _next_event(bob_ws, "receipt")
            assert receipt["message_id"] == sent_id and receipt["status"] == "delivered"

    asyncio.run(scenario())


def test_a_device_streams_through_one_process_at_a_time(two_servers: tuple[ServerProcess, ServerProcess]) -> None:
    first, second = two_servers
    carol = first.create_user("+14155550303", "Carol")

    async def scenario() -> None:
        async with websockets.connect(f"{first.ws_url}?token={carol['token']}") as older:
            await asyncio.sleep(0.3)  # let process A SUBSCRIBE in Redis
            async with websockets.connect(f"{second.ws_url}?token={carol['token']}"):
                with pytest.raises(websockets.ConnectionClosed):
                    while True:
                        await asyncio.wait_for(older.recv(), timeout=10)
                assert older.close_code == 4409

    asyncio.run(scenario())
