"""Parley benchmarks: every figure beside a baseline measured in the same run, on the same machine.

    .venv/bin/python bench/run.py                 # everything, bounded defaults (< 10 minutes)
    .venv/bin/python bench/run.py --only send     # one phase: send | delivery | memory
    .venv/bin/python bench/run.py --quick         # a smoke run (~2 minutes, small numbers)

Phases (each against `parley serve` on a fresh SQLite data dir, and against baseline_app.py under the
same uvicorn settings):

1. send: acknowledged sends/s at max throughput (wrk, closed loop, unique client_id per request,
   many sender -> recipient pairs), then p50/p99 from an open-loop fixed-rate generator (several
   processes; latency counts from when each request was due) at half the 5,000/s goal and at half of
   the throughput this very server reached. Last, for Parley only, an overload: open-loop sends at 10x its
   max for a few seconds (--overload) from several client processes: answers by status (2xx / 503 / 429),
   Retry-After on the refusals, p99 of the accepted sends; its acknowledged sends join the durability check.
2. delivery: recipients hold `WS /client/v1/stream`, senders POST at a fixed rate, each recipient
   acks every event; latency is from when the send was due to when the event arrived.
3. memory: server RSS before and after opening many idle authenticated streams from several client
   processes on several loopback source addresses; (after - before) / sockets.

Results: a table on the terminal and JSON in bench/results/ (gitignored).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import queue
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from options import parse_with_quick
from servers import BENCH_DIR, NOFILE, REPO_DIR, Server, parley_cli
from stats import latency_summary, loadavg, machine_cpu_busy, raise_nofile, summarize_answers

RESULTS_DIR = BENCH_DIR / "results"
GOAL_SENDS = 5_000
GOAL_SENDS_STRETCH = 10_000
GOAL_SEND_P99_MS = 15.0
GOAL_SHARE_OF_RAW = 0.12  # Parley's max person sends/s over raw ASGI's, same run (issue 10)
GOAL_OVERLOAD_P99_MS = 50.0  # accepted sends under 10x overload (issue 10's admission control)
GOAL_DELIVERY_P99_MS = 25.0
GOAL_SOCKETS = 100_000
GOAL_BYTES_PER_SOCKET = 16 * 1024
PER_SOURCE_IP = 20_000  # connections per loopback source address (ephemeral ports: ~28,000 each)

console = Console(width=None if sys.stdout.isatty() else 150)


# --- worker processes ------------------------------------------------------------------------------


class Worker:
    """A workers.py process: config in, PROGRESS lines while it works, one RESULT line at the end."""

    def __init__(self, mode: str, cfg: dict[str, Any], workdir: Path) -> None:
        path = workdir / f"{mode}-{uuid.uuid4().hex[:8]}.json"
        path.write_text(json.dumps(cfg))
        self.log = (workdir / f"{path.stem}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "workers.py"), mode, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            preexec_fn=lambda: raise_nofile(NOFILE),
            cwd=REPO_DIR,
        )
        self.lines: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.last_progress: dict[str, Any] = {}
        self.result: dict[str, Any] | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            kind, _, payload = line.partition(" ")
            if kind in ("PROGRESS", "RESULT"):
                try:
                    data = json.loads(payload)
                    if kind == "RESULT":
                        data = json.loads(Path(data["path"]).read_text())
                except (ValueError, OSError, KeyError) as error:
                    data = {"error": f"unreadable {kind} line: {error}"}
                    kind = "RESULT"
                self.lines.put((kind, data))

    def poll(self) -> None:
        while True:
            try:
                kind, payload = self.lines.get_nowait()
            except queue.Empty:
                return
            if kind == "PROGRESS":
                self.last_progress = payload
            else:
                self.result = payload

    def tell(self, line: str = "stop") -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            assert self.process.stdin is not None
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()

    def wait_result(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while self.result is None and time.monotonic() < deadline:
            self.poll()
            if self.result is None:
                if self.process.poll() is not None:
                    time.sleep(0.2)
                    self.poll()
                    break
                time.sleep(0.05)
        self.kill()
        if self.result is None or "error" in self.result:
            problem = self.result["error"] if self.result else "no result"
            raise RuntimeError(f"worker {self.process.args}: {problem} (see {self.log.name})")
        return self.result

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(3)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


def wait_workers(workers: list[Worker], timeout: float, tick: Callable[[], None] | None = None) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for w in workers:
            w.poll()
        if tick is not None:
            tick()
        if all(w.result is not None or w.process.poll() is not None for w in workers):
            break
        time.sleep(0.1)
    return [w.wait_result(max(1.0, deadline - time.monotonic())) for w in workers]


# --- measurement helpers -----------------------------------------------------------------------------


class Meter:
    """Server CPU and machine CPU over a stretch of time: how much the server used, how busy the box was."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.t0 = time.monotonic()
        self.cpu0 = server.cpu()
        self.busy0, self.total0 = machine_cpu_busy()

    def read(self) -> dict[str, float]:
        seconds = time.monotonic() - self.t0
        busy, total = machine_cpu_busy()
        return {
            "seconds": seconds,
            "server_cpu_seconds": self.server.cpu() - self.cpu0,
            "server_cores": (self.server.cpu() - self.cpu0) / seconds,
            "machine_busy_fraction": (busy - self.busy0) / max(1.0, total - self.total0),
        }


def run_wrk(
    url: str, pairs_file: Path, nonce: str, connections: int, seconds: float, progress: Progress, label: str
) -> dict[str, Any]:
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{int(seconds)}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(BENCH_DIR / "send.lua"),
        url,
        "--",
        str(pairs_file),
        nonce,
    ]
    task = progress.add_task(label, total=seconds)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    t0 = time.monotonic()
    try:
        while proc.poll() is None and time.monotonic() - t0 < seconds + 30:
            progress.update(task, completed=min(seconds, time.monotonic() - t0))
            time.sleep(0.2)
        if proc.poll() is None:
            proc.kill()
        out = proc.communicate(timeout=10)[0]
    finally:
        progress.remove_task(task)
    line = next((x for x in out.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    data = json.loads(line[len("BENCHJSON ") :])
    errors = data["errors"]
    ok = data["requests"] - errors["status"]
    data["ok_per_second"] = ok / (data["duration_us"] / 1e6)
    data["ok"] = ok
    data["connections"] = connections
    data["wrk_output"] = out
    return data


def open_loop(
    server: Server,
    pairs: list[list[str]],
    rate: float,
    seconds: float,
    workdir: Path,
    progress: Progress,
    label: str,
    procs: int = 2,
    max_conns: int = 256,
) -> dict[str, Any]:
    """Fixed-rate sends from several processes; latencies merged; achieved rate from completions."""
    start_at = time.time() + 1.0
    nonce = uuid.uuid4().hex[:10]
    workers = [
        Worker(
            "http",
            {
                "host": "127.0.0.1",
                "port": server.port,
                "rate": rate / procs,
                "duration": seconds,
                "pairs": pairs[k::procs],
                "nonce": f"{nonce}{k}",
                "max_conns": max_conns // procs,
                "initial_conns": 8,
                "start_at": start_at,
                "drain_s": 10,
            },
            workdir,
        )
        for k in range(procs)
    ]
    task = progress.add_task(label, total=seconds)
    meter: Meter | None = None

    def tick() -> None:
        nonlocal meter
        if meter is None and time.time() >= start_at:
            meter = Meter(server)
        progress.update(task, completed=min(seconds, max(0.0, time.time() - start_at)))

    try:
        results = wait_workers(workers, seconds + 40, tick)
    finally:
        progress.remove_task(task)
    usage = meter.read() if meter is not None else {}
    latencies = [us / 1000 for r in results for us in r["latencies_us"]]
    statuses: dict[str, int] = {}
    retry_after: dict[str, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
        for k, v in r.get("retry_after", {}).items():
            retry_after[k] = retry_after.get(k, 0) + v
    scheduled = sum(r["scheduled"] for r in results)
    ok = statuses.get("200", 0)
    summary = latency_summary(latencies)
    return {
        "target_rate": rate,
        "seconds": seconds,
        "scheduled": scheduled,
        "ok": ok,
        "statuses": statuses,
        "retry_after": retry_after,
        "ok_latency": latency_summary(us / 1000 for r in results for us in r.get("ok_latencies_us", [])),
        "incomplete": sum(r["incomplete"] for r in results),
        "connections": sum(r["connections"] for r in results),
        "achieved_rate": ok / max(r["elapsed_seconds"] for r in results),
        "generator_cpu_us_per_request": sum(r["cpu_seconds"] for r in results) / max(1, scheduled) * 1e6,
        "generator_processes": procs,
        "latency": summary,
        "usage": usage,
    }


# --- phases -------------------------------------------------------------------------------------------


def phase_send(
    targets: list[tuple[str, Callable[[], Server]]],
    pairs_by_target: dict[str, list[list[str]]],
    args: argparse.Namespace,
    workdir: Path,
    progress: Progress,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, make in targets:
        pairs = pairs_by_target[name]
        pairs_file = workdir / f"pairs-{name}.txt"
        pairs_file.write_text("".join(f"{t} {p}\n" for t, p in pairs))
        server = make()
        server.start()
        try:
            url = f"http://127.0.0.1:{server.port}"
            run_wrk(url, pairs_file, uuid.uuid4().hex[:8], args.connections, args.warmup, progress, f"{name}: warm-up")
            server.quiesce()
            meter = Meter(server)
            wrk = run_wrk(
                url,
                pairs_file,
                uuid.uuid4().hex[:8],
                args.connections,
                args.duration,
                progress,
                f"{name}: max sends/s (wrk -c{args.connections})",
            )
            wrk["usage"] = meter.read()
            wrk["server_cpu_us_per_ok"] = wrk["usage"]["server_cpu_seconds"] / max(1, wrk["ok"]) * 1e6
            server.quiesce()
            fixed = []
            rates = [
                GOAL_SENDS / 2 if r == "goal-half" else round(wrk["ok_per_second"] / 2) if r == "half" else float(r)
                for r in args.send_rates
            ]
            for rate in rates:
                if rate < 1:
                    continue
                fixed.append(
                    open_loop(
                        server,
                        pairs,
                        rate,
                        args.latency_duration,
                        workdir,
                        progress,
                        f"{name}: open loop {rate:,.0f}/s",
                    )
                )
                server.quiesce()
            out[name] = {"max": wrk, "fixed_rate": fixed, "rss_bytes": server.rss()}
            if name == "parley" and args.overload > 0:
                out[name]["overload"] = overload(server, pairs, wrk["ok_per_second"], args, workdir, progress)
                server.quiesce(timeout=60)
        finally:
            server.stop()
    return out


def overload(
    server: Server,
    pairs: list[list[str]],
    max_rate: float,
    args: argparse.Namespace,
    workdir: Path,
    progress: Progress,
) -> dict[str, Any]:
    """Open-loop sends at --overload-factor x the server's max for --overload s from several client processes:
    answers by status (admission control answers 503 with Retry-After; without it the server queues), and the
    p99 of the accepted sends. Every acknowledged send is counted in the durability check."""
    rate = max(1.0, round(args.overload_factor * max_rate))
    run = open_loop(
        server,
        pairs,
        rate,
        args.overload,
        workdir,
        progress,
        f"parley: overload {rate:,.0f}/s ({args.overload_factor:g}x max)",
        procs=args.overload_procs,
        max_conns=512,
    )
    return run | {
        "max_rate": max_rate,
        "factor": args.overload_factor,
        "processes": args.overload_procs,
        **summarize_answers(run["statuses"], run["retry_after"]),
    }


def delivery_rates(args: argparse.Namespace, results: dict[str, Any]) -> list[float]:
    rates = []
    for raw in args.delivery_rates:
        if raw == "half":
            parley_max = results.get("send", {}).get("parley", {}).get("max", {}).get("ok_per_second")
            if parley_max:
                rates.append(float(max(1, round(parley_max / 2))))
        else:
            rates.append(float(raw))
    return rates


def phase_delivery(
    targets: list[tuple[str, Callable[[], Server]]],
    delivery_by_target: dict[str, tuple[list[list[str]], list[str]]],
    args: argparse.Namespace,
    workdir: Path,
    progress: Progress,
    results_so_far: dict[str, Any],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rates = delivery_rates(args, results_so_far)
    for name, make in targets:
        pairs, recipient_tokens = delivery_by_target[name]
        server = make()
        server.start()
        try:
            out[name] = {"runs": []}
            for rate in rates:
                receiver = Worker(
                    "ws-recv",
                    {"host": "127.0.0.1", "port": server.port, "tokens": recipient_tokens, "hold_max_s": 120},
                    workdir,
                )
                deadline = time.monotonic() + 60
                while not receiver.last_progress.get("ready") and time.monotonic() < deadline:
                    receiver.poll()
                    if receiver.process.poll() is not None:
                        break
                    time.sleep(0.05)
                if not receiver.last_progress.get("ready"):
                    receiver.kill()
                    raise RuntimeError(f"{name}: recipients did not connect")
                server.quiesce()  # catch-up of anything older is over
                sends = open_loop(
                    server, pairs, rate, args.latency_duration, workdir, progress, f"{name}: delivery at {rate:,.0f}/s"
                )
                time.sleep(1.0)
                receiver.tell("stop")
                got = receiver.wait_result(30)
                summary = latency_summary(us / 1000 for us in got["latencies_us"])
                out[name]["runs"].append(
                    {
                        "rate": rate,
                        "recipients": got["connected"],
                        "sends": {k: v for k, v in sends.items() if k != "latencies"},
                        "delivered": summary["count"],
                        "events": got["events"],
                        "latency": summary,
                    }
                )
                server.quiesce()
        finally:
            server.stop()
    return out


def phase_memory(
    targets: list[tuple[str, Callable[[], Server]]],
    tokens_by_target: dict[str, list[str]],
    args: argparse.Namespace,
    workdir: Path,
    progress: Progress,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, make in targets:
        tokens = tokens_by_target[name]
        server = make()
        server.start()
        workers: list[Worker] = []
        try:
            # Warm-up: a few hundred streams opened and closed, so lazy imports and first-use caches
            # are in the "before" figure, not counted per socket.
            warm = Worker(
                "ws-idle",
                {
                    "host": "127.0.0.1",
                    "port": server.port,
                    "tokens": tokens[-500:],
                    "source_ip": "127.0.0.250",
                    "hold_max_s": 5,
                    "offer_deflate": args.offer_deflate,
                },
                workdir,
            )
            warm.tell("stop")
            warm.wait_result(60)
            server.quiesce()
            time.sleep(1.0)
            before = server.rss()
            # One process cannot hold more sockets than its fd limit allows (some sandboxes cap the hard
            # limit, even for root): measure at most that many, and say so.
            fd_limit = server.nofile_limit()
            sockets = tokens[: min(args.sockets, fd_limit - 200)]
            n_workers = max(2, math.ceil(len(sockets) / PER_SOURCE_IP))
            task = progress.add_task(f"{name}: opening idle streams", total=len(sockets))
            t0 = time.monotonic()
            for k in range(n_workers):
                workers.append(
                    Worker(
                        "ws-idle",
                        {
                            "host": "127.0.0.1",
                            "port": server.port,
                            "tokens": sockets[k::n_workers],
                            "source_ip": f"127.0.0.{2 + k}",
                            "concurrency": args.connect_concurrency,
                            "offer_deflate": args.offer_deflate,
                            "hold_max_s": args.memory_timeout + 120,
                        },
                        workdir,
                    )
                )
            deadline = time.monotonic() + args.memory_timeout
            while time.monotonic() < deadline:
                for w in workers:
                    w.poll()
                done = sum(
                    int(w.last_progress.get("opened", 0)) + int(w.last_progress.get("failed", 0)) for w in workers
                )
                progress.update(task, completed=done)
                if all(w.last_progress.get("ready") or w.process.poll() is not None for w in workers):
                    break
                time.sleep(0.2)
            connect_seconds = time.monotonic() - t0
            progress.remove_task(task)
            timed_out = not all(w.last_progress.get("ready") for w in workers)
            server.quiesce(timeout=30)
            time.sleep(2.0)
            after = server.rss()
            threads = server.threads()
            for w in workers:
                w.tell("stop")
            results = [w.wait_result(120) for w in workers]
            opened = sum(r["opened"] for r in results)
            still_open = sum(r["still_open"] for r in results)
            out[name] = {
                "requested": args.sockets,
                "attempted": len(sockets),
                "server_fd_limit": fd_limit,
                "capped_by_fd_limit": len(sockets) < args.sockets,
                "opened": opened,
                "still_open_at_measure": still_open,
                "failed": sum(r["failed"] for r in results),
                "timed_out": timed_out,
                "connect_seconds": connect_seconds,
                "connects_per_second": opened / connect_seconds if connect_seconds else None,
                "rss_before_bytes": before,
                "rss_after_bytes": after,
                "bytes_per_socket": (after - before) / opened if opened else None,
                "server_threads": threads,
                "clients_offer_deflate": args.offer_deflate,
                "client_processes": len(workers),
                "client_rss_bytes_per_socket": sum(r["client_rss_bytes"] for r in results) / max(1, opened),
                "statuses": [r["statuses"] for r in results],
                "failures": [r.get("failures", {}) for r in results],
            }
        finally:
            for w in workers:
                w.kill()
            server.stop(timeout=30)
    return out


# --- report -------------------------------------------------------------------------------------------


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}{unit}"


def verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("[green]met[/green]" if ok else "[red]missed[/red]")


def _lat(lat: dict[str, Any]) -> str:
    return f"{fmt(lat['p50_ms'])} / {fmt(lat['p99_ms'])} ms"


def report(results: dict[str, Any]) -> Table:
    meta = results["meta"]
    table = Table(title=f"Parley benchmarks — {meta['date']} — {meta['machine']['summary']}")
    table.add_column("figure")
    table.add_column("Parley", justify="right", style="bold")
    table.add_column("raw ASGI", justify="right")
    table.add_column("bare FastAPI", justify="right")
    table.add_column("goal", justify="right")
    table.add_column("", justify="center")
    names = ("parley", "raw", "fastapi")
    send = results["phases"].get("send")
    if send:

        def cell(name: str, fn: Callable[[dict[str, Any]], str]) -> str:
            return fn(send[name]) if name in send else "–"

        conns = meta["args"]["connections"]
        sends = send.get("parley", {}).get("max", {}).get("ok_per_second")
        table.add_row(
            f"max acknowledged sends/s (wrk, {conns} conns)",
            *(cell(n, lambda r: fmt(r["max"]["ok_per_second"], "/s", 0)) for n in names),
            f"≥ {GOAL_SENDS:,}/s (stretch {GOAL_SENDS_STRETCH:,})",
            verdict(None if sends is None else sends >= GOAL_SENDS),
        )
        table.add_row(
            "  p50 / p99 at max (closed loop)",
            *(
                cell(
                    n,
                    lambda r: (
                        f"{r['max']['latency_us']['p50'] / 1000:,.1f} / {r['max']['latency_us']['p99'] / 1000:,.1f} ms"
                    ),
                )
                for n in names
            ),
            "",
            "",
        )
        table.add_row(
            "  server CPU per request",
            *(cell(n, lambda r: fmt(r["max"]["server_cpu_us_per_ok"], " µs", 0)) for n in names),
            "",
            "",
        )
        raw_max = send.get("raw", {}).get("max", {}).get("ok_per_second")
        share = sends / raw_max if sends is not None and raw_max else None
        table.add_row(
            "  Parley's max as a share of raw ASGI's",
            "–" if share is None else f"{share:.1%}",
            "100.0%" if raw_max else "–",
            cell("fastapi", lambda r: f"{r['max']['ok_per_second'] / raw_max:.1%}") if raw_max else "–",
            f"≥ {GOAL_SHARE_OF_RAW:.0%}",
            verdict(None if share is None else share >= GOAL_SHARE_OF_RAW),
        )
        for i, label in enumerate(("half the goal", "half its own max")):

            def fixed(r: dict[str, Any], i: int = i, part: str = "rate") -> str:
                if i >= len(r["fixed_rate"]):
                    return "–"
                f = r["fixed_rate"][i]
                if part == "rate":
                    return f"{f['achieved_rate']:,.0f} of {f['target_rate']:,.0f}/s"
                if part == "cpu":
                    cpu = (f.get("usage") or {}).get("server_cpu_seconds")
                    return "–" if cpu is None or not f["ok"] else f"{cpu / f['ok'] * 1e6:,.0f} µs"
                late = f" +{f['incomplete']:,} unanswered" if f["incomplete"] else ""
                return _lat(f["latency"]) + late

            parley_fixed = send.get("parley", {}).get("fixed_rate", [])
            ok = None
            if i < len(parley_fixed):
                f = parley_fixed[i]
                ok = (
                    (f["latency"]["p99_ms"] or 1e9) < GOAL_SEND_P99_MS
                    and not f["incomplete"]
                    and (f["achieved_rate"] >= 0.95 * f["target_rate"])
                )
            table.add_row(f"open-loop sends at {label}: answered", *(cell(n, fixed) for n in names), "", "")
            table.add_row(
                "  p50 / p99 (from when due)",
                *(cell(n, lambda r, i=i: fixed(r, i, "lat")) for n in names),
                f"p99 < {GOAL_SEND_P99_MS:.0f} ms at {GOAL_SENDS // 2:,}/s" if i == 0 else "",
                verdict(ok) if i == 0 else "",
            )
            table.add_row(
                "  server CPU per answered send (open loop)",
                *(cell(n, lambda r, i=i: fixed(r, i, "cpu")) for n in names),
                "",
                "",
            )
        o = send.get("parley", {}).get("overload")
        if o:
            a = o["answers"]
            table.add_row(
                f"overload: {o['target_rate']:,.0f}/s for {o['seconds']:g} s ({o['factor']:g}x max, "
                f"{o['processes']} client processes), of {o['scheduled']:,}",
                f"2xx {a.get('2xx', 0):,} · 503 {a.get('503', 0):,} · 429 {a.get('429', 0):,}"
                + (f" · other {a['other']:,}" if a.get("other") else "")
                + f" · unanswered {o['incomplete']:,}",
                "",
                "",
                f"clients {o['generator_cpu_us_per_request']:,.0f} µs CPU per request",
                "",
            )
            p99 = (o.get("ok_latency") or {}).get("p99_ms")
            table.add_row(
                "  accepted sends p50 / p99 (from when due)",
                _lat(o["ok_latency"]),
                "",
                "",
                f"p99 ≤ {GOAL_OVERLOAD_P99_MS:.0f} ms",
                verdict(None if p99 is None else p99 <= GOAL_OVERLOAD_P99_MS),
            )
            table.add_row(
                "  refusals with Retry-After",
                f"{o['refused_with_retry_after']:,} of {o['refused']:,}"
                if o["refused"]
                else "no refusals (the server queued everything)",
                "",
                "",
                "all",
                verdict(o["retry_after_present"]),
            )
    delivery = results["phases"].get("delivery")
    if delivery:
        n_runs = max(len(v.get("runs", [])) for v in delivery.values())
        for i in range(n_runs):
            rate = next(v["runs"][i]["rate"] for v in delivery.values() if i < len(v.get("runs", [])))

            def dcell(name: str, i: int = i) -> str:
                runs = delivery.get(name, {}).get("runs", [])
                if i >= len(runs):
                    return "–"
                run = runs[i]
                missing = run["sends"]["ok"] - run["delivered"]
                return _lat(run["latency"]) + (f" ({missing:,} undelivered)" if missing > 0 else "")

            runs = delivery.get("parley", {}).get("runs", [])
            ok = None
            if i < len(runs):
                ok = (runs[i]["latency"]["p99_ms"] or 1e9) < GOAL_DELIVERY_P99_MS and runs[i]["delivered"] >= runs[i][
                    "sends"
                ]["ok"]
            recipients = runs[i]["recipients"] if i < len(runs) else meta["args"]["recipients"]
            table.add_row(
                f"send → WS delivery p50 / p99, {rate:,.0f} sends/s to {recipients} recipients",
                dcell("parley"),
                dcell("raw"),
                dcell("fastapi"),
                f"p99 < {GOAL_DELIVERY_P99_MS:.0f} ms",
                verdict(ok),
            )
    memory = results["phases"].get("memory")
    if memory:

        def mcell(name: str, part: str) -> str:
            m = memory.get(name)
            if not m or m["bytes_per_socket"] is None:
                return "–"
            if part == "mem":
                return f"{m['bytes_per_socket'] / 1024:,.1f} KiB"
            return f"{m['opened']:,} in {m['connect_seconds']:,.0f} s ({m['connects_per_second']:,.0f}/s)"

        parley_memory = memory.get("parley")
        ok = None
        if parley_memory and parley_memory["bytes_per_socket"] is not None:
            ok = parley_memory["bytes_per_socket"] <= GOAL_BYTES_PER_SOCKET and parley_memory["opened"] >= GOAL_SOCKETS
        deflate = any(m.get("clients_offer_deflate") for m in memory.values())
        capped = [m["server_fd_limit"] for m in memory.values() if m.get("capped_by_fd_limit")]
        table.add_row(
            "idle WebSockets opened"
            + (" (clients offer permessage-deflate)" if deflate else "")
            + (f" (capped: server fd limit {min(capped):,})" if capped else ""),
            *(mcell(n, "n") for n in names),
            f"{GOAL_SOCKETS:,}",
            "",
        )
        table.add_row(
            "  memory per idle WebSocket (server RSS Δ / sockets)",
            *(mcell(n, "mem") for n in names),
            "≤ 16 KiB",
            verdict(ok),
        )
    return table


# --- main ---------------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cores = os.cpu_count() or 0
    return {
        "summary": f"{cores} cores, {mem_gib:.0f} GiB, {model}",
        "cores": cores,
        "memory_gib": round(mem_gib, 1),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in (
        "parley",
        "uvicorn",
        "uvloop",
        "httptools",
        "websockets",
        "fastapi",
        "starlette",
        "sqlalchemy",
        "pydantic",
        "aiosqlite",
        "orjson",
    ):
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    out["sqlite"] = sqlite3.sqlite_version
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out["wrk"] = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return out


def git_state(src: Path) -> dict[str, Any]:
    def git(*a: str) -> str:
        return subprocess.run(["git", "-C", str(src), *a], capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty_src": bool(git("status", "--porcelain", "--", "src"))}


@contextlib.contextmanager
def workspace(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    try:
        yield path
    finally:
        if keep:
            console.print(f"kept work dir {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", action="append", choices=("send", "delivery", "memory"), help="run only these phases")
    p.add_argument("--no-baselines", action="store_true", help="measure Parley only")
    p.add_argument("--duration", type=float, default=15, help="seconds of max-throughput load per server")
    p.add_argument("--warmup", type=float, default=3, help="seconds of warm-up load per server")
    p.add_argument("--latency-duration", type=float, default=10, help="seconds of each open-loop run")
    p.add_argument("--connections", type=int, default=64, help="wrk connections for max throughput")
    p.add_argument("--pairs", type=int, default=1000, help="sender -> recipient pairs for the send phase")
    p.add_argument(
        "--send-rates",
        nargs="*",
        default=["goal-half", "half"],
        help="open-loop sends/s after the max-throughput run: numbers, 'goal-half' (2,500/s) and "
        "'half' (half of what this server just reached)",
    )
    p.add_argument(
        "--overload",
        type=float,
        default=5,
        help="send phase, last: seconds of open-loop sends at --overload-factor x this server's max (0: none)",
    )
    p.add_argument("--overload-factor", type=float, default=10, help="the overload's rate over the server's max")
    p.add_argument(
        "--overload-procs", type=int, default=3, help="client processes of the overload (cheaper than the server)"
    )
    p.add_argument("--recipients", type=int, default=200, help="connected recipients in the delivery phase")
    p.add_argument(
        "--delivery-rates",
        nargs="+",
        default=["25", "half"],
        help="sends/s for the delivery phase; 'half' = half of Parley's max from the send phase",
    )
    p.add_argument("--sockets", type=int, default=20_000, help="idle streams in the memory phase")
    p.add_argument("--connect-concurrency", type=int, default=64, help="handshakes in flight per client process")
    p.add_argument(
        "--offer-deflate",
        action="store_true",
        help="memory phase: clients offer permessage-deflate, as every browser does",
    )
    p.add_argument("--memory-timeout", type=float, default=240, help="max seconds to open the idle streams")
    p.add_argument("--parley-src", type=Path, help="serve Parley from this src/ directory (A/B of a change)")
    p.add_argument("--quick", action="store_true", help="small, short smoke run")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir and logs")
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help="where to write the JSON results")
    return parse_with_quick(p, argv, quick_defaults)


def quick_defaults(p: argparse.ArgumentParser) -> dict[str, Any]:
    """--quick's sizes: defaults only, an option given on the command line wins (options.parse_with_quick)."""
    return {
        "duration": 5,
        "warmup": 1,
        "latency_duration": 4,
        "sockets": min(p.get_default("sockets"), 5000),
        "pairs": 200,
        "recipients": 50,
        "delivery_rates": ["25"],
        "overload": min(p.get_default("overload"), 3),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    phases = args.only or ["send", "delivery", "memory"]
    raise_nofile(NOFILE)
    if shutil.which("wrk") is None and "send" in phases:
        console.print("[red]wrk is not installed[/red] (apt-get install wrk)")
        return 2
    started = time.time()
    results: dict[str, Any] = {
        "meta": {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "machine": machine_info(),
            "versions": versions(),
            "git": git_state(args.parley_src or REPO_DIR),
            "loadavg_start": loadavg(),
        },
        "phases": {},
    }
    with workspace(args.keep) as workdir:
        data_dir = workdir / "var"
        console.print(
            f"[bold]Parley benchmarks[/bold] — {results['meta']['machine']['summary']}; load average "
            f"{results['meta']['loadavg_start']}; work dir {workdir}"
        )
        parley_cli(data_dir, "db", "upgrade", parley_src=args.parley_src)

        # Users: [send senders | send recipients | delivery senders | delivery recipients | idle sockets]
        P, R = args.pairs, args.recipients
        n_memory = args.sockets if "memory" in phases else 0
        total_users = 2 * P + 2 * R + n_memory + 500  # +500: warm-up sockets of the memory phase
        send_pairs = [(i, P + i) for i in range(P)]
        delivery_pairs = [(2 * P + i, 2 * P + R + i) for i in range(R)]

        from seed import seed_users

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("creating users and conversations", total=total_users + P + R)
            t0 = time.monotonic()
            users = seed_users(
                data_dir,
                total_users,
                service_users=min(2 * P + 2 * R, total_users),
                conversations=send_pairs + delivery_pairs,
                progress=lambda n: progress.advance(task, n),
            )
            results["meta"]["seed_seconds"] = time.monotonic() - t0

        (workdir / "users.json").write_text(json.dumps([[u.phone, u.token] for u in users]))

        def baseline_token(phone: str) -> str:
            return phone.lstrip("+")

        pairs_by_target: dict[str, list[list[str]]] = {
            "parley": [[users[a].token, users[b].phone] for a, b in send_pairs],
            "raw": [[baseline_token(users[a].phone), users[b].phone] for a, b in send_pairs],
        }
        pairs_by_target["fastapi"] = pairs_by_target["raw"]
        delivery_by_target = {
            "parley": (
                [[users[a].token, users[b].phone] for a, b in delivery_pairs],
                [users[b].token for _, b in delivery_pairs],
            ),
            "raw": (
                [[baseline_token(users[a].phone), users[b].phone] for a, b in delivery_pairs],
                [baseline_token(users[b].phone) for _, b in delivery_pairs],
            ),
        }
        memory_users = users[2 * P + 2 * R :]
        tokens_by_target = {
            "parley": [u.token for u in memory_users],
            "raw": [baseline_token(u.phone) for u in memory_users],
        }
        tokens_by_target["fastapi"] = tokens_by_target["raw"]
        delivery_by_target["fastapi"] = delivery_by_target["raw"]

        logs = workdir / "logs"
        logs.mkdir()

        def parley_server() -> Server:
            return Server.parley(data_dir, logs, args.parley_src)

        http_targets: list[tuple[str, Callable[[], Server]]] = [("parley", parley_server)]
        ws_targets: list[tuple[str, Callable[[], Server]]] = [("parley", parley_server)]
        if not args.no_baselines:
            http_targets += [
                ("raw", lambda: Server.baseline("raw", logs)),
                ("fastapi", lambda: Server.baseline("fastapi", logs)),
            ]
            ws_targets += [
                ("raw", lambda: Server.baseline("raw", logs)),
                ("fastapi", lambda: Server.baseline("fastapi", logs)),
            ]
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress:
                if "send" in phases:
                    results["phases"]["send"] = phase_send(http_targets, pairs_by_target, args, workdir, progress)
                if "delivery" in phases:
                    results["phases"]["delivery"] = phase_delivery(
                        ws_targets, delivery_by_target, args, workdir, progress, results["phases"]
                    )
                if "memory" in phases:
                    results["phases"]["memory"] = phase_memory(ws_targets, tokens_by_target, args, workdir, progress)
        finally:
            results["meta"]["loadavg_end"] = loadavg()
            results["meta"]["total_seconds"] = time.time() - started
            results["durability"] = durability_check(data_dir, results)
            args.out.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            path = args.out / f"bench-{stamp}.json"
            path.write_text(json.dumps(results, indent=2))
            shutil.copyfile(path, args.out / "latest.json")
    console.print(report(results))
    d = results["durability"]
    console.print(
        f"durability: {d['acknowledged']:,} sends acknowledged by Parley, {d['rows']:,} message rows "
        f"in the database after shutdown ({'ok' if d['ok'] else 'MISSING ROWS'})"
    )
    console.print(f"total {results['meta']['total_seconds']:.0f} s; JSON: {path}")
    return 0


def durability_check(data_dir: Path, results: dict[str, Any]) -> dict[str, Any]:
    """Every send Parley acknowledged must be a row in the database once the server is gone."""
    acknowledged = 0
    send = results["phases"].get("send", {}).get("parley")
    if send:
        acknowledged += send["max"]["ok"] + sum(f["ok"] for f in send["fixed_rate"])
        acknowledged += (send.get("overload") or {}).get("ok", 0)
    for run in results["phases"].get("delivery", {}).get("parley", {}).get("runs", []):
        acknowledged += run["sends"]["ok"]
    rows = 0
    db = data_dir / "parley.db"
    if db.exists():
        with contextlib.closing(sqlite3.connect(db)) as conn:
            rows = conn.execute("SELECT count(*) FROM messages WHERE client_id NOT LIKE 'seed-%'").fetchone()[0]
    # wrk's warm-up sends are acknowledged too but not counted above: rows may exceed, never fall short.
    return {"acknowledged": acknowledged, "rows": rows, "ok": rows >= acknowledged}


if __name__ == "__main__":
    sys.exit(main())
