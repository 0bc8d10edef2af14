"""Far more sends than one `parley serve` may take at once: the surplus is refused early, nothing is lost.

With small caps (requests in flight, write units waiting), a flood of person sends and Cloud API sends gets
some 503 answers with Retry-After (client routes: `overloaded`; Graph routes: Meta's throughput error 130429),
every send answered 2xx is stored exactly once, no refused send is stored, and the webhook outbox still
delivers a `sent` status for every accepted Cloud API send.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ServerProcess
from tests.e2e.graph_clients import Business, create_business
from tests.e2e.test_business_crash import SECRET, _Receiver

pytestmark = pytest.mark.e2e

SENDERS = 64
SENDS_EACH = 8


class _Tally:
    def __init__(self) -> None:
        self.person_acked: set[str] = set()  # client_id
        self.person_refused: set[str] = set()
        self.graph_acked: dict[str, str] = {}  # Idempotency-Key -> wamid
        self.graph_refused: set[str] = set()
        self.other: Counter[tuple[int, str]] = Counter()
        # A kept-alive connection the server closed just as it was reused: no answer, so no claim either way.
        self.unanswered = 0


async def _flood(server: ServerProcess, business: Business, pat: dict[str, Any], quinn_phone: str) -> _Tally:
    tally = _Tally()
    limits = httpx.Limits(max_connections=SENDERS, max_keepalive_connections=SENDERS)

    async def person_send(client: httpx.AsyncClient) -> None:
        client_id = uuid.uuid4().hex
        response = await client.post(
            "/client/v1/messages",
            headers={"Authorization": f"Bearer {pat['token']}"},
            json={"to": quinn_phone, "type": "text", "text": {"body": "hi"}, "client_id": client_id},
        )
        if response.status_code == 200:
            tally.person_acked.add(client_id)
        elif response.status_code == 503:
            assert response.json()["error"]["code"] == "overloaded"
            assert int(response.headers["Retry-After"]) >= 1
            tally.person_refused.add(client_id)
        else:
            tally.other[(response.status_code, response.text[:200])] += 1

    async def graph_send(client: httpx.AsyncClient) -> None:
        key = uuid.uuid4().hex
        response = await client.post(
            f"/v23.0/{business.phone_number_id}/messages",
            headers={"Authorization": f"Bearer {business.access_token}", "Idempotency-Key": key},
            json={"messaging_product": "whatsapp", "to": pat["phone"], "type": "text", "text": {"body": key}},
        )
        if response.status_code == 200:
            tally.graph_acked[key] = response.json()["messages"][0]["id"]
        elif response.status_code == 503:
            error = response.json()["error"]
            assert error["code"] == 130429 and error["fbtrace_id"]
            assert int(response.headers["Retry-After"]) >= 1
            tally.graph_refused.add(key)
        else:
            tally.other[(response.status_code, response.text[:200])] += 1

    async def sender(i: int, client: httpx.AsyncClient) -> None:
        for n in range(SENDS_EACH):
            try:
                await (person_send if (i + n) % 2 else graph_send)(client)
            except httpx.TransportError:
                tally.unanswered += 1

    async with httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=limits, verify=False) as client:
        await asyncio.gather(*(sender(i, client) for i in range(SENDERS)))
    return tally


def test_a_flood_of_sends_is_refused_early_and_no_accepted_send_is_lost(tmp_path: Path) -> None:
    receiver = _Receiver()
    server = ServerProcess(
        tmp_path / "var",
        env={
            "PARLEY_ADMISSION__MAX_REQUESTS_IN_FLIGHT": "12",
            "PARLEY_ADMISSION__MAX_WAITING_WRITES": "3",
            "PARLEY_BUSINESS__PAIR_BURST": "1000000",
            "PARLEY_BUSINESS__DEFAULT_THROUGHPUT_MPS": "1000",
        },
    )
    server.start()
    try:
        business = create_business(
            server,
            "Flood Co",
            "+14155550160",
            webhook_url=f"http://127.0.0.1:{receiver.port}/hook",
            verify_token="v",
            app_secret=SECRET,
        )
        pat = server.create_user("+14155550161", "Pat")
        quinn = server.create_user("+14155550162", "Quinn")
        opened = httpx.post(  # the business may answer Pat only inside the 24 h window Pat opens
            f"{server.base_url}/client/v1/messages",
            headers={"Authorization": f"Bearer {pat['token']}"},
            json={"to": "+14155550160", "type": "text", "text": {"body": "hello"}, "client_id": "open-window"},
        )
        assert opened.status_code == 200

        tally = asyncio.run(_flood(server, business, pat, quinn["phone"]))

        assert not tally.other, f"answers other than 200/503: {tally.other}"
        assert tally.unanswered < SENDERS * SENDS_EACH // 10
        assert tally.person_refused and tally.graph_refused, "the flood should have been partly refused"
        assert tally.person_acked and tally.graph_acked, "and partly accepted"

        with sqlite3.connect(tmp_path / "var" / "parley.db") as conn:
            stored = Counter(client_id for (client_id,) in conn.execute("SELECT client_id FROM messages"))
        assert all(stored[c] == 1 for c in tally.person_acked), "every accepted person send is stored once"
        assert all(stored[f"idem:{k}"] == 1 for k in tally.graph_acked), "every accepted Cloud API send, once"
        assert not any(stored[c] for c in tally.person_refused), "a refused send stores nothing"
        assert not any(stored[f"idem:{k}"] for k in tally.graph_refused)

        # The outbox keeps draining: every accepted Cloud API send's `sent` status reaches the business.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not set(tally.graph_acked.values()) <= receiver.sent_wamids():
            time.sleep(0.2)
        assert set(tally.graph_acked.values()) <= receiver.sent_wamids()
        assert receiver.bad_signatures == 0

        # Once the flood is over the same server takes sends again.
        after = httpx.post(
            f"{server.base_url}/client/v1/messages",
            headers={"Authorization": f"Bearer {pat['token']}"},
            json={"to": quinn["phone"], "type": "text", "text": {"body": "calm"}, "client_id": "after"},
        )
        assert after.status_code == 200
    finally:
        server.stop()
        receiver.server.shutdown()
