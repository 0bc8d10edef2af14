"""Kill `parley serve` with SIGKILL in the middle of a burst of payments, restart it, let the sweeps settle, count.

Several people pay several orders (by card, and from their wallets, two of them racing for the same order), pay
each other and top up their wallets, from threads, while the server is killed. After the restart: every payment
the client saw answered as captured is captured, in the database and on the ledger, exactly once; no order is
captured twice; the sandbox provider (which remembers across restarts) charged no payment twice and charged
nothing Parley has not recorded; each wallet's ledger balance is what its records add up to; `parley ledger
verify` and `parley payments reconcile` agree.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from parley.business import parse_wamid
from tests.e2e.conftest import ServerProcess
from tests.e2e.graph_clients import Business, create_business

pytestmark = pytest.mark.e2e

PEOPLE = 4
ORDERS_EACH = 10
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}
PIN = "2580"
MICROS = 1_000_000
# The sandbox answers a card's confirm 0.3 s after charging it: the kill lands in that window.
LATENCY = {"PARLEY_PAYMENTS__SANDBOX_LATENCY_MS": "300"}
# The sweeps of the restarted server settle what the killed one left half-done within a second or two.
SWEEPS = {
    "PARLEY_PAYMENTS__SETTLE_AFTER_S": "1",
    "PARLEY_PAYMENTS__SWEEP_INTERVAL_S": "0.5",
    "PARLEY_PERSON_PAY__SETTLE_AFTER_S": "1",
    "PARLEY_PERSON_PAY__SWEEP_INTERVAL_S": "0.5",
}


def _order_body(to: str, reference_id: str) -> dict[str, Any]:
    expires = int(time.time()) + 3600
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "interactive",
        "interactive": {
            "type": "order_details",
            "body": {"text": "Your order"},
            "action": {
                "name": "review_and_pay",
                "parameters": {
                    "reference_id": reference_id,
                    "type": "physical-goods",
                    "payment_type": "br",
                    "currency": "BRL",
                    "payment_settings": [{"type": "payment_link", "payment_link": {"uri": "https://psp.example/1"}}],
                    "total_amount": {"value": 1100, "offset": 100},
                    "order": {
                        "status": "pending",
                        "expiration": {"timestamp": str(expires), "description": "1 hour"},
                        "items": [
                            {
                                "retailer_id": "pen",
                                "name": "Pen",
                                "amount": {"value": 500, "offset": 100},
                                "quantity": 2,
                            }
                        ],
                        "subtotal": {"value": 1000, "offset": 100},
                        "tax": {"value": 100, "offset": 100},
                    },
                },
            },
        },
    }


class _Person:
    def __init__(self, http: httpx.Client, phone: str, name: str) -> None:
        # Signed up as the app does (the server shows development codes): quicker than a CLI process each.
        assert http.post("/client/v1/auth/request-code", json={"phone": phone}).status_code == 200
        code = next(c["code"] for c in http.get("/client/v1/dev/codes").json()["codes"] if c["phone"] == phone)
        verified = http.post(
            "/client/v1/auth/verify", json={"phone": phone, "code": code, "device_name": "phone", "name": name}
        )
        assert verified.status_code == 200, verified.text
        self.id = str(verified.json()["user_id"])
        self.phone = phone
        self.headers = {"Authorization": f"Bearer {verified.json()['token']}"}
        self.orders: list[str] = []
        self.chat_with_next = ""


def _setup(server: ServerProcess) -> tuple[Business, list[_Person]]:
    business = create_business(server, "Crash Shop", "+14155550170")
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        people = [_Person(http, f"+1415555018{i}", f"Person {i}") for i in range(PEOPLE)]
        for i, person in enumerate(people):
            opened = http.post(
                "/client/v1/messages",
                headers=person.headers,
                json={"to": business.phone, "type": "text", "text": {"body": "hi"}, "client_id": uuid.uuid4().hex},
            )
            assert opened.status_code == 200, opened.text
            other = people[(i + 1) % PEOPLE]
            chat = http.post(
                "/client/v1/messages",
                headers=person.headers,
                json={"to": other.phone, "type": "text", "text": {"body": "hey"}, "client_id": uuid.uuid4().hex},
            )
            assert chat.status_code == 200, chat.text
            person.chat_with_next = str(chat.json()["chat_id"])
            assert http.put("/client/v1/wallet/pin", headers=person.headers, json={"pin": PIN}).status_code == 204
            funded = http.post(
                "/client/v1/wallet/topups",
                headers={**person.headers, "Idempotency-Key": uuid.uuid4().hex},
                json={"amount": "500.00", "currency": "BRL", "method": "card", "card": CARD},
            )
            assert funded.status_code == 200 and funded.json()["status"] == "succeeded", funded.text
            for n in range(ORDERS_EACH):
                sent = http.post(
                    f"/v23.0/{business.phone_number_id}/messages",
                    headers={"Authorization": f"Bearer {business.access_token}"},
                    json=_order_body(person.phone, f"P{i}-{n}"),
                )
                assert sent.status_code == 200, sent.text
                message_id = sent.json()["messages"][0]["id"]
                order = http.get(f"/client/v1/messages/{parse_wamid(message_id)}/order", headers=person.headers)
                assert order.status_code == 200, order.text
                person.orders.append(str(order.json()["id"]))
    return business, people


class _Outcomes:
    """What each client saw: (kind, person, order or payment, key, status code, body or None when cut off)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[tuple[str, int, str, str, int, Any]] = []

    def add(self, kind: str, who: int, what: str, key: str, code: int, body: Any) -> None:
        with self.lock:
            self.seen.append((kind, who, what, key, code, body))

    def captured(self) -> int:
        with self.lock:
            return sum(1 for kind, *_, code, body in self.seen if kind.startswith("order") and code == 200)


def _post(http: httpx.Client, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
    try:
        response = http.post(path, headers=headers, json=body)
    except httpx.HTTPError:
        return 0, None  # cut off by the kill: the client never learnt the answer
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, None


def _client(server: ServerProcess, stop: threading.Event, who: int, people: list[_Person], seen: _Outcomes) -> None:
    person, other_index = people[who], (who + 1) % PEOPLE
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        for n, order_id in enumerate(person.orders):
            if stop.is_set():
                return
            key = uuid.uuid4().hex
            if n % 2 == 0:
                body: dict[str, Any] = {"method": "card", "card": CARD}
                kind = "order_card"
            else:
                body, kind = {"method": "wallet", "pin": PIN}, "order_wallet"
            code, answer = _post(
                http, f"/client/v1/orders/{order_id}/pay", {**person.headers, "Idempotency-Key": key}, body
            )
            seen.add(kind, who, order_id, key, code, answer)
            if code == 0:
                return
            # Someone else on the same account (another phone) pays the next person's order by card at once.
            key = uuid.uuid4().hex
            racing = people[other_index].orders[n]
            code, answer = _post(
                http,
                f"/client/v1/orders/{racing}/pay",
                {**people[other_index].headers, "Idempotency-Key": key},
                {"method": "card", "card": CARD},
            )
            seen.add("order_card", other_index, racing, key, code, answer)
            if code == 0:
                return
            key = uuid.uuid4().hex
            code, answer = _post(
                http,
                f"/client/v1/chats/{person.chat_with_next}/payments",
                {**person.headers, "Idempotency-Key": key},
                {"amount": "3.00", "currency": "BRL", "note": f"p2p {n}"},
            )
            if code != 200:
                seen.add("p2p", who, "", key, code, answer)
                if code == 0:
                    return
                continue
            code, answer = _post(http, f"/client/v1/payments/{answer['id']}/confirm", person.headers, {"pin": PIN})
            seen.add("p2p", who, str((answer or {}).get("id", "")), key, code, answer)
            if code == 0:
                return
            key = uuid.uuid4().hex
            code, answer = _post(
                http,
                "/client/v1/wallet/topups",
                {**person.headers, "Idempotency-Key": key},
                {"amount": "5.00", "currency": "BRL", "method": "card", "card": CARD},
            )
            seen.add("topup", who, "", key, code, answer)
            if code == 0:
                return


def _recorded_provider_ids(conn: sqlite3.Connection) -> set[str]:
    """The provider payments Parley recorded as charged (card orders, wallet top-ups)."""
    return {
        pid
        for (pid,) in conn.execute(
            "SELECT provider_payment_id FROM payments WHERE status = 'succeeded' AND provider = 'sandbox' "
            "UNION SELECT provider_payment_id FROM wallet_funding WHERE status = 'succeeded'"
        )
    }


def _charged(sandbox_file: Path) -> list[str]:
    with sqlite3.connect(sandbox_file) as sandbox:
        return [pid for (pid,) in sandbox.execute("SELECT id FROM sandbox_charges WHERE kind = 'payment'")]


def _kill_when_a_charge_is_unrecorded(server: ServerProcess, seen: _Outcomes) -> None:
    """SIGKILL once payments were answered and the provider has charged a card whose answer the server has not
    recorded yet (it is waiting for the network's answer): the crash this test is about."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if seen.captured() >= 6:
            charged = set(_charged(server.data_dir / "sandbox-provider.db"))
            with sqlite3.connect(server.data_dir / "parley.db") as conn:
                if charged - _recorded_provider_ids(conn):
                    break
        time.sleep(0.005)
    server.kill()


def _wait_settled(database: Path) -> None:
    """Until the restarted server's sweeps left no order `processing` and no card top-up unanswered."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with sqlite3.connect(database) as conn:
            stuck = conn.execute("SELECT count(*) FROM merchant_orders WHERE payment_state = 'processing'").fetchone()
            open_funding = conn.execute(
                "SELECT count(*) FROM wallet_funding WHERE status IN ('created', 'processing') "
                "AND provider_payment_id IS NOT NULL"
            ).fetchone()
        if stuck[0] == 0 and open_funding[0] == 0:
            return
        time.sleep(0.3)
    raise AssertionError(f"still unsettled after 30 s: {stuck[0]} orders, {open_funding[0]} top-ups")


def test_sigkill_mid_burst_of_payments(tmp_path: Path) -> None:
    data = tmp_path / "var"
    server = ServerProcess(data, env=LATENCY)
    server.start()
    business, people = _setup(server)
    seen, stop = _Outcomes(), threading.Event()
    threads = [threading.Thread(target=_client, args=(server, stop, who, people, seen)) for who in range(PEOPLE)]
    for thread in threads:
        thread.start()
    _kill_when_a_charge_is_unrecorded(server, seen)
    stop.set()
    for thread in threads:
        thread.join()
    assert seen.captured() >= 6, "the burst should have had payments answered before the kill"

    database = data / "parley.db"
    with sqlite3.connect(database) as conn:
        half_done = set(_charged(data / "sandbox-provider.db")) - _recorded_provider_ids(conn)
    assert half_done, "the kill should have caught a card charged but not recorded"

    server.env.update(SWEEPS)
    server.start()
    try:
        _wait_settled(database)
        with sqlite3.connect(database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            orders = {
                str(order_id): (state, payment_id)
                for order_id, state, payment_id in conn.execute(
                    "SELECT id, payment_state, payment_id FROM merchant_orders"
                )
            }
            succeeded = Counter(
                purpose
                for (purpose,) in conn.execute(
                    "SELECT purpose FROM payments WHERE status = 'succeeded' AND purpose LIKE 'order:%'"
                )
            )
            captures = Counter(
                str(json.loads(refs)["order_id"])
                for (refs,) in conn.execute("SELECT refs FROM ledger_transfers WHERE code = 'payment.capture'")
            )
            recorded = _recorded_provider_ids(conn)
            p2p = dict(conn.execute("SELECT CAST(id AS TEXT), status FROM person_payments").fetchall())
            p2p_posted = {
                key.removeprefix("p2p:")
                for (key,) in conn.execute("SELECT key FROM ledger_transfers WHERE key LIKE 'p2p:%'")
            }
            wallets: dict[str, int] = {}
            for person in people:
                topups = conn.execute(
                    "SELECT coalesce(sum(amount), 0) FROM wallet_funding WHERE user_id = ? AND direction = 'topup' "
                    "AND status = 'succeeded'",
                    (int(person.id),),
                ).fetchone()[0]
                spent = conn.execute(
                    "SELECT coalesce(sum(amount), 0) FROM payments WHERE payer_id = ? AND provider = 'wallet' "
                    "AND status = 'succeeded'",
                    (int(person.id),),
                ).fetchone()[0]
                sent = conn.execute(
                    "SELECT coalesce(sum(amount), 0) FROM person_payments WHERE payer_id = ? AND status = 'completed'",
                    (int(person.id),),
                ).fetchone()[0]
                received = conn.execute(
                    "SELECT coalesce(sum(amount), 0) FROM person_payments WHERE payee_id = ? AND status = 'completed'",
                    (int(person.id),),
                ).fetchone()[0]
                wallets[person.id] = topups - spent - sent + received
                ledger = conn.execute(
                    "SELECT credits_posted - debits_posted FROM ledger_accounts WHERE key = ?",
                    (f"person:{person.id}:wallet:BRL",),
                ).fetchone()[0]
                assert ledger == wallets[person.id], f"person {person.id}: ledger {ledger}, records {wallets}"

        # Every payment answered as captured is captured, once, in the database and on the ledger.
        for kind, _, order_id, _, code, body in seen.seen:
            if kind.startswith("order") and code == 200:
                assert body["payment_status"] == "paid"
                assert orders[order_id][0] == "captured", (order_id, orders[order_id])
                assert succeeded[f"order:{order_id}"] == 1
                assert captures[order_id] == 1
            if kind == "p2p" and code == 200:
                assert body["status"] == "completed"
                assert p2p[body["id"]] == "completed" and body["id"] in p2p_posted
            if kind == "topup" and code == 200:
                assert body["status"] == "succeeded"
        # No order captured twice; every captured order has its one capture on the ledger.
        assert all(n == 1 for n in succeeded.values()), succeeded
        assert all(n == 1 for n in captures.values()), captures
        assert {o for o, (state, _) in orders.items() if state == "captured"} == set(captures)
        # The provider charged no payment twice, and charged nothing Parley has not recorded.
        charges = _charged(data / "sandbox-provider.db")
        assert len(charges) == len(set(charges)), "a provider payment was charged twice"
        assert set(charges) == recorded
        assert half_done <= recorded  # what the crash left half-done was settled as the provider charged it

        # Wallets as their owners see them equal the ledger.
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            for person in people:
                shown = http.get("/client/v1/wallet", headers=person.headers).json()
                brl = next(w["balance"] for w in shown["wallets"] if w["currency"] == "BRL")
                assert round(float(brl) * MICROS) == wallets[person.id]
        today = datetime.datetime.now(datetime.UTC).date().isoformat()
        server.cli("ledger", "verify")  # exit 0, or the helper fails
        server.cli("payments", "reconcile", "--from", today, "--to", today)
        assert business.waba_id
    finally:
        server.stop()
