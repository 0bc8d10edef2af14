"""Kill the server with SIGKILL in the middle of a burst of sends, restart it, and count.

Every send answered 200 before the kill must be there exactly once after the restart; sends that were
in flight may or may not have landed, but retrying them (same client_id) never makes a second copy.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.e2e

SENDERS = 8


async def _burst(
    server: ServerProcess, tokens: list[str], to: str, stop: threading.Event
) -> tuple[dict[str, str], set[str]]:
    """Send from every sender until the server dies; return acknowledged client_id -> id, and all attempted."""
    acked: dict[str, str] = {}
    attempted: set[str] = set()

    async def sender(token: str) -> None:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as client:
            while not stop.is_set():
                client_id = uuid.uuid4().hex
                attempted.add(client_id)
                try:
                    response = await client.post(
                        "/client/v1/messages",
                        headers={"Authorization": f"Bearer {token}"},
                        json={"to": to, "type": "text", "text": {"body": f"burst {client_id}"}, "client_id": client_id},
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code == 200:
                    acked[client_id] = response.json()["id"]

    await asyncio.gather(*(sender(t) for t in tokens))
    return acked, attempted


def test_sigkill_mid_burst_loses_no_acknowledged_send(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "var")
    server.start()
    recipient = server.create_user("+14155550199", "Recipient")
    tokens = [server.create_user(f"+1415555{2000 + i:04d}", f"Sender {i}")["token"] for i in range(SENDERS)]
    stop = threading.Event()

    def killer() -> None:
        time.sleep(1.5)  # well inside the burst
        server.kill()
        stop.set()

    thread = threading.Thread(target=killer)
    thread.start()
    acked, attempted = asyncio.run(_burst(server, tokens, recipient["phone"], stop))
    thread.join()
    assert len(acked) > 50, "the burst should have had many sends acknowledged before the kill"

    server.start()  # same data directory: a restart after a crash
    try:
        database = tmp_path / "var" / "parley.db"
        with sqlite3.connect(database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            stored = dict(
                conn.execute("SELECT client_id, CAST(id AS TEXT) FROM messages WHERE client_id != ''").fetchall()
            )
            duplicates = conn.execute(
                "SELECT count(*) FROM (SELECT sender_id, client_id FROM messages GROUP BY 1, 2 HAVING count(*) > 1)"
            ).fetchone()[0]
        assert duplicates == 0
        lost = {c for c in acked if c not in stored}
        assert not lost, f"{len(lost)} acknowledged sends were lost"
        assert all(stored[c] == acked[c] for c in acked), "a stored message changed id"

        # Retrying everything that was attempted (as a client would) returns the first answers
        # and adds nothing: acknowledged ones keep their id, in-flight ones land once.
        by_sender = {}
        with sqlite3.connect(database) as conn:
            by_sender = dict(conn.execute("SELECT client_id, sender_id FROM messages").fetchall())
        token_of_sender = {}
        for token in tokens:
            me = httpx.get(f"{server.base_url}/client/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
            token_of_sender[int(me["user_id"])] = token
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            for client_id, message_id in list(acked.items())[:100]:
                token = token_of_sender[by_sender[client_id]]
                response = client.post(
                    "/client/v1/messages",
                    headers={"Authorization": f"Bearer {token}"},
                    json={
                        "to": recipient["phone"],
                        "type": "text",
                        "text": {"body": f"burst {client_id}"},  # the very request that was sent before the crash
                        "client_id": client_id,
                    },
                )
                assert response.status_code == 200
                assert response.json()["id"] == message_id
        with sqlite3.connect(database) as conn:
            total = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        assert total == len(stored), "retries created new messages"
        assert len(stored) <= len(attempted)
    finally:
        server.stop()
