"""The stream's promise, checked over random histories of sends, connects, partial acks and drops:
in order, none lost, none twice within a connection, and everything not acked comes again."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest
import websockets

from tests.conftest import LiveServer


async def _drain(ws: websockets.ClientConnection, quiet_s: float = 0.25) -> list[dict[str, object]]:
    """Every message event that arrives until the stream has been quiet for `quiet_s`."""
    events = []
    while True:
        try:
            raw = await asyncio.wait_for(ws.recv(), timeout=quiet_s)
        except TimeoutError:
            return events
        event = json.loads(raw)
        if event["type"] == "message":
            events.append(event)


async def _ack_stored(server: LiveServer, user: Any, seq: int) -> None:
    """Wait until the server has stored the device's ack (acks are written asynchronously, in batches)."""
    principal = await server.container.accounts.authenticate(user.token)
    for _ in range(500):
        if await server.container.messaging.device_ack_mark(principal.device_id) >= seq:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the ack of {seq} was never stored")


@pytest.mark.parametrize("seed", range(6))
async def test_random_histories_keep_the_stream_promise(server: LiveServer, seed: int) -> None:
    rng = random.Random(seed)
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent: list[str] = []  # message ids, in the order the server acknowledged them
    acked_seq = 0
    seen: dict[int, str] = {}  # seq -> message id, over all connections

    async def send_some() -> None:
        for _ in range(rng.randint(1, 5)):
            sent.append((await server.send_text(alice, f"m{len(sent)}", to=bob))["id"])

    async def one_connection(ack_fraction: float) -> None:
        nonlocal acked_seq
        async with websockets.connect(f"{server.ws_url}?token={bob.token}") as ws:
            if rng.random() < 0.5:  # sometimes messages arrive while connected
                await send_some()
            events = await _drain(ws)
            seqs = [int(e["id"]) for e in events]  # type: ignore[call-overload]
            assert seqs == sorted(set(seqs)), f"out of order or twice in one connection: {seqs}"
            if seqs:
                assert seqs[0] == acked_seq + 1, "a connection resumes right after the last ack"
            for event in events:
                message = event["message"]
                assert isinstance(message, dict)
                previous = seen.setdefault(int(event["id"]), str(message["id"]))  # type: ignore[call-overload]
                assert previous == message["id"], "a sequence number named two different messages"
            # Bob holds everything received so far: his next connection starts after the last ack.
            if events:
                keep = int(len(events) * ack_fraction)
                if keep:
                    acked_seq = int(events[keep - 1]["id"])  # type: ignore[call-overload]
                    await ws.send(json.dumps({"type": "ack", "id": acked_seq}))
                    await _ack_stored(server, bob, acked_seq)  # before the socket closes

    for _ in range(rng.randint(3, 7)):
        if rng.random() < 0.6:
            await send_some()
        await one_connection(rng.choice([0.0, 0.5, 1.0]))
    await one_connection(1.0)  # finally Bob reads everything and acks it all
    await one_connection(1.0)

    # Bob's inbox also holds nothing but Alice's messages here, so order is checkable end to end.
    received_in_order = [seen[s] for s in sorted(seen)]
    assert received_in_order == sent, "every send reached Bob exactly once, in the order it was sent"
