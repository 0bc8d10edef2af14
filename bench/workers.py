"""Load-generating worker processes, started by run.py (one config JSON file each).

    python bench/workers.py http    CONFIG.json   # open-loop, fixed-rate POST /client/v1/messages
    python bench/workers.py ws-idle CONFIG.json   # open many idle authenticated streams and hold them
    python bench/workers.py ws-recv CONFIG.json   # recipients: stream, time each message, ack it

Workers talk to run.py through stdout lines: `PROGRESS {json}` while working, `RESULT {json}` once at the
end. ws-idle and ws-recv hold their sockets until run.py writes a line to their stdin (or their own
deadline passes): every worker stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from array import array
from collections import Counter, deque
from pathlib import Path
from typing import Any

import orjson

from proto import HttpConnection, WsConnection, http_request
from stats import raise_nofile, rss_bytes, run_async


def emit(kind: str, payload: dict[str, Any]) -> None:
    sys.stdout.write(f"{kind} {json.dumps(payload)}\n")
    sys.stdout.flush()


async def _wait_start(start_at: float) -> None:
    delay = start_at - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def _stdin_line(timeout: float) -> None:
    """Return when run.py writes a line (or closes stdin), or after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reader.readline(), timeout)


# --- open-loop HTTP sends ----------------------------------------------------------------------------


async def http_open_loop(cfg: dict[str, Any]) -> dict[str, Any]:
    """Send at a fixed rate whatever the answers do: latency counts from when each request was due.

    Free connections take the next due request; when none is free a new one opens (up to max_conns),
    beyond that requests wait in a queue and that wait counts in their latency (no coordinated omission).
    """
    loop = asyncio.get_running_loop()
    host, port = cfg["host"], cfg["port"]
    rate, duration = float(cfg["rate"]), float(cfg["duration"])
    pairs: list[list[str]] = cfg["pairs"]
    nonce = cfg["nonce"]
    max_conns = int(cfg.get("max_conns", 256))
    host_header = f"{host}:{port}"
    latencies_us = array("q")
    statuses: Counter[int] = Counter()
    idle: deque[HttpConnection] = deque()
    waiting: deque[tuple[int, bytes]] = deque()
    conns: list[HttpConnection] = []
    counters = {"opening": 0, "lost_in_flight": 0, "connect_errors": 0}
    openers: set[asyncio.Task[None]] = set()

    def give(conn: HttpConnection) -> None:
        if waiting:
            due, raw = waiting.popleft()
            conn.started_ns = due
            conn.send(raw)
        else:
            idle.append(conn)

    def on_response(conn: HttpConnection, status: int, _body: bytes) -> None:
        latencies_us.append((time.monotonic_ns() - conn.started_ns) // 1000)
        statuses[status] += 1
        give(conn)

    def on_lost(conn: HttpConnection) -> None:
        if conn.busy:
            counters["lost_in_flight"] += 1
        if conn in idle:
            idle.remove(conn)

    async def open_one() -> None:
        counters["opening"] += 1
        try:
            _, conn = await loop.create_connection(lambda: HttpConnection(on_response, on_lost), host, port)
        except OSError:
            counters["connect_errors"] += 1
            return
        finally:
            counters["opening"] -= 1
        conns.append(conn)
        give(conn)

    for _ in range(int(cfg.get("initial_conns", 8))):
        await open_one()

    await _wait_start(float(cfg["start_at"]))
    total = int(rate * duration)
    interval_ns = 1e9 / rate
    cpu0 = time.process_time()
    t0 = time.monotonic_ns()
    i = 0
    while i < total:
        now = time.monotonic_ns()
        while i < total and t0 + int(i * interval_ns) <= now:
            due = t0 + int(i * interval_ns)
            token, to = pairs[i % len(pairs)]
            body = (
                f'{{"to":"{to}","type":"text","text":{{"body":"t{due} bench"}},"client_id":"{nonce}-{i}"}}'
            ).encode()
            raw = http_request(
                "POST",
                "/client/v1/messages",
                host_header,
                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                body,
            )
            if idle:
                conn = idle.pop()
                conn.started_ns = due
                conn.send(raw)
            else:
                waiting.append((due, raw))
                if len(conns) + counters["opening"] < max_conns and counters["opening"] < 16:
                    opener = loop.create_task(open_one())
                    openers.add(opener)
                    opener.add_done_callback(openers.discard)
            i += 1
        # Event-loop timers tick in milliseconds: whatever fell due meanwhile goes out together at the
        # next tick (its latency still counts from its due time: at most ~1 ms of it is ours).
        next_due = t0 + int(i * interval_ns)
        await asyncio.sleep(max(0.001, (next_due - time.monotonic_ns()) / 1e9))
    issued_s = (time.monotonic_ns() - t0) / 1e9
    # Let the answers in flight arrive (bounded), then count what never came.
    drain_deadline = time.monotonic() + float(cfg.get("drain_s", 10))
    while len(latencies_us) + counters["lost_in_flight"] < total and time.monotonic() < drain_deadline:
        await asyncio.sleep(0.02)
    elapsed_s = (time.monotonic_ns() - t0) / 1e9
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    return {
        "cpu_seconds": time.process_time() - cpu0,
        "scheduled": total,
        "completed": len(latencies_us),
        "incomplete": total - len(latencies_us),
        "statuses": {str(k): v for k, v in statuses.items()},
        "issue_seconds": issued_s,
        "elapsed_seconds": elapsed_s,
        "connections": len(conns),
        **counters,
        "latencies_us": latencies_us.tolist(),
    }


# --- idle streams (memory per socket) -------------------------------------------------------------


async def ws_idle(cfg: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    host, port, source = cfg["host"], cfg["port"], cfg.get("source_ip")
    tokens: list[str] = cfg["tokens"]
    concurrency = int(cfg.get("concurrency", 256))
    deflate = bool(cfg.get("offer_deflate", False))
    host_header = f"{host}:{port}"
    opened: list[WsConnection] = []
    state = {"failed": 0, "closed_early": 0, "holding": False}
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    gate = asyncio.Semaphore(concurrency)

    def on_close(_conn: WsConnection, status: int) -> None:
        if state["holding"]:
            state["closed_early"] += 1

    async def connect(token: str) -> None:
        async with gate:
            upgraded = loop.create_future()

            def on_open(_c: WsConnection) -> None:
                if not upgraded.done():
                    upgraded.set_result(True)

            def on_fail(c: WsConnection, status: int) -> None:
                on_close(c, status)
                if not upgraded.done():
                    upgraded.set_result(False)

            try:
                _, conn = await asyncio.wait_for(
                    loop.create_connection(
                        lambda: WsConnection(
                            host_header,
                            f"/client/v1/stream?token={token}",
                            on_open=on_open,
                            on_close=on_fail,
                            offer_deflate=deflate,
                        ),
                        host,
                        port,
                        local_addr=(source, 0) if source else None,
                    ),
                    30,
                )
                ok = await asyncio.wait_for(upgraded, 60)
            except (OSError, TimeoutError) as error:
                state["failed"] += 1
                failures[type(error).__name__] += 1
                return
            statuses[conn.status] += 1
            if ok:
                opened.append(conn)
            else:
                state["failed"] += 1

    async def report() -> None:
        while True:
            emit("PROGRESS", {"opened": len(opened), "failed": state["failed"]})
            await asyncio.sleep(0.5)

    reporter = loop.create_task(report())
    t0 = time.monotonic()
    await asyncio.gather(*(connect(t) for t in tokens))
    connect_s = time.monotonic() - t0
    reporter.cancel()
    state["holding"] = True
    emit(
        "PROGRESS",
        {"ready": True, "opened": len(opened), "failed": state["failed"], "connect_seconds": connect_s},
    )
    await _stdin_line(float(cfg.get("hold_max_s", 300)))
    still_open = sum(1 for c in opened if c.open)
    client_rss = rss_bytes(__import__("os").getpid())
    state["holding"] = False
    for conn in opened:
        conn.close()
    await asyncio.sleep(0.2)
    return {
        "opened": len(opened),
        "failed": state["failed"],
        "still_open": still_open,
        "closed_early": state["closed_early"],
        "statuses": {str(k): v for k, v in statuses.items()},
        "failures": dict(failures),
        "connect_seconds": connect_s,
        "client_rss_bytes": client_rss,
    }


# --- recipients (delivery latency) ----------------------------------------------------------------


async def ws_recv(cfg: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    host, port = cfg["host"], cfg["port"]
    tokens: list[str] = cfg["tokens"]
    host_header = f"{host}:{port}"
    latencies_us = array("q")
    counts: Counter[str] = Counter()
    conns: list[WsConnection] = []
    collecting = {"on": True}

    def on_text(conn: WsConnection, payload: bytes) -> None:
        now = time.monotonic_ns()
        event = orjson.loads(payload)
        kind = event.get("type")
        counts[str(kind)] += 1
        if kind != "message":
            return
        body = ((event.get("message") or {}).get("text") or {}).get("body", "")
        if collecting["on"] and body.startswith("t"):
            latencies_us.append((now - int(body[1:].split(" ", 1)[0])) // 1000)
        conn.send_text(f'{{"type":"ack","id":{int(event["id"])}}}')

    async def connect(token: str) -> None:
        upgraded = loop.create_future()
        _, conn = await loop.create_connection(
            lambda: WsConnection(
                host_header,
                f"/client/v1/stream?token={token}",
                on_open=lambda c: upgraded.done() or upgraded.set_result(True),
                on_text=on_text,
                on_close=lambda c, s: upgraded.done() or upgraded.set_result(False),
            ),
            host,
            port,
        )
        if await asyncio.wait_for(upgraded, 30):
            conns.append(conn)
        else:
            counts["refused"] += 1

    await asyncio.gather(*(connect(t) for t in tokens))
    emit("PROGRESS", {"ready": True, "connected": len(conns)})
    await _stdin_line(float(cfg.get("hold_max_s", 120)))
    collecting["on"] = False
    still_open = sum(1 for c in conns if c.open)
    for conn in conns:
        conn.close()
    return {
        "connected": len(conns),
        "still_open": still_open,
        "events": dict(counts),
        "latencies_us": latencies_us.tolist(),
    }


def main() -> None:
    mode, config_path = sys.argv[1], sys.argv[2]
    cfg = json.loads(Path(config_path).read_text())
    raise_nofile(int(cfg.get("nofile", 65536)))
    work = {"http": http_open_loop, "ws-idle": ws_idle, "ws-recv": ws_recv}[mode]
    result = run_async(work(cfg))
    # The result (with every latency sample) goes to a file: only its path travels through the pipe.
    result_path = Path(config_path).with_suffix(".result.json")
    result_path.write_text(json.dumps(result))
    emit("RESULT", {"path": str(result_path)})


if __name__ == "__main__":
    main()
