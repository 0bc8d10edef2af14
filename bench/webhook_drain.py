"""Webhook delivery engine alone: drain rate of a pre-filled outbox, then latency under a steady offered load.

    python bench/webhook_drain.py --events 20000                       # SQLite in a temporary directory
    python bench/webhook_drain.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

The engine runs in this process exactly as `parley serve` / `parley worker` runs it (a container with delivery on);
webhook_receiver.py answers on loopback in its own process. Events are status updates (three per message, one
order key each, as a send produces), spread over `--businesses` callback URLs. Phase 1: fill the outbox with the
engine stopped, start it, time the drain. Phase 2: produce `--rate` events/s for `--seconds` with the engine
running and report enqueue → delivered latency (the event's id time to its recorded delivery, ms). On PostgreSQL
a fresh database is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url

from parley import webhooks
from parley.config import Settings
from parley.container import Container, build_container
from parley.migrations import upgrade
from parley.webhooks.models import DELIVERED, PENDING, webhook_attempts, webhook_events
from stats import free_port, latency_summary

BENCH_DIR = Path(__file__).resolve().parent


def settings_for(url: str, data_dir: Path, deliver: bool, claim_batch: int) -> Settings:
    return Settings(
        database_url=url,
        data_dir=data_dir,
        webhooks={"deliver": deliver, "allowed_networks": ["127.0.0.0/8"], "claim_batch": claim_batch},
    )


async def postgres_database(base_url: str, create: bool, name: str) -> str:
    import asyncpg

    admin = make_url(base_url).set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"' if create else f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


async def enqueue(c: Container, businesses: int, first_message: int, messages: int) -> list[int]:
    ids: list[int] = []

    def unit(conn: Connection) -> None:
        for m in range(first_message, first_message + messages):
            waba = 1_000 + m % businesses
            for status in ("sent", "delivered", "read"):
                event_id = c.ids.next_id()
                ids.append(event_id)
                value = {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "14155550000", "phone_number_id": str(waba + 500_000)},
                    "statuses": [{"id": f"wamid.bench{m}", "status": status, "timestamp": "1700000000"}],
                }
                webhooks.enqueue(
                    conn, waba_id=waba, field="messages", value=value, phone_number_id=waba + 500_000,
                    event_id=event_id, order_key=10_000_000 + m,
                )  # fmt: skip

    await c.db.write("bench.enqueue", unit)
    return ids


def pending(conn: Connection) -> int:
    t = webhook_events
    return int(conn.execute(select(func.count()).select_from(t).where(t.c.state == PENDING)).scalar_one())


def failures(conn: Connection) -> dict[str, int]:
    a = webhook_attempts
    rows = conn.execute(select(a.c.error, func.count()).where(a.c.error.is_not(None)).group_by(a.c.error)).all()
    return {str(error)[:80]: int(count) for error, count in rows}


def latencies(conn: Connection, ids: list[int]) -> list[float]:
    t = webhook_events
    found: list[float] = []
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(t.c.created_at, t.c.delivered_at).where(t.c.id.in_(ids[start : start + 500]), t.c.state == DELIVERED)
        )
        found.extend(float(row.delivered_at - row.created_at) for row in rows)
    return found


async def wait_drained(c: Container, timeout: float) -> float:
    t0 = time.perf_counter()
    while await c.db.read(pending) and time.perf_counter() - t0 < timeout:
        await asyncio.sleep(0.02)
    return time.perf_counter() - t0


async def main(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="parley-webhook-drain-"))
    port = free_port()
    config = work / "receiver.json"
    config.write_text(json.dumps({"port": port, "hold_max_s": 3600, "progress_s": 0.2}))
    receiver = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "webhook_receiver.py"), "serve", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert receiver.stdout is not None
    receiver.stdout.readline()  # the first PROGRESS line: listening
    pg_name = f"parley_bench_{uuid.uuid4().hex[:8]}"
    url = f"sqlite+aiosqlite:///{work / 'parley.db'}"
    if args.database_url:
        url = await postgres_database(args.database_url, True, pg_name)
    try:
        await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
        seed = build_container(settings_for(url, work, False, args.claim_batch))
        await seed.start()
        for b in range(args.businesses):
            await seed.webhooks.register_app(
                waba_id=1_000 + b,
                app_id=9_000 + b,
                app_secret=f"s{b}",
                callback_url=f"http://127.0.0.1:{port}/hook/{b}",
            )
        messages = args.events // 3
        for first in range(0, messages, 1000):
            await enqueue(seed, args.businesses, first, min(1000, messages - first))
        await seed.close()

        c = build_container(settings_for(url, work, True, args.claim_batch))
        cpu0 = time.process_time()
        await c.start()  # the delivery loop starts with the container
        seconds = await wait_drained(c, args.timeout)
        cpu = time.process_time() - cpu0
        drained = messages * 3
        result: dict[str, Any] = {
            "database": make_url(url).get_backend_name(),
            "drain": {
                "events": drained,
                "seconds": round(seconds, 3),
                "per_s": round(drained / seconds),
                "cpu_us_per_delivery": round(cpu / drained * 1e6, 1),
                "left": await c.db.read(pending),
                "failed_attempts": await c.db.read(failures),
            },
        }

        # Phase 2: a steady offered load, delivered as it comes.
        produced: list[int] = []
        batch_messages = max(1, round(args.rate / 3 / 100))  # 100 small units a second
        next_message = messages
        start = time.perf_counter()
        tick = 0
        while time.perf_counter() - start < args.seconds:
            produced += await enqueue(c, args.businesses, next_message, batch_messages)
            c.webhooks.notify()
            next_message += batch_messages
            tick += 1
            await asyncio.sleep(max(0.0, start + tick / 100 - time.perf_counter()))
        await wait_drained(c, args.timeout)
        result["steady"] = {
            "offered_per_s": round(len(produced) / args.seconds),
            "latency_ms": latency_summary(await c.db.read(lambda conn: latencies(conn, produced))),
        }
        await c.close()
        return result
    finally:
        assert receiver.stdin is not None
        receiver.stdin.write("stop\n")
        receiver.stdin.flush()
        receiver.wait(30)
        if args.database_url:
            await postgres_database(args.database_url, False, pg_name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=30_000, help="pre-filled status updates to drain")
    parser.add_argument("--businesses", type=int, default=20, help="callback URLs (one per business)")
    parser.add_argument("--rate", type=float, default=3_000, help="events/s offered in the steady phase")
    parser.add_argument("--seconds", type=float, default=5, help="length of the steady phase")
    parser.add_argument("--claim-batch", type=int, default=Settings().webhooks.claim_batch)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--database-url", help="PostgreSQL server URL (a fresh database is made on it)")
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
