"""Channel fan-out across two server processes on one PostgreSQL and one Redis: a follower streams from one process,
follows and the owner posts through the other, and the post reaches the stream (the follow crossed over the bus)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.e2e.conftest import ServerProcess, shared_services_env

pytestmark = [pytest.mark.e2e, pytest.mark.services]
API = "/client/v1/channels"


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with shared_services_env() as env:
        first, second = ServerProcess(tmp_path / "a", env), ServerProcess(tmp_path / "b", env)
        try:
            first.start()
            second.start()
            yield first, second
        finally:
            first.stop()
            second.stop()


async def _next_post(ws: websockets.ClientConnection) -> dict[str, object]:
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if event["type"] == "channel_post":
            return dict(event["post"])


def test_a_post_through_one_process_reaches_a_follower_streaming_from_another(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = two_servers
    owner = first.create_user("+14155550401", "Owner")
    fan = second.create_user("+14155550402", "Fan")

    async def scenario() -> None:
        owner_auth = {"Authorization": f"Bearer {owner['token']}"}
        fan_auth = {"Authorization": f"Bearer {fan['token']}"}
        async with httpx.AsyncClient(base_url=first.base_url) as a:
            created = await a.post(API, headers=owner_auth, json={"name": "Both", "category": "news", "country": "US"})
            assert created.status_code == 200, created.text
            cid = created.json()["id"]
            async with websockets.connect(f"{second.ws_url}?token={fan['token']}") as ws:
                await asyncio.sleep(0.5)  # the stream is admitted and its (empty) follow list loaded on process B
                followed = await a.put(f"{API}/{cid}/follow", headers=fan_auth)  # through process A
                assert followed.status_code == 200
                await asyncio.sleep(0.3)  # the follow crosses to B over Redis
                posted = await a.post(f"{API}/{cid}/posts", headers=owner_auth, json={"text": "across"})
                assert posted.status_code == 200, posted.text
                post = await _next_post(ws)
                assert (post["id"], post["text"]) == (posted.json()["id"], "across")
                await a.delete(f"{API}/{cid}/follow", headers=fan_auth)
                await asyncio.sleep(0.3)
                await a.post(f"{API}/{cid}/posts", headers=owner_auth, json={"text": "not for you"})
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(_next_post(ws), timeout=1.5)

    asyncio.run(scenario())
