"""One business's slow-drip receivers against another's webhook registration and delivery (issue 11, finding 5).

    .venv/bin/python bench/webhook_isolation.py            # ~30 s on 2 cores
    .venv/bin/python bench/webhook_isolation.py --help

In one process on SQLite (a fresh data dir): business B verifies a callback and has events delivered, timed
one at a time, first alone, then while business A keeps `--flood` verifications and `--flood` events aimed at
receivers that answer 200 and then drip their body one byte every 200 ms. Printed side by side: B's
verification and delivery latency (median, p90, max), and what became of A's attempts (refused at once by
its account's slots, or ended by the deadline).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from parley import webhooks
from parley.config import Settings, WebhookSettings
from parley.container import Container, build_container
from parley.graph import GraphError
from stats import latency_summary, run_async

WABA_A, WABA_B = 7_000_001, 7_000_002


async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while not reader.at_eof():
            writer.write(b"1")
            await writer.drain()
            await asyncio.sleep(0.2)
    writer.close()


class FastReceiver:
    """Answers the handshake and every POST at once; wakes whoever waits for the next POST."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                line = await reader.readline()
                if not line:
                    break
                length = 0
                while (header := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                target = line.split(b" ")[1].decode()
                body = target.split("hub.challenge=")[1].split("&")[0].encode() if "hub.challenge=" in target else b""
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
                if line.startswith(b"POST"):
                    self.arrived.set()
        writer.close()


async def measure(c: Container, fast_url: str, fast: FastReceiver, rounds: int) -> dict[str, Any]:
    verify_ms, deliver_ms = [], []
    for n in range(rounds):
        started = time.perf_counter()
        await c.webhooks.verify_callback(fast_url, "vt", waba_id=WABA_B)
        verify_ms.append((time.perf_counter() - started) * 1000)
        fast.arrived.clear()
        started = time.perf_counter()
        await c.db.write(
            "bench.measure",
            lambda conn, n=n: webhooks.enqueue(
                conn, waba_id=WABA_B, field="messages", value={"n": n}, phone_number_id=1, event_id=c.ids.next_id()
            ),
        )
        c.webhooks.notify()
        await asyncio.wait_for(fast.arrived.wait(), 60)
        deliver_ms.append((time.perf_counter() - started) * 1000)
    return {"verification_ms": latency_summary(verify_ms), "delivery_ms": latency_summary(deliver_ms)}


async def flood(c: Container, slow_url: str, count: int, stop: asyncio.Event, outcome: dict[str, int]) -> None:
    """A keeps `count` verifications going against its slow receiver until told to stop."""

    async def one() -> None:
        while not stop.is_set():
            try:
                await c.webhooks.verify_callback(slow_url, "vt", waba_id=WABA_A)
            except GraphError as error:
                key = "refused at once (429)" if error.http_status == 429 else "ended by the deadline"
                outcome[key] = outcome.get(key, 0) + 1
                if error.http_status == 429:
                    await asyncio.sleep(0.05)

    await asyncio.gather(*(one() for _ in range(count)))


async def run(data_dir: Path, rounds: int, flood_size: int, deadline_s: float) -> dict[str, Any]:
    fast = FastReceiver()
    slow_server = await asyncio.start_server(drip, "127.0.0.1", 0)
    fast_server = await asyncio.start_server(fast.handle, "127.0.0.1", 0)
    slow_url = f"http://127.0.0.1:{slow_server.sockets[0].getsockname()[1]}/hook"
    fast_url = f"http://127.0.0.1:{fast_server.sockets[0].getsockname()[1]}/hook"
    settings = Settings(
        data_dir=data_dir,
        secret_key="bench-secret",
        webhooks=WebhookSettings(allowed_networks=["127.0.0.0/8"], deadline_s=deadline_s),
    )
    c = build_container(settings)
    await c.start()
    try:
        await c.webhooks.register_app(waba_id=WABA_A, app_id=WABA_A + 1, app_secret="a", callback_url=slow_url)
        await c.webhooks.register_app(waba_id=WABA_B, app_id=WABA_B + 1, app_secret="b", callback_url=fast_url)
        alone = await measure(c, fast_url, fast, rounds)

        def flood_events(conn: Any) -> None:
            for n in range(flood_size):
                webhooks.enqueue(
                    conn,
                    waba_id=WABA_A,
                    field="messages",
                    value={"n": n},
                    phone_number_id=100 + n,
                    event_id=c.ids.next_id(),
                )

        await c.db.write("bench.run", flood_events)
        c.webhooks.notify()
        stop, outcome = asyncio.Event(), {}
        flooding = asyncio.create_task(flood(c, slow_url, flood_size, stop, outcome))
        await asyncio.sleep(0.5)  # the flood holds its slots
        during = await measure(c, fast_url, fast, rounds)
        stop.set()
        await flooding
    finally:
        await c.close()
        for server in (slow_server, fast_server):
            server.close()
    return {"alone": alone, "during_flood": during, "flood_outcomes": outcome, "flood": flood_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=50, help="B's verifications and deliveries per phase")
    parser.add_argument("--flood", type=int, default=64, help="A's concurrent verifications and queued events")
    parser.add_argument("--deadline", type=float, default=15.0, help="PARLEY_WEBHOOKS__DEADLINE_S for the run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "var"
        env = {**os.environ, "PARLEY_DATA_DIR": str(data_dir), "PARLEY_SECRET_KEY": "bench-secret"}
        subprocess.run([sys.executable, "-m", "parley", "db", "upgrade"], env=env, check=True, capture_output=True)
        result = run_async(run(data_dir, args.rounds, args.flood, args.deadline))
    print(json.dumps(result, indent=2))
    for what in ("verification_ms", "delivery_ms"):
        alone, during = result["alone"][what], result["during_flood"][what]
        print(
            f"B {what:16} alone: p50 {alone['p50_ms']:.1f} p90 {alone['p90_ms']:.1f} | during A's flood: "
            f"p50 {during['p50_ms']:.1f} p90 {during['p90_ms']:.1f} max {during['max_ms']:.1f}"
        )


if __name__ == "__main__":
    main()
