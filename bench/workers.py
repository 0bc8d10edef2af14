"""Load-generating worker processes, started by run.py (one config JSON file each).

    python bench/workers.py http    CONFIG.json   # open-loop, fixed-rate POST /client/v1/messages
    python bench/workers.py ws-idle CONFIG.json   # open many idle authenticated streams and hold them
    python bench/workers.py ws-recv CONFIG.json   # recipients: stream, time each message, ack it
    python bench/workers.py cloud-http CONFIG.json   # open-loop, fixed-rate POST /v23.0/{id}/messages
    python bench/workers.py ws-person CONFIG.json    # people: stream, ack every business message, mark some read

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
    ok_latencies_us = array("q")  # the accepted (2xx) ones: under overload the refusals are fast
    statuses: Counter[int] = Counter()
    retry_after: Counter[int] = Counter()  # answers carrying Retry-After, by status
    idle: deque[HttpConnection] = deque()
    waiting: deque[tuple[int, bytes]] = deque()
    conns: list[HttpConnection] = []
    counters = {"opening": 0, "lost_in_flight": 0, "connect_errors": 0}
    openers: set[asyncio.Task[None]] = set()

    def give(conn: HttpConnection) -> None:
        if not conn.usable:
            return
        if waiting:
            due, raw = waiting.popleft()
            conn.started_ns = due
            conn.send(raw)
        else:
            idle.append(conn)

    def on_response(conn: HttpConnection, status: int, _body: bytes) -> None:
        latency = (time.monotonic_ns() - conn.started_ns) // 1000
        latencies_us.append(latency)
        statuses[status] += 1
        if 200 <= status < 300:
            ok_latencies_us.append(latency)
        if conn.retry_after:
            retry_after[status] += 1
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
            while idle and not idle[-1].usable:
                idle.pop()  # closed by the server while idle (keep-alive timeout)
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
        "retry_after": {str(k): v for k, v in retry_after.items()},
        "issue_seconds": issued_s,
        "elapsed_seconds": elapsed_s,
        "connections": len(conns),
        **counters,
        "latencies_us": latencies_us.tolist(),
        "ok_latencies_us": ok_latencies_us.tolist(),
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


# --- Cloud API sends (cloud_api.py) ---------------------------------------------------------------


def cloud_body(kind: str, to: str, n: int, template: dict[str, str]) -> bytes:
    """A text or template send as a Cloud API client writes it."""
    if kind == "template":
        return (
            f'{{"messaging_product":"whatsapp","recipient_type":"individual","to":"{to}","type":"template",'
            f'"template":{{"name":"{template["name"]}","language":{{"code":"{template["language"]}"}},'
            f'"components":[{{"type":"body","parameters":[{{"type":"text","text":"A{n}"}},'
            f'{{"type":"text","text":"Monday"}}]}}]}}}}'
        ).encode()
    return (
        f'{{"messaging_product":"whatsapp","recipient_type":"individual","to":"{to}","type":"text",'
        f'"text":{{"body":"bench {n}"}}}}'
    ).encode()


def _wamid_of(body: bytes) -> str:
    at = body.find(b'"id":"wamid.')
    if at < 0:
        return ""
    end = body.find(b'"', at + 6)
    return body[at + 6 : end].decode()


def _graph_code(body: bytes) -> str:
    """The `error.code` of a Graph error body ("" when there is none): cheap, no JSON parse on the hot loop."""
    at = body.find(b'"code":')
    if at < 0:
        return ""
    digits = bytearray()
    for ch in body[at + 7 : at + 20].lstrip():
        if not 48 <= ch <= 57:
            break
        digits.append(ch)
    return digits.decode()


async def cloud_open_loop(cfg: dict[str, Any]) -> dict[str, Any]:
    """Like http_open_loop, for `POST /v23.0/{phone_number_id}/messages` over many (business, person) entries.

    Every answered send is recorded as (wamid, due, answered) on CLOCK_MONOTONIC, so cloud_api.py can join it
    with the webhook receiver's and the people's records.
    """
    loop = asyncio.get_running_loop()
    host, port = cfg["host"], cfg["port"]
    rate, duration = float(cfg["rate"]), float(cfg["duration"])
    entries: list[list[str]] = cfg["entries"]  # [token, phone_number_id, to, "text" | "template"]
    template: dict[str, str] = cfg["template"]
    max_conns = int(cfg.get("max_conns", 256))
    offset = int(cfg.get("offset", 0))
    host_header = f"{host}:{port}"
    latencies_us = array("q")
    statuses: Counter[int] = Counter()
    retry_after: Counter[int] = Counter()  # answers carrying Retry-After, by status
    graph_codes: Counter[str] = Counter()  # Graph error codes of refused sends (130429: Meta's throughput error)
    error_samples: dict[str, str] = {}
    sent_wamids: list[str] = []
    sent_due = array("q")
    sent_answered = array("q")
    idle: deque[HttpConnection] = deque()
    waiting: deque[tuple[int, bytes]] = deque()
    conns: list[HttpConnection] = []
    counters = {"opening": 0, "lost_in_flight": 0, "connect_errors": 0}
    openers: set[asyncio.Task[None]] = set()
    prepared = [
        (f"/v23.0/{pnid}/messages", {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, to, kind)
        for token, pnid, to, kind in entries
    ]

    def give(conn: HttpConnection) -> None:
        if not conn.usable:
            return
        if waiting:
            due, raw = waiting.popleft()
            conn.started_ns = due
            conn.send(raw)
        else:
            idle.append(conn)

    def on_response(conn: HttpConnection, status: int, body: bytes) -> None:
        now = time.monotonic_ns()
        latencies_us.append((now - conn.started_ns) // 1000)
        statuses[status] += 1
        if status == 200:
            sent_wamids.append(_wamid_of(body))
            sent_due.append(conn.started_ns)
            sent_answered.append(now)
        else:
            graph_codes[_graph_code(body)] += 1
            if str(status) not in error_samples:
                error_samples[str(status)] = body[:600].decode(errors="replace")
        if conn.retry_after:
            retry_after[status] += 1
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
            path, headers, to, kind = prepared[(offset + i) % len(prepared)]
            raw = http_request("POST", path, host_header, headers, cloud_body(kind, to, i, template))
            while idle and not idle[-1].usable:
                idle.pop()  # closed by the server while idle (keep-alive timeout)
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
        next_due = t0 + int(i * interval_ns)
        await asyncio.sleep(max(0.001, (next_due - time.monotonic_ns()) / 1e9))
    issued_s = (time.monotonic_ns() - t0) / 1e9
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
        "error_samples": error_samples,
        "retry_after": {str(k): v for k, v in retry_after.items()},
        "graph_codes": dict(graph_codes),
        "issue_seconds": issued_s,
        "elapsed_seconds": elapsed_s,
        "start_ns": t0,
        "connections": len(conns),
        **counters,
        "latencies_us": latencies_us.tolist(),
        "sends": {"wamids": sent_wamids, "due_ns": sent_due.tolist(), "answered_ns": sent_answered.tolist()},
    }


# --- people reading businesses' messages (cloud_api.py) -------------------------------------------


async def ws_person(cfg: dict[str, Any]) -> dict[str, Any]:
    """People on `WS /client/v1/stream`: ack every message event (-> `delivered` status webhooks) and, for a
    fraction of the businesses' messages, `POST /client/v1/messages/{id}/read` (-> `read`).

    Recorded per business message (CLOCK_MONOTONIC): its id, when it arrived, when its ack went out, and, if
    it was marked read, when that request went out and its answer.
    """
    loop = asyncio.get_running_loop()
    host, port = cfg["host"], cfg["port"]
    tokens: list[str] = cfg["tokens"]
    businesses = {str(x) for x in cfg["business_user_ids"]}
    read_per_mille = round(float(cfg.get("read_fraction", 0.5)) * 1000)
    read_conns_max = int(cfg.get("read_conns", 32))
    host_header = f"{host}:{port}"
    counts: Counter[str] = Counter()
    read_statuses: Counter[int] = Counter()
    msg_ids = array("q")
    arrived_ns = array("q")
    acked_ns = array("q")
    read_ids = array("q")
    read_sent_ns = array("q")
    read_answered_ns = array("q")
    conns: list[WsConnection] = []
    state = {"collecting": True, "opening": 0}
    idle: deque[HttpConnection] = deque()
    http_conns: list[HttpConnection] = []
    waiting: deque[tuple[int, bytes]] = deque()
    openers: set[asyncio.Task[None]] = set()

    def on_read_answer(conn: HttpConnection, status: int, _body: bytes) -> None:
        read_statuses[status] += 1
        read_ids.append(int(conn.tag))  # type: ignore[call-overload]
        read_sent_ns.append(conn.started_ns)
        read_answered_ns.append(time.monotonic_ns())
        give(conn)

    def give(conn: HttpConnection) -> None:
        if not conn.usable:
            return
        if waiting:
            message_id, raw = waiting.popleft()
            conn.tag = message_id
            conn.started_ns = time.monotonic_ns()
            conn.send(raw)
        else:
            idle.append(conn)

    def on_lost(conn: HttpConnection) -> None:
        counts["read_conn_lost"] += 1
        if conn in idle:
            idle.remove(conn)

    async def open_read_conn() -> None:
        state["opening"] += 1
        try:
            _, conn = await loop.create_connection(lambda: HttpConnection(on_read_answer, on_lost), host, port)
            http_conns.append(conn)
            give(conn)
        except OSError:
            counts["read_connect_errors"] += 1
        finally:
            state["opening"] -= 1

    def mark_read(token: str, message_id: int) -> None:
        raw = http_request(
            "POST", f"/client/v1/messages/{message_id}/read", host_header, {"Authorization": f"Bearer {token}"}
        )
        while idle and not idle[-1].usable:
            idle.pop()  # closed by the server while idle (keep-alive timeout)
        if idle:
            conn = idle.pop()
            conn.tag = message_id
            conn.started_ns = time.monotonic_ns()
            conn.send(raw)
            return
        waiting.append((message_id, raw))
        if len(http_conns) + state["opening"] < read_conns_max:
            opener = loop.create_task(open_read_conn())
            openers.add(opener)
            opener.add_done_callback(openers.discard)

    def on_text(conn: WsConnection, payload: bytes) -> None:
        now = time.monotonic_ns()
        event = orjson.loads(payload)
        kind = str(event.get("type"))
        counts[kind] += 1
        if kind != "message":
            return
        conn.send_text(f'{{"type":"ack","id":{int(event["id"])}}}')
        message = event.get("message") or {}
        if event.get("event") != "new" or str(message.get("sender_id")) not in businesses:
            return
        counts["business_messages"] += 1
        if not state["collecting"]:
            return
        message_id = int(message["id"])
        msg_ids.append(message_id)
        arrived_ns.append(now)
        acked_ns.append(time.monotonic_ns())
        # A fixed pseudo-random choice per message (Fibonacci hashing of its id), the same in every run.
        if (((message_id * 11400714819323198485) & 0xFFFFFFFFFFFFFFFF) >> 44) % 1000 < read_per_mille:
            mark_read(str(conn.tag), message_id)

    async def connect(token: str) -> None:
        upgraded = loop.create_future()

        def made() -> WsConnection:
            ws = WsConnection(
                host_header,
                f"/client/v1/stream?token={token}",
                on_open=lambda c: upgraded.done() or upgraded.set_result(True),
                on_text=on_text,
                on_close=lambda c, s: upgraded.done() or upgraded.set_result(False),
            )
            ws.tag = token
            return ws

        _, conn = await loop.create_connection(made, host, port)
        if await asyncio.wait_for(upgraded, 60):
            conns.append(conn)
        else:
            counts["refused"] += 1

    gate = asyncio.Semaphore(32)

    async def gated(token: str) -> None:
        async with gate:
            await connect(token)

    await asyncio.gather(*(gated(t) for t in tokens))
    emit("PROGRESS", {"ready": True, "connected": len(conns)})
    await _stdin_line(float(cfg.get("hold_max_s", 1800)))
    state["collecting"] = False
    still_open = sum(1 for c in conns if c.open)
    await asyncio.sleep(0.5)  # answers to the last read requests
    for c in conns:
        c.close()
    for h in http_conns:
        if h.transport is not None:
            h.transport.close()
    return {
        "connected": len(conns),
        "still_open": still_open,
        "events": dict(counts),
        "read_statuses": {str(k): v for k, v in read_statuses.items()},
        "reads_unanswered": len(waiting) + sum(1 for h in http_conns if h.busy),
        "messages": {"ids": msg_ids.tolist(), "arrived_ns": arrived_ns.tolist(), "acked_ns": acked_ns.tolist()},
        "reads": {
            "ids": read_ids.tolist(),
            "sent_ns": read_sent_ns.tolist(),
            "answered_ns": read_answered_ns.tolist(),
        },
    }


def main() -> None:
    mode, config_path = sys.argv[1], sys.argv[2]
    cfg = json.loads(Path(config_path).read_text())
    raise_nofile(int(cfg.get("nofile", 65536)))
    work = {
        "http": http_open_loop,
        "ws-idle": ws_idle,
        "ws-recv": ws_recv,
        "cloud-http": cloud_open_loop,
        "ws-person": ws_person,
    }[mode]
    result = run_async(work(cfg))
    # The result (with every latency sample) goes to a file: only its path travels through the pipe.
    result_path = Path(config_path).with_suffix(".result.json")
    result_path.write_text(json.dumps(result))
    emit("RESULT", {"path": str(result_path)})


if __name__ == "__main__":
    main()
