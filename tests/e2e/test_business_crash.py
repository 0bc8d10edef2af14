"""Kill `parley serve` with SIGKILL in the middle of a burst of Cloud API sends, restart it, and count.

Every send answered 200 before the kill is stored exactly once with its `sent` status webhook in the outbox
exactly once; after the restart the outbox delivers every one of them to the business's endpoint (signed);
retrying with the same Idempotency-Key returns the first wamid and stores nothing new.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sqlite3
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.conftest import ServerProcess
from tests.e2e.graph_clients import Business, create_business

pytestmark = pytest.mark.e2e

SECRET = "crash-secret"
SENDERS = 8


class _Receiver:
    """A business's webhook endpoint: records every signed update it is sent."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # cut off by the kill: the sender never got an answer and will retry
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, self.headers.get("X-Hub-Signature-256", "")):
                    receiver.bad_signatures += 1
                receiver.updates.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def do_GET(self) -> None:
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sent_wamids(self) -> set[str]:
        out = set()
        for update in self.updates:
            value = update["entry"][0]["changes"][0]["value"]
            for status in value.get("statuses", []):
                if status["status"] == "sent":
                    out.add(status["id"])
        return out


async def _burst(
    server: ServerProcess, business: Business, to: str, stop: threading.Event, acked: dict[str, str]
) -> None:

    async def sender() -> None:
        headers = {"Authorization": f"Bearer {business.access_token}"}
        # verify=False: no TLS here, and building a certificate store per client costs ~0.1 s.
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5, verify=False) as client:
            while not stop.is_set():
                key = uuid.uuid4().hex
                body = {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": f"burst {key}"}}
                try:
                    response = await client.post(
                        f"/v23.0/{business.phone_number_id}/messages",
                        headers={**headers, "Idempotency-Key": key},
                        json=body,
                    )
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    acked[key] = response.json()["messages"][0]["id"]

    await asyncio.gather(*(sender() for _ in range(SENDERS)))


def test_sigkill_mid_burst_of_cloud_api_sends(tmp_path: Path) -> None:
    receiver = _Receiver()
    server = ServerProcess(
        tmp_path / "var", env={"PARLEY_BUSINESS__PAIR_BURST": "1000000", "PARLEY_WEBHOOKS__LEASE_S": "3"}
    )
    server.start()
    business = create_business(
        server,
        "Crash Test Co",
        "+14155550150",
        webhook_url=f"http://127.0.0.1:{receiver.port}/hook",
        verify_token="v",
        app_secret=SECRET,
    )
    person = server.create_user("+14155550151", "Pat")
    response = httpx.post(
        f"{server.base_url}/client/v1/messages",
        headers={"Authorization": f"Bearer {person['token']}"},
        json={"to": "+14155550150", "type": "text", "text": {"body": "hello"}, "client_id": "open-window"},
    )
    assert response.status_code == 200
    warm_up = httpx.post(
        f"{server.base_url}/v23.0/{business.phone_number_id}/messages",
        headers={"Authorization": f"Bearer {business.access_token}"},
        json={"messaging_product": "whatsapp", "to": person["phone"], "type": "text", "text": {"body": "first"}},
    )
    assert warm_up.status_code == 200, warm_up.text
    stop = threading.Event()

    acked: dict[str, str] = {}

    def killer() -> None:
        deadline = time.monotonic() + 20
        while len(acked) < 150 and time.monotonic() < deadline:  # well inside the burst
            time.sleep(0.01)
        server.kill()
        stop.set()

    thread = threading.Thread(target=killer)
    thread.start()
    asyncio.run(_burst(server, business, person["phone"], stop, acked))
    thread.join()
    assert len(acked) > 30, "the burst should have had many sends acknowledged before the kill"

    server.start()
    try:
        database = tmp_path / "var" / "parley.db"
        with sqlite3.connect(database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            keys = dict(conn.execute("SELECT client_id, CAST(id AS TEXT) FROM messages").fetchall())
            outbound = conn.execute("SELECT count(*) FROM business_messages WHERE direction = 'out'").fetchone()[0]
            events = [
                json.loads(v) for (v,) in conn.execute("SELECT value FROM webhook_events WHERE field = 'messages'")
            ]
        sent_events: dict[str, int] = {}
        for value in events:
            for status in value.get("statuses", []):
                if status["status"] == "sent":
                    sent_events[status["id"]] = sent_events.get(status["id"], 0) + 1
        stored = {k.removeprefix("idem:"): v for k, v in keys.items() if k.startswith("idem:")}
        assert outbound == len(stored) + 1 == len(sent_events), "every stored send has exactly one sent status"
        assert all(n == 1 for n in sent_events.values())
        lost = [k for k in acked if k not in stored]
        assert not lost, f"{len(lost)} acknowledged sends were lost"
        assert set(acked.values()) <= set(sent_events)

        # The outbox survives the crash: every acknowledged send's status reaches the endpoint, signed.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not set(acked.values()) <= receiver.sent_wamids():
            time.sleep(0.2)
        assert set(acked.values()) <= receiver.sent_wamids()
        assert receiver.bad_signatures == 0

        # Retries with the same keys return the first wamid and store nothing.
        headers = {"Authorization": f"Bearer {business.access_token}"}
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            for key, wamid in list(acked.items())[:50]:
                again = client.post(
                    f"/v23.0/{business.phone_number_id}/messages",
                    headers={**headers, "Idempotency-Key": key},
                    json={
                        "messaging_product": "whatsapp",
                        "to": person["phone"],
                        "type": "text",
                        "text": {"body": f"burst {key}"},  # the very request that was sent before the crash
                    },
                )
                assert again.status_code == 200 and again.json()["messages"][0]["id"] == wamid
        with sqlite3.connect(database) as conn:
            assert (
                conn.execute("SELECT count(*) FROM business_messages WHERE direction = 'out'").fetchone()[0] == outbound
            )
    finally:
        server.stop()
        receiver.server.shutdown()
