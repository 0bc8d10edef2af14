"""Kill `parley serve` with SIGKILL in the middle of a burst of charged template sends, restart it, and count money.

A business with a prepaid wallet sends marketing templates from 8 concurrent senders, each request with its own
Idempotency-Key, while some of the recipients' phones acknowledge delivery (so holds are posted while sends go
on). After the kill and a restart: `parley ledger verify` passes; every send answered 200 has exactly one hold
and at most one resolution; what the wallet holds and was charged is exactly the sum over the distinct accepted
messages; and retrying every request with its key answers the first wamid and writes no new transfer.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect as ws_connect

from parley.business.wamid import parse_wamid
from parley.kit.money import format_amount
from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.e2e

SENDERS = 8
PEOPLE = 6  # the first ACKING of them have their phone online and acknowledge what they receive
ACKING = 3
TOP_UP = "100"
TRIAL = 10_000_000  # the default trial credit, micros
TEMPLATE = "summer_sale"


@dataclass
class Sent:
    wamid: str
    to: str


def _template_body(to: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {
            "name": TEMPLATE,
            "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "20%"}]}],
        },
    }


def _approved_marketing_template(server: ServerProcess, business: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {business['access_token']}"}
    created = httpx.post(
        f"{server.base_url}/v23.0/{business['waba_id']}/message_templates",
        headers=headers,
        json={
            "name": TEMPLATE,
            "language": "en_US",
            "category": "MARKETING",
            "components": [
                {
                    "type": "BODY",
                    "text": "Our summer sale is on: {{1}} off everything in store this week.",
                    "example": {"body_text": [["20%"]]},
                }
            ],
        },
    )
    assert created.status_code == 200, created.text
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        template = httpx.get(f"{server.base_url}/v23.0/{created.json()['id']}", headers=headers).json()
        if template["status"] == "APPROVED":
            assert template["category"] == "MARKETING", template
            return
        time.sleep(0.1)
    raise AssertionError(f"the template was not approved: {template}")


def _acknowledge_until(server: ServerProcess, token: str, stop: threading.Event, acked: list[int]) -> None:
    """A phone online: acknowledge every message the stream brings (as the web client does), until the kill."""
    try:
        with ws_connect(f"{server.ws_url}?token={token}", open_timeout=10) as ws:
            while not stop.is_set():
                try:
                    event = json.loads(ws.recv(timeout=0.2))
                except TimeoutError:
                    continue
                if event.get("type") == "message":
                    ws.send(json.dumps({"type": "ack", "id": int(event["id"])}))
                    acked.append(int(event["id"]))
    except (ConnectionClosed, InvalidHandshake, OSError):
        return  # the server was killed


async def _burst(
    server: ServerProcess, business: dict[str, str], people: list[str], stop: threading.Event, sent: dict[str, Sent]
) -> None:
    async def sender(n: int) -> None:
        headers = {"Authorization": f"Bearer {business['access_token']}"}
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5, verify=False) as client:
            i = n
            while not stop.is_set():
                key, to = uuid.uuid4().hex, people[i % len(people)]
                i += 1
                try:
                    response = await client.post(
                        f"/v23.0/{business['phone_number_id']}/messages",
                        headers={**headers, "Idempotency-Key": key},
                        json=_template_body(to),
                    )
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    sent[key] = Sent(response.json()["messages"][0]["id"], to)
                else:
                    assert response.status_code != 500, response.text

    await asyncio.gather(*(sender(n) for n in range(SENDERS)))


def _verify(server: ServerProcess) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "parley", "ledger", "verify", "--json"],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"], [c for c in report["checks"] if not c["ok"]]
    return dict(report)


def _journal(database: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(database) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM ledger_transfers ORDER BY id")]


def test_sigkill_mid_burst_of_charged_sends(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "var",
        env={
            "PARLEY_BUSINESS__PAIR_BURST": "1000000",
            "PARLEY_BUSINESS__DEFAULT_THROUGHPUT_MPS": "1000",
            "PARLEY_TEMPLATES__REVIEW_DELAY_S": "0.2",
            "PARLEY_TEMPLATES__REVIEW_POLL_S": "0.1",
            "PARLEY_WEBHOOKS__DELIVER": "false",  # no endpoint: the outbox keeps the updates
        },
    )
    server.start()
    business = json.loads(server.cli("business", "create", "--name", "Sale Co", "--phone", "+14155550170", "--json"))
    waba_id = int(business["waba_id"])
    _approved_marketing_template(server, business)
    topped = json.loads(server.cli("billing", "topup", str(waba_id), TOP_UP, "--reference", "wire-1", "--json"))
    assert topped["balance"] == "110.00"
    people = [server.create_user(f"+1415555{171 + i:04d}", f"Person {i}") for i in range(PEOPLE)]

    stop = threading.Event()
    sent: dict[str, Sent] = {}
    device_acks: list[int] = []
    phones = [
        threading.Thread(target=_acknowledge_until, args=(server, p["token"], stop, device_acks))
        for p in people[:ACKING]
    ]
    for phone in phones:
        phone.start()

    def killer() -> None:
        deadline = time.monotonic() + 30
        while (len(sent) < 150 or len(device_acks) < 20) and time.monotonic() < deadline:  # well inside the burst
            time.sleep(0.01)
        server.kill()
        stop.set()

    thread = threading.Thread(target=killer)
    thread.start()
    asyncio.run(_burst(server, business, [p["phone"] for p in people], stop, sent))
    thread.join()
    for phone in phones:
        phone.join(10)
    assert len(sent) > 30, "the burst should have had many sends acknowledged before the kill"
    assert device_acks, "phones should have acknowledged deliveries during the burst"

    server.start()
    try:
        database = tmp_path / "var" / "parley.db"
        with sqlite3.connect(database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            stored = {
                key.removeprefix("idem:"): int(message_id)
                for key, message_id in conn.execute("SELECT client_id, id FROM messages WHERE client_id LIKE 'idem:%'")
            }
            accepted = {
                message_id
                for (message_id,) in conn.execute(
                    "SELECT message_id FROM business_messages WHERE direction = 'out' AND error_code IS NULL"
                )
            }
            wallet = conn.execute(
                "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts "
                "WHERE key = ?",
                (f"waba:{waba_id}:wallet",),
            ).fetchone()

        report = _verify(server)

        # Every send answered 200 is stored, under the id its wamid names.
        lost = [k for k in sent if k not in stored]
        assert not lost, f"{len(lost)} acknowledged sends were lost"
        assert all(parse_wamid(s.wamid) == stored[k] for k, s in sent.items())
        assert {stored[k] for k in sent} <= accepted

        journal = _journal(database)
        assert report["transfers"] == len(journal)
        by_key = {t["key"]: t for t in journal}
        resolutions: dict[int, list[dict[str, Any]]] = {}
        for t in journal:
            if t["pending_id"] is not None:
                resolutions.setdefault(t["pending_id"], []).append(t)

        # Exactly one hold per accepted message (200-answered or not: a send may commit just before the kill),
        # at most one resolution each, and no hold for anything else.
        holds = {t["key"]: t for t in journal if t["kind"] == "pending"}
        assert set(holds) == {f"msg:{m}:hold" for m in accepted}
        for message_id in accepted:
            hold = holds[f"msg:{message_id}:hold"]
            assert hold["debit_account_id"] == wallet[0] and hold["amount"] > 0
            assert json.loads(hold["refs"])["message_id"] == message_id
            resolved = resolutions.get(hold["id"], [])
            assert len(resolved) <= 1, f"message {message_id} resolved {len(resolved)} times"
            for resolution in resolved:
                assert resolution["key"] in (f"msg:{message_id}:charge", f"msg:{message_id}:release")
                assert resolution["amount"] <= hold["amount"]
        posted = [r for rs in resolutions.values() for r in rs if r["kind"] == "post"]
        assert posted, "deliveries acknowledged during the burst should have been charged"

        # The wallet: money in is the trial credit and the top-up; held + charged is the sum over the messages.
        held = sum(h["amount"] for h in holds.values() if h["id"] not in resolutions)
        charged = sum(p["amount"] for p in posted)
        _, debits_posted, credits_posted, debits_pending, credits_pending = wallet
        assert credits_posted == TRIAL + 100_000_000 and credits_pending == 0
        assert (debits_pending, debits_posted) == (held, charged)
        assert by_key[f"topup:{waba_id}:wire-1"]["amount"] == 100_000_000
        balance = json.loads(server.cli("billing", "balance", str(waba_id), "--json"))
        assert balance["balance"] == format_amount(TRIAL + 100_000_000 - charged)

        # Retries with the same keys answer the first wamid and write nothing to the ledger.
        headers = {"Authorization": f"Bearer {business['access_token']}"}
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            for key, first in sent.items():
                again = client.post(
                    f"/v23.0/{business['phone_number_id']}/messages",
                    headers={**headers, "Idempotency-Key": key},
                    json=_template_body(first.to),
                )
                assert again.status_code == 200, again.text
                assert again.json()["messages"][0]["id"] == first.wamid
        assert _journal(database) == journal
        assert _verify(server)["transfers"] == len(journal)
    finally:
        server.stop()
