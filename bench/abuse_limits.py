"""What one abusive client can hold on `parley serve` (issue 11, finding 6), and what the token-revocation check
costs (finding 3). About 40 s on 2 cores.

    .venv/bin/python bench/abuse_limits.py                            # this checkout
    .venv/bin/python bench/abuse_limits.py --parley-src /other/src    # A/B against another checkout

Streams: N WebSockets opened with one device token; how many the server keeps open, and its RSS growth.
Slow headers: N connections that send a request's headers a byte every 0.5 s; how many the server has closed
after its header deadline (10 s by default) plus 2 s, and `/healthz` latency meanwhile.
Revocation check: per call, the SQLite revocation counter read on the event loop against a read unit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from proto import WsConnection
from servers import Server, parley_cli
from stats import latency_summary, run_async


async def _streams_on_one_token(server: Server, token: str, count: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    rss_before = server.rss()
    sockets: list[WsConnection] = []
    for start in range(0, count, 100):
        batch = []
        for _ in range(min(100, count - start)):
            _, ws = await loop.create_connection(
                lambda: WsConnection("bench", f"/client/v1/stream?token={token}"), "127.0.0.1", server.port
            )
            batch.append(ws)
        sockets += batch
        await asyncio.sleep(0.05)
    await asyncio.to_thread(server.quiesce)  # replaced streams close
    still_open = sum(1 for ws in sockets if ws.transport is not None and not ws.transport.is_closing())
    rss_after = server.rss()
    for ws in sockets:
        ws.close()
    return {"opened": count, "still_open": still_open, "rss_growth_mib": (rss_after - rss_before) / 2**20}


async def _slow_headers(server: Server, count: int, wait_s: float) -> dict[str, float | int | None]:
    closed = 0
    conns = []
    for _ in range(count):
        conns.append(await asyncio.open_connection("127.0.0.1", server.port))
    for _, writer in conns:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n")
    latencies_ms: list[float] = []
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        for _, writer in conns:
            if not writer.is_closing():
                with contextlib.suppress(ConnectionError, RuntimeError):  # closed by the server
                    writer.write(b"X")
        t0 = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        await reader.read()
        latencies_ms.append((time.perf_counter() - t0) * 1000)
        writer.close()
        await asyncio.sleep(0.5)
    for reader, writer in conns:
        try:
            await asyncio.wait_for(reader.read(), 0.01)  # returns only once the server has closed
            closed += 1
        except ConnectionError:  # reset: the server closed while the client was still writing
            closed += 1
        except TimeoutError:
            pass
        writer.close()
    summary = latency_summary(latencies_ms)
    return {
        "slow": count,
        "closed_by_server": closed,
        "healthz_p50_ms": summary["p50_ms"],
        "healthz_max_ms": summary["max_ms"],
    }


async def _revocation_check_cost(data_dir: Path) -> dict[str, float]:
    from parley.accounts import revocation_counter_sql
    from parley.platform.db import SqliteCounter, create_database

    path = data_dir / "parley.db"
    counter = SqliteCounter(path, revocation_counter_sql())
    db = create_database(f"sqlite+aiosqlite:///{path}")
    sql = revocation_counter_sql()
    n = 20_000
    t0 = time.perf_counter()
    for _ in range(n):
        counter()
    on_loop = (time.perf_counter() - t0) / n * 1e6
    t0 = time.perf_counter()
    for _ in range(n // 10):
        await db.read(lambda c: c.exec_driver_sql(sql).scalar())
    read_unit = (time.perf_counter() - t0) / (n // 10) * 1e6
    counter.close()
    await db.close()
    return {"counter_read_us": on_loop, "read_unit_us": read_unit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--slow-wait", type=float, default=12.0, help="seconds to drip (header deadline + 2 s)")
    parser.add_argument("--parley-src", type=Path, default=None)
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="parley-abuse-") as tmp:
        data_dir = Path(tmp) / "var"
        parley_cli(data_dir, "db", "upgrade", parley_src=args.parley_src)
        user = json.loads(parley_cli(data_dir, "user", "create", "--phone", "+14155550999", "--name", "B", "--json"))
        server = Server.parley(data_dir, Path(tmp), args.parley_src)
        server.start()
        try:
            streams = run_async(_streams_on_one_token(server, user["token"], args.streams))
            slow = run_async(_slow_headers(server, args.slow, args.slow_wait))
        finally:
            server.stop()
        check = run_async(_revocation_check_cost(data_dir)) if args.parley_src is None else None
    table = Table(title="What one client can hold")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in {**streams, **slow, **(check or {})}.items():
        table.add_row(key, f"{value:.1f}" if isinstance(value, float) else str(value))
    console.print(table)


if __name__ == "__main__":
    main()
