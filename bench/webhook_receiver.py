"""The businesses' webhook endpoint for the Cloud API benchmark, and a driver that measures it on its own.

    python bench/webhook_receiver.py serve CONFIG.json   # receive: 200 at once, record every update
    python bench/webhook_receiver.py drive CONFIG.json   # baseline: POST to a receiver from one httpx client
    python bench/webhook_receiver.py drive-raw CONFIG.json   # the same from a bare asyncio client (proto.py)

`serve` is a bare asyncio HTTP/1.1 server (keep-alive, Content-Length bodies: what httpx sends) that answers
every POST with an empty 200 before anything else and checks nothing expensive (no signature check). Per
update it records the change's `field`, and for status updates the wamid, the status and the arrival time on
CLOCK_MONOTONIC (`time.monotonic_ns()`: one clock for every process on the machine, so the orchestrator can
subtract the load generator's send times from it). A GET answers Meta's verification handshake
(`hub.challenge`). Path `/hook/{n}` names the business the update was addressed to.

Both talk to cloud_api.py like workers.py does: `PROGRESS {json}` lines on stdout, one `RESULT {json}` line
(the path of a result file) at the end; `serve` stops when a line arrives on stdin (or after `hold_max_s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from array import array
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from stats import raise_nofile, run_async

_CRLF2 = b"\r\n\r\n"
_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
STATUS_CODES = {"sent": 1, "delivered": 2, "read": 3, "failed": 9}


def emit(kind: str, payload: dict[str, Any]) -> None:
    sys.stdout.write(f"{kind} {json.dumps(payload)}\n")
    sys.stdout.flush()


class Ledger:
    """Everything received: counters, and one (wamid, status, arrival) record per status update."""

    def __init__(self) -> None:
        self.posts = 0
        self.fields: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.per_hook: Counter[str] = Counter()
        self.inbound_messages = 0
        self.unreadable = 0
        self.status_wamids: list[str] = []
        self.status_codes = array("b")
        self.status_ns = array("q")
        self.first_ns = 0
        self.last_ns = 0

    def record(self, path: str, body: bytes, now: int) -> None:
        self.posts += 1
        if not self.first_ns:
            self.first_ns = now
        self.last_ns = now
        self.per_hook[path] += 1
        try:
            payload = orjson.loads(body)
            for entry in payload["entry"]:
                for change in entry["changes"]:
                    field = change["field"]
                    self.fields[field] += 1
                    value = change["value"]
                    for status in value.get("statuses") or ():
                        name = status["status"]
                        self.statuses[name] += 1
                        self.status_wamids.append(status["id"])
                        self.status_codes.append(STATUS_CODES.get(name, 0))
                        self.status_ns.append(now)
                    self.inbound_messages += len(value.get("messages") or ())
        except (ValueError, KeyError, TypeError):
            self.unreadable += 1


class HookProtocol(asyncio.Protocol):
    __slots__ = ("_buf", "ledger", "transport")

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        while True:
            end = buf.find(_CRLF2)
            if end < 0:
                return
            head = bytes(buf[:end])
            lower = head.lower()
            at = lower.find(b"content-length:")
            length = 0
            if at >= 0:
                stop = lower.find(b"\r\n", at)
                length = int(lower[at + 15 : stop if stop >= 0 else None])
            total = end + 4 + length
            if len(buf) < total:
                return
            now = time.monotonic_ns()
            body = bytes(buf[end + 4 : total])
            del buf[:total]
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, _, rest = request_line.partition(" ")
            target = rest.rsplit(" ", 1)[0]
            assert self.transport is not None
            if method == "POST":
                self.transport.write(_OK)  # answer first: the receiver must never be what Parley waits on
                self.ledger.record(target.split("?", 1)[0], body, now)
            else:  # Meta's verification handshake: echo hub.challenge
                query = parse_qs(urlsplit(target).query)
                challenge = query.get("hub.challenge", [""])[0].encode()
                self.transport.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                    + str(len(challenge)).encode()
                    + b"\r\n\r\n"
                    + challenge
                )


async def _stdin_line(timeout: float) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reader.readline(), timeout)


async def serve(cfg: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    ledger = Ledger()
    server = await loop.create_server(
        lambda: HookProtocol(ledger), cfg.get("host", "127.0.0.1"), int(cfg["port"]), backlog=1024
    )
    cpu0 = time.process_time()

    async def report() -> None:
        while True:
            emit(
                "PROGRESS",
                {
                    "ready": True,
                    "posts": ledger.posts,
                    "statuses": ledger.statuses.total(),
                    "at_ns": time.monotonic_ns(),
                },
            )
            await asyncio.sleep(float(cfg.get("progress_s", 0.5)))

    reporter = loop.create_task(report())
    await _stdin_line(float(cfg.get("hold_max_s", 1800)))
    reporter.cancel()
    server.close()
    return {
        "posts": ledger.posts,
        "fields": dict(ledger.fields),
        "statuses": dict(ledger.statuses),
        "per_hook": dict(ledger.per_hook),
        "inbound_messages": ledger.inbound_messages,
        "unreadable": ledger.unreadable,
        "cpu_seconds": time.process_time() - cpu0,
        "first_ns": ledger.first_ns,
        "last_ns": ledger.last_ns,
        "status_wamids": ledger.status_wamids,
        "status_codes": ledger.status_codes.tolist(),
        "status_ns": ledger.status_ns.tolist(),
    }


def sample_body(waba_id: str = "1", phone_number_id: str = "2") -> bytes:
    """A `sent` status update shaped and sized like Parley's."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "16282000000", "phone_number_id": phone_number_id},
        "contacts": [{"wa_id": "14152000001", "user_id": "US.1234567890123456789"}],
        "statuses": [
            {
                "id": "wamid.UFJMWQAAAAAAAAAB",
                "status": "sent",
                "timestamp": "1790000000",
                "recipient_id": "14152000001",
                "recipient_user_id": "US.1234567890123456789",
                "pricing": {
                    "billable": False,
                    "pricing_model": "PMP",
                    "category": "service",
                    "type": "free_customer_service",
                },
            }
        ],
    }
    entry = {"id": waba_id, "changes": [{"value": value, "field": "messages"}]}
    return orjson.dumps({"object": "whatsapp_business_account", "entry": [entry]})


async def drive(cfg: dict[str, Any]) -> dict[str, Any]:
    """POST as fast as `concurrency` tasks sharing one httpx client can: the receiver's ceiling for such a client."""
    import hashlib
    import hmac

    import httpx

    url, concurrency, duration = cfg["url"], int(cfg["concurrency"]), float(cfg["duration"])
    body = sample_body()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "facebookexternalua",
        "X-Hub-Signature-256": "sha256=" + hmac.new(b"s", body, hashlib.sha256).hexdigest(),
    }
    statuses: Counter[int] = Counter()
    latencies_us = array("q")
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(5.0)) as client:
        for _ in range(concurrency):  # open the connections before the clock starts
            await client.post(url, content=body, headers=headers)
        cpu0 = time.process_time()
        t0 = time.monotonic()
        stop = t0 + duration

        async def one() -> None:
            while time.monotonic() < stop:
                started = time.monotonic_ns()
                try:
                    response = await client.post(url, content=body, headers=headers)
                    statuses[response.status_code] += 1
                except httpx.HTTPError:
                    statuses[0] += 1
                latencies_us.append((time.monotonic_ns() - started) // 1000)

        await asyncio.gather(*(one() for _ in range(concurrency)))
        elapsed = time.monotonic() - t0
        cpu = time.process_time() - cpu0
    ok = statuses.get(200, 0)
    return {
        "concurrency": concurrency,
        "seconds": elapsed,
        "ok": ok,
        "statuses": {str(k): v for k, v in statuses.items()},
        "posts_per_second": ok / elapsed,
        "client_cpu_seconds": cpu,
        "client_cpu_us_per_post": cpu / max(1, ok) * 1e6,
        "latencies_us": latencies_us.tolist(),
    }


async def drive_raw(cfg: dict[str, Any]) -> dict[str, Any]:
    """The same load from the bare asyncio HTTP/1.1 client protocol the load generators use (proto.py): what
    one lean Python process can send, signing every body as Parley does (HMAC-SHA256 and SHA1)."""
    import hashlib
    import hmac

    from proto import HttpConnection, http_request

    loop = asyncio.get_running_loop()
    host, port, path = cfg["host"], int(cfg["port"]), cfg.get("path", "/hook/0")
    concurrency, duration = int(cfg["concurrency"]), float(cfg["duration"])
    body = sample_body()
    statuses: Counter[int] = Counter()
    latencies_us = array("q")
    state = {"stop": 0.0}
    done = loop.create_future()
    active = {"n": concurrency}

    def request() -> bytes:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "facebookexternalua",
            "X-Hub-Signature-256": "sha256=" + hmac.new(b"s", body, hashlib.sha256).hexdigest(),
            "X-Hub-Signature": "sha1=" + hmac.new(b"s", body, hashlib.sha1).hexdigest(),
        }
        return http_request("POST", path, f"{host}:{port}", headers, body)

    def on_response(conn: HttpConnection, status: int, _body: bytes) -> None:
        now = time.monotonic_ns()
        if state["stop"]:
            statuses[status] += 1
            latencies_us.append((now - conn.started_ns) // 1000)
            if time.monotonic() >= state["stop"]:
                active["n"] -= 1
                if active["n"] == 0 and not done.done():
                    done.set_result(None)
                return
        conn.started_ns = time.monotonic_ns()
        conn.send(request())

    conns = []
    for _ in range(concurrency):
        _, conn = await loop.create_connection(lambda: HttpConnection(on_response), host, port)
        conns.append(conn)
    cpu0 = time.process_time()
    t0 = time.monotonic()
    state["stop"] = t0 + duration
    for conn in conns:
        conn.started_ns = time.monotonic_ns()
        conn.send(request())
    await asyncio.wait_for(done, duration + 30)
    elapsed = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    ok = statuses.get(200, 0)
    return {
        "concurrency": concurrency,
        "seconds": elapsed,
        "ok": ok,
        "statuses": {str(k): v for k, v in statuses.items()},
        "posts_per_second": ok / elapsed,
        "client_cpu_seconds": cpu,
        "client_cpu_us_per_post": cpu / max(1, ok) * 1e6,
        "latencies_us": latencies_us.tolist(),
    }


def main() -> None:
    mode, config_path = sys.argv[1], sys.argv[2]
    cfg = json.loads(Path(config_path).read_text())
    raise_nofile(int(cfg.get("nofile", 65536)))
    work = {"serve": serve, "drive": drive, "drive-raw": drive_raw}[mode]
    result = run_async(work(cfg))
    result_path = Path(config_path).with_suffix(".result.json")
    result_path.write_text(json.dumps(result))
    emit("RESULT", {"path": str(result_path)})


if __name__ == "__main__":
    main()
