"""The rest of the server during a flood of wrong inbox sign-ins (issue 11, finding 1), beside no flood, in one run.

    .venv/bin/python bench/login_flood.py                                  # this checkout, ~30 s
    .venv/bin/python bench/login_flood.py --compare /other/checkout/src   # and another (~100 s if it stalls)

A real `parley serve` process on a fresh SQLite data dir. This process probes it one request at a time,
alternating `GET /healthz` and `GET /client/v1/chats` (a person with a few chats), and reports p50 / p95 of each
in three phases of `--seconds` each:
- quiet: no flood;
- flood, many addresses: `--concurrency` wrong sign-ins at all times, each a new email, each request from the next
  of 64 loopback addresses (127.0.1.x), so per-address limits never bite and every attempt reaches argon2;
- flood, one address: the same from 127.0.0.1 (the probe's finding): past the per-address limit each attempt is a
  cheap 429.
The flood runs in its own process (closed loop, httpx), so its client work does not slow the probe.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
import uuid
from collections import Counter
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from parley.config import Settings
from parley.container import build_container
from servers import Server, parley_cli
from stats import percentile, run_async

console = Console(width=150)
ADDRESSES = [f"127.0.1.{i}" for i in range(1, 65)]


async def seed(data_dir: Path) -> list[str]:
    """Two people's tokens: the probe's person (who will have chats) and a peer."""
    container = build_container(Settings(data_dir=data_dir, secret_key="bench-secret"))
    await container.start()
    try:
        me = await container.accounts.create_user_with_token("+14155550100", "Probe")
        peer = await container.accounts.create_user_with_token("+14155550101", "Peer")
        return [me.token, peer.token]
    finally:
        await container.close()


async def _flood(base_url: str, concurrency: int, addresses: list[str], ready: Event, stop: Event, out: Any) -> None:
    clients = [
        httpx.AsyncClient(base_url=base_url, timeout=60, transport=httpx.AsyncHTTPTransport(local_address=a))
        for a in addresses
    ]
    for client in clients:  # each "browser" opens the form once, for its CSRF cookie
        await client.get("/inbox/login")
    ready.set()
    statuses: Counter[int] = Counter()
    sent = 0

    async def attacker(worker: int) -> None:
        nonlocal sent
        while not stop.is_set():
            sent += 1
            client = clients[(worker + sent) % len(clients)]
            token = client.cookies.get("parley_inbox_login") or ""
            form = {
                "email": f"{uuid.uuid4().hex[:12]}@flood.example",
                "password": "wrong-password",
                "csrf_token": token,
            }
            try:
                statuses[(await client.post("/inbox/login", data=form)).status_code] += 1
            except httpx.HTTPError:
                statuses[0] += 1

    started = time.monotonic()
    await asyncio.gather(*(attacker(i) for i in range(concurrency)))
    out.put({"statuses": dict(statuses), "seconds": time.monotonic() - started})
    for client in clients:
        await client.aclose()


def flood_process(base_url: str, concurrency: int, addresses: list[str], ready: Event, stop: Event, out: Any) -> None:
    run_async(_flood(base_url, concurrency, addresses, ready, stop, out))


async def probe(base_url: str, token: str, seconds: float) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"/healthz": [], "/client/v1/chats": []}
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for path in samples:
                started = time.perf_counter()
                response = await client.get(path, headers=headers)
                samples[path].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
    return samples


async def make_chats(base_url: str, tokens: list[str]) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for i in range(5):
            response = await client.post(
                "/client/v1/messages",
                headers={"Authorization": f"Bearer {tokens[i % 2]}"},
                json={
                    "to": "+14155550101" if i % 2 == 0 else "+14155550100",
                    "type": "text",
                    "text": {"body": f"hello {i}"},
                    "client_id": uuid.uuid4().hex,
                },
            )
            assert response.status_code == 200, response.text


def run_phases(label: str, parley_src: Path | None, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    data_dir = workdir / label
    parley_cli(data_dir, "db", "upgrade", parley_src=parley_src)
    tokens = run_async(seed(data_dir))
    server = Server.parley(data_dir, workdir, parley_src)
    server.start()
    base_url = f"http://127.0.0.1:{server.port}"
    results: dict[str, Any] = {}
    try:
        run_async(make_chats(base_url, tokens))
        run_async(probe(base_url, tokens[0], 1.0))  # warm up
        context = multiprocessing.get_context("spawn")
        for phase, addresses in (("quiet", None), ("flood, many addresses", ADDRESSES), ("flood, one address", [])):
            ready, stop, out = context.Event(), context.Event(), context.Queue()
            flooder = None
            if addresses is not None:
                flooder = context.Process(
                    target=flood_process,
                    args=(base_url, args.concurrency, addresses or ["127.0.0.1"], ready, stop, out),
                )
                flooder.start()
                assert ready.wait(60), "the flood process did not start"
                time.sleep(1.0)  # the flood reaches its pace before the probe starts
            samples = run_async(probe(base_url, tokens[0], args.seconds))
            flood: dict[str, Any] = {}
            if flooder is not None:
                stop.set()
                flood = out.get(timeout=120)
                flooder.join(30)
            results[phase] = {"samples": samples, "flood": flood}
    finally:
        server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=20, help="sign-ins in flight at all times")
    parser.add_argument("--seconds", type=float, default=4.0, help="probe time per phase")
    parser.add_argument("--compare", type=Path, default=None, help="another checkout's src/ to run the same phases on")
    args = parser.parse_args()
    runs: list[tuple[str, Path | None]] = [("this checkout", None)]
    if args.compare is not None:
        runs.append((str(args.compare), args.compare))
    table = Table(title=f"Latency during a flood of {args.concurrency} concurrent wrong inbox sign-ins (ms)")
    for column in ("server", "phase", "/healthz p50 / p95", "/client/v1/chats p50 / p95", "flood answers/s"):
        table.add_column(column, justify="left" if column in ("server", "phase") else "right")
    with tempfile.TemporaryDirectory(prefix="parley-login-flood-") as tmp:
        for label, src in runs:
            for phase, result in run_phases(label.replace("/", "_"), src, args, Path(tmp)).items():
                cells = []
                for path in ("/healthz", "/client/v1/chats"):
                    ordered = sorted(result["samples"][path])
                    cells.append(f"{percentile(ordered, 50):.1f} / {percentile(ordered, 95):.1f}")
                flood = result["flood"]
                rate = "-"
                if flood:
                    seconds = flood["seconds"]
                    rate = ", ".join(
                        f"{n / seconds:.1f} × {code or 'error'}" for code, n in sorted(flood["statuses"].items())
                    )
                table.add_row(label, phase, *cells, rate)
    console.print(table)


if __name__ == "__main__":
    main()
