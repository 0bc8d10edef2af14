"""Merchant payments load: order_details sent → order read → paid by card → `captured` webhook, per second, beside
people's sends in the same run.

    .venv/bin/python bench/payments.py            # three phases of --seconds each (~1-2 minutes on 2 cores)
    .venv/bin/python bench/payments.py --quick    # smoke run

Setup (in-process through Parley's Container, on a fresh SQLite data dir, before the server starts): B businesses
whose webhooks go to a receiver in this process (answers 200 at once, records each `captured` with its arrival
time), P people who each wrote once to every business (service windows open). Server: `parley serve` with the
sandbox payment provider and the per-number throughput, pair rate and messaging limit raised (not what is measured).

Phases, each a closed loop of --clients concurrent clients for --seconds:
1. people's sends alone (`POST /client/v1/messages`): sends/s and latency;
2. payments alone: one flow = the business's order_details send, the person's order read, the card payment;
   flows/s, flow latency, and the captured webhook's latency (arrival at the receiver - the pay answer);
3. both at once, each with --clients clients: sends/s and flows/s in the same run.
Last, `parley ledger verify` on the data dir (the capture's transfers must balance).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import orjson
import uvicorn
from starlette.types import Receive, Scope, Send

sys.path.insert(0, str(Path(__file__).resolve().parent))

from options import parse_with_quick
from servers import Server, parley_cli
from stats import free_port, latency_summary

BENCH_ENV = {
    "PARLEY_BUSINESS__DEFAULT_THROUGHPUT_MPS": "1000",
    "PARLEY_BUSINESS__PAIR_BURST": "1000000",
    "PARLEY_BUSINESS__MESSAGING_LIMIT_TIERS": "[100000000]",
    "PARLEY_PAYMENTS__PROVIDER": "sandbox",
}
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}


@dataclass
class Shop:
    phone_number_id: str
    token: str
    phone: str


@dataclass
class Person:
    phone: str
    token: str


class Receiver:
    """The businesses' webhook endpoint: answers Meta's verification and records when each `captured` arrived."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.captured: dict[str, float] = {}  # reference_id -> time.monotonic() of arrival
        self.posts = 0
        self._server = uvicorn.Server(
            uvicorn.Config(self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        if scope["method"] == "GET":
            query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
            body = query.get("hub.challenge", "").encode()
        else:
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            arrived = time.monotonic()
            self.posts += 1
            for entry in orjson.loads(body).get("entry", []):
                for change in entry.get("changes", []):
                    for status in change.get("value", {}).get("statuses", []):
                        if status.get("type") == "payment" and status.get("status") == "captured":
                            self.captured[status["payment"]["reference_id"]] = arrived
            body = b"ok"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def seed(data_dir: Path, hook_url: str, businesses: int, people: int) -> tuple[list[Shop], list[Person]]:
    from parley.config import Settings
    from parley.container import build_container
    from parley.messaging.schemas import SendMessageIn, TextIn

    container = build_container(Settings(data_dir=data_dir, secret_key="bench-secret"))
    await container.start()
    try:
        shops = []
        for i in range(businesses):
            phone = f"+1628{3_000_000 + i:07d}"
            created = await container.business.create_business(
                f"Bench Shop {i}", phone, webhook_url=hook_url, verify_token="v", app_secret="s"
            )
            shops.append(Shop(str(created.phone_number_id), created.access_token, phone))
        folks = []
        for i in range(people):
            phone = f"+1415{3_000_000 + i:07d}"
            session = await container.accounts.create_user_with_token(phone, f"Person {i}")
            folks.append(Person(phone, session.token))
            for shop in shops:
                await container.messaging.send(
                    session.user_id,
                    SendMessageIn(to=shop.phone, type="text", text=TextIn(body="hi"), client_id=uuid.uuid4().hex),
                )
        return shops, folks
    finally:
        await container.close()


def order_body(person: Person, reference_id: str, expires_s: int) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": person.phone,
        "type": "interactive",
        "interactive": {
            "type": "order_details",
            "body": {"text": "Your order"},
            "action": {
                "name": "review_and_pay",
                "parameters": {
                    "reference_id": reference_id,
                    "payment_type": "br",
                    "currency": "BRL",
                    "payment_settings": [{"type": "payment_link", "payment_link": {"uri": "https://psp.example/p"}}],
                    "total_amount": {"value": 11000, "offset": 100},
                    "order": {
                        "status": "pending",
                        "expiration": {"timestamp": str(expires_s)},
                        "items": [
                            {
                                "retailer_id": "s",
                                "name": "Shirt",
                                "amount": {"value": 5000, "offset": 100},
                                "quantity": 2,
                            }
                        ],
                        "subtotal": {"value": 10000, "offset": 100},
                        "tax": {"value": 1000, "offset": 100},
                    },
                },
            },
        },
    }


@dataclass
class Tally:
    done: int = 0
    failed: int = 0
    latencies_ms: list[float] | None = None
    webhook_due: dict[str, float] | None = None  # reference_id -> when the pay answer came

    def __post_init__(self) -> None:
        self.latencies_ms = []
        self.webhook_due = {}


async def person_send(client: httpx.AsyncClient, shops: list[Shop], people: list[Person], n: int, tally: Tally) -> None:
    person, shop = people[n % len(people)], shops[n % len(shops)]
    answer = await client.post(
        "/client/v1/messages",
        headers={"Authorization": f"Bearer {person.token}"},
        json={"to": shop.phone, "type": "text", "text": {"body": "hello"}, "client_id": uuid.uuid4().hex},
    )
    if answer.status_code != 200:
        tally.failed += 1
        raise RuntimeError(answer.text)


async def pay_flow(client: httpx.AsyncClient, shops: list[Shop], people: list[Person], n: int, tally: Tally) -> None:
    person, shop = people[n % len(people)], shops[n % len(shops)]
    reference_id = f"bench-{uuid.uuid4().hex[:20]}"
    sent = await client.post(
        f"/v23.0/{shop.phone_number_id}/messages",
        headers={"Authorization": f"Bearer {shop.token}"},
        json=order_body(person, reference_id, int(time.time()) + 3600),
    )
    if sent.status_code != 200:
        tally.failed += 1
        raise RuntimeError(sent.text)
    wamid = sent.json()["messages"][0]["id"]
    from parley.business import parse_wamid

    auth = {"Authorization": f"Bearer {person.token}"}
    order = await client.get(f"/client/v1/messages/{parse_wamid(wamid)}/order", headers=auth)
    paid = await client.post(
        f"/client/v1/orders/{order.json()['id']}/pay",
        headers={**auth, "Idempotency-Key": reference_id},
        json={"method": "card", "card": CARD},
    )
    if paid.status_code != 200 or paid.json()["payment_status"] != "paid":
        tally.failed += 1
        raise RuntimeError(paid.text)
    assert tally.webhook_due is not None
    tally.webhook_due[reference_id] = time.monotonic()


async def closed_loop(
    base_url: str,
    clients: int,
    seconds: float,
    step: Callable[[httpx.AsyncClient, list[Shop], list[Person], int, Tally], Awaitable[None]],
    shops: list[Shop],
    people: list[Person],
) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + seconds
    counter = iter(range(10**9))

    async def one_client() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            while time.monotonic() < deadline:
                began = time.monotonic()
                try:
                    await step(client, shops, people, next(counter), tally)
                except (RuntimeError, httpx.HTTPError):
                    continue
                tally.done += 1
                assert tally.latencies_ms is not None
                tally.latencies_ms.append((time.monotonic() - began) * 1000)

    await asyncio.gather(*(one_client() for _ in range(clients)))
    return tally


def report(
    name: str, tally: Tally, seconds: float, receiver: Receiver | None = None, server_cpu_s: float | None = None
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "phase": name,
        "per_s": round(tally.done / seconds, 1),
        "failed": tally.failed,
        **{
            k: (round(v, 1) if isinstance(v, float) else v)
            for k, v in latency_summary(tally.latencies_ms or []).items()
        },
    }
    if server_cpu_s is not None and tally.done:
        # What one operation costs the server in CPU, whoever limits the rate (here, often the load generator).
        row["server_cpu_ms_per_op"] = round(server_cpu_s * 1000 / tally.done, 3)
        row["server_cores"] = round(server_cpu_s / seconds, 2)
    if receiver is not None and tally.webhook_due:
        lags = [(receiver.captured[r] - due) * 1000 for r, due in tally.webhook_due.items() if r in receiver.captured]
        summary = latency_summary(lags)
        row["captured_webhooks"] = f"{len(lags)}/{len(tally.webhook_due)}"
        row["webhook_p50_ms"] = None if summary["p50_ms"] is None else round(float(summary["p50_ms"]), 1)
        row["webhook_p99_ms"] = None if summary["p99_ms"] is None else round(float(summary["p99_ms"]), 1)
    return row


async def main(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="parley-bench-payments-"))
    receiver = Receiver()
    await receiver.start()
    try:
        parley_cli(data_dir, "db", "upgrade")
        shops, people = await seed(data_dir, receiver.url, args.businesses, args.people)
        server = Server.parley(data_dir, data_dir, env=BENCH_ENV)
        server.start()
        base = f"http://127.0.0.1:{server.port}"
        rows = []
        try:
            cpu = server.cpu()
            sends = await closed_loop(base, args.clients, args.seconds, person_send, shops, people)
            send_cpu, cpu = server.cpu() - cpu, server.cpu()
            rows.append(report("person sends alone", sends, args.seconds, server_cpu_s=send_cpu))
            flows = await closed_loop(base, args.clients, args.seconds, pay_flow, shops, people)
            await asyncio.sleep(2)  # let the last webhooks arrive (their delivery is part of a payment's cost)
            rows.append(report("payment flows alone", flows, args.seconds, receiver, server.cpu() - cpu))
            both_sends, both_flows = await asyncio.gather(
                closed_loop(base, args.clients, args.seconds, person_send, shops, people),
                closed_loop(base, args.clients, args.seconds, pay_flow, shops, people),
            )
            await asyncio.sleep(2)
            rows.append(report("person sends, beside payments", both_sends, args.seconds))
            rows.append(report("payment flows, beside sends", both_flows, args.seconds, receiver))
        finally:
            server.stop()
        for row in rows:
            print(orjson.dumps(row).decode())
        send_ms, flow_ms = rows[0].get("server_cpu_ms_per_op"), rows[1].get("server_cpu_ms_per_op")
        if send_ms and flow_ms:
            print(
                f"a payment costs {flow_ms / send_ms:.2f} sends of server CPU "
                f"({rows[0]['per_s'] / rows[1]['per_s']:.2f} by rate)"
            )
        print(parley_cli(data_dir, "ledger", "verify", "--json")[-600:])
    finally:
        await receiver.stop()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--businesses", type=int, default=4)
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    parser.add_argument("--quick", action="store_true", help="smoke run: small numbers")
    quick = {"seconds": 5.0, "clients": 4, "businesses": 2, "people": 10}
    return parse_with_quick(parser, None, lambda _parser: quick)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
