"""Scale-out: server CPU per person send with 1 and then 2 `parley serve` processes on one PostgreSQL + Redis.

    PYTHONPATH=$PWD/src .venv/bin/python bench/scale_out.py            # ~3 minutes
    PYTHONPATH=$PWD/src .venv/bin/python bench/scale_out.py --quick    # smoke run (~1 minute)
    PYTHONPATH=$PWD/src .venv/bin/python bench/scale_out.py --rate 200 --processes 1 2 3

Setup: a fresh PostgreSQL database (created from --pg-url's server, dropped at the end), migrated with
`parley db upgrade`, and a Redis database number that holds no key when the run starts (--redis-db, default:
the highest empty one below 15, which the test suite uses); users and one first message per sender ->
recipient pair seeded in-process through Parley's Container (seed.py), before any server starts.

For each process count N: N `parley serve` processes (their own data dirs, the same PARLEY_DATABASE_URL and
PARLEY_REDIS_URL, one port each), then open-loop `POST /client/v1/messages` at a fixed --rate, below
saturation (default: half of what one process reaches under wrk on this database, probed first), from 2
client processes (workers.py http) whose load is split evenly over the N ports. Each run has a warm-up at the
same rate first. Figures: answered sends/s, p50 / p99 from when each send was due, and
**server CPU per acknowledged send** = the sum of the N server processes' utime + stime (/proc, all threads)
over the measured run / 2xx answers. The goal is that this stays flat as processes are added: 2 processes
within 1.15x of 1. The same runs against baseline_app.py's raw ASGI app (1 and N processes) give the floor
and show what splitting the load over processes costs with nothing behind it.

This machine has few cores (2 here) shared by the clients, the servers, PostgreSQL and Redis: it cannot show
throughput scaling, only whether the work per send stays the same when processes are added (no cross-process
overhead per send: Redis fan-out, cache invalidation, connection pools, lock waits).

After the last run every acknowledged send must be a row in `messages`. JSON: bench/results/scale-out-*.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from options import parse_with_quick
from run import Worker, git_state, machine_info, run_wrk, versions, wait_workers, workspace
from servers import BENCH_DIR, NOFILE, REPO_DIR, Server, parley_cli
from stats import latency_summary, loadavg, machine_cpu_busy, raise_nofile

RESULTS_DIR = BENCH_DIR / "results"
GOAL_RATIO = 1.15  # server CPU per send with 2 processes over 1 process
CLIENT_PROCS = 2  # always 2 client processes, whatever N: the clients cost the same in every run

console = Console(width=None if sys.stdout.isatty() else 150)


# --- PostgreSQL and Redis -------------------------------------------------------------------------------


def _pg_fetchval(sqlalchemy_url: str, statement: str) -> Any:
    """One statement on its own asyncpg connection (CREATE/DROP DATABASE cannot run in a transaction)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def run() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(statement)
        finally:
            await conn.close()

    return asyncio.run(run())


class FreshDatabase:
    """A PostgreSQL database of this run's own: created at start, dropped at the end (even after a failure)."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy.engine import make_url

        self.name = f"parley_bench_{uuid.uuid4().hex[:10]}"
        base = make_url(admin_url)
        self.admin_url = base.set(database="postgres").render_as_string(hide_password=False)
        self.url = base.set(database=self.name).render_as_string(hide_password=False)

    def create(self) -> None:
        _pg_fetchval(self.admin_url, f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        with contextlib.suppress(Exception):  # best effort: a failed run must still report why it failed
            _pg_fetchval(self.admin_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def count(self, sql: str) -> int:
        return int(_pg_fetchval(self.url, sql))


def redis_keys(base_url: str, n: int) -> int:
    import redis

    client = redis.Redis.from_url(f"{base_url.rstrip('/')}/{n}")
    try:
        return int(client.dbsize())
    finally:
        client.close()


def free_redis_db(base_url: str) -> int:
    """The highest Redis database number below 15 (the test suite's) that holds no key right now."""
    for n in range(14, 0, -1):
        if redis_keys(base_url, n) == 0:
            return n
    raise RuntimeError("no empty Redis database between 1 and 14: pass --redis-db")


def flush_redis_db(base_url: str, n: int) -> None:
    """Empty the run's Redis database: only called when it was empty at start (what is there is this run's)."""
    import redis

    client = redis.Redis.from_url(f"{base_url.rstrip('/')}/{n}")
    try:
        client.flushdb()
    finally:
        client.close()


# --- one run: N processes at a fixed rate ------------------------------------------------------------


def open_loop_split(
    servers: list[Server],
    pairs: list[list[str]],
    rate: float,
    seconds: float,
    workdir: Path,
    progress: Progress,
    label: str,
) -> dict[str, Any]:
    """Open-loop sends at `rate` from CLIENT_PROCS processes, client k on server k % N: the load split evenly
    over the servers; server CPU summed over all of them for the load's window."""
    start_at = time.time() + 1.0
    nonce = uuid.uuid4().hex[:10]
    workers = [
        Worker(
            "http",
            {
                "host": "127.0.0.1",
                "port": servers[k % len(servers)].port,
                "rate": rate / CLIENT_PROCS,
                "duration": seconds,
                "pairs": pairs[k::CLIENT_PROCS],
                "nonce": f"{nonce}{k}",
                "max_conns": 128,
                "initial_conns": 8,
                "start_at": start_at,
                "drain_s": 10,
            },
            workdir,
        )
        for k in range(CLIENT_PROCS)
    ]
    task = progress.add_task(label, total=seconds)
    started: dict[str, Any] = {}

    def tick() -> None:
        if not started and time.time() >= start_at:
            started.update(t=time.monotonic(), cpu=[s.cpu() for s in servers], machine=machine_cpu_busy())
        progress.update(task, completed=min(seconds, max(0.0, time.time() - start_at)))

    try:
        results = wait_workers(workers, seconds + 40, tick)
    finally:
        progress.remove_task(task)
    cpu = [s.cpu() - c0 for s, c0 in zip(servers, started.get("cpu", [0.0] * len(servers)), strict=True)]
    busy, total = machine_cpu_busy()
    busy0, total0 = started.get("machine", (busy, total))
    wall = time.monotonic() - started.get("t", time.monotonic())
    statuses: dict[str, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    ok = sum(v for k, v in statuses.items() if k.startswith("2"))
    return {
        "processes": len(servers),
        "target_rate": rate,
        "seconds": seconds,
        "scheduled": sum(r["scheduled"] for r in results),
        "ok": ok,
        "statuses": statuses,
        "incomplete": sum(r["incomplete"] for r in results),
        "achieved_rate": ok / max(r["elapsed_seconds"] for r in results),
        "latency": latency_summary(us / 1000 for r in results for us in r["latencies_us"]),
        "server_cpu_seconds": cpu,
        "server_cpu_us_per_ok": sum(cpu) / max(1, ok) * 1e6,
        "server_cores": sum(cpu) / wall if wall > 0 else None,
        "wall_seconds": wall,
        "machine_busy_fraction": (busy - busy0) / max(1.0, total - total0),
        "generator_cpu_us_per_request": sum(r["cpu_seconds"] for r in results) / max(1, ok) * 1e6,
        "rss_bytes": [s.rss() for s in servers],
    }


def measure(
    name: str,
    make: Callable[[int], Server],
    n: int,
    pairs: list[list[str]],
    args: argparse.Namespace,
    workdir: Path,
    progress: Progress,
) -> dict[str, Any]:
    """Start n servers, warm them up at the run's rate, measure, stop them."""
    servers = [make(i) for i in range(n)]
    try:
        for s in servers:
            s.start()
        open_loop_split(servers, pairs, args.rate, args.warmup, workdir, progress, f"{name} x{n}: warm-up")
        for s in servers:
            s.quiesce()
        # Each process's CPU with no load (timers, sweeps, Redis subscriptions): at a low rate N processes pay
        # it N times, which is not a cost per send; reported beside the figure and subtracted in "net".
        cpu0, t0 = [s.cpu() for s in servers], time.monotonic()
        time.sleep(args.idle)
        idle_cores = sum(s.cpu() - c for s, c in zip(servers, cpu0, strict=True)) / (time.monotonic() - t0)
        run = open_loop_split(
            servers, pairs, args.rate, args.duration, workdir, progress, f"{name} x{n}: {args.rate:,.0f} sends/s"
        )
        net = sum(run["server_cpu_seconds"]) - idle_cores * run["wall_seconds"]
        return run | {"idle_cores": idle_cores, "server_cpu_us_per_ok_net": max(0.0, net) / max(1, run["ok"]) * 1e6}
    finally:
        for s in servers:
            s.stop()


# --- report -----------------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> Table:
    meta = results["meta"]
    args = meta["args"]
    table = Table(
        title=f"Scale-out on PostgreSQL + Redis — {meta['date']} — {meta['machine']['summary']} — person sends, "
        f"open loop at {args['rate']:,.0f}/s split over the processes"
    )
    columns = (
        "server",
        "processes",
        "answered",
        "p50 / p99 (from due)",
        "server CPU per send",
        "vs 1 process",
        "idle floor",
        "net of idle",
        "vs 1 process ",
    )
    for col in columns:
        table.add_column(col, justify="left" if col == "server" else "right")
    for name in ("parley", "raw"):
        runs = results.get(name) or []
        first = runs[0]["server_cpu_us_per_ok"] if runs else None
        first_net = runs[0].get("server_cpu_us_per_ok_net") if runs else None
        for r in runs:
            net = r.get("server_cpu_us_per_ok_net")
            late = f" (+{r['incomplete']:,} unanswered)" if r["incomplete"] else ""
            bad = {k: v for k, v in r["statuses"].items() if not k.startswith("2")}
            table.add_row(
                "Parley (parley serve)" if name == "parley" else "raw ASGI (baseline_app.py)",
                str(r["processes"]),
                f"{r['achieved_rate']:,.0f}/s{late}" + (f" errors {bad}" if bad else ""),
                f"{r['latency']['p50_ms'] or 0:,.1f} / {r['latency']['p99_ms'] or 0:,.1f} ms",
                f"{r['server_cpu_us_per_ok']:,.0f} µs",
                "" if r is runs[0] or not first else f"{r['server_cpu_us_per_ok'] / first:.2f}x",
                "–" if r.get("idle_cores") is None else f"{r['idle_cores']:,.3f} cores",
                "–" if net is None else f"{net:,.0f} µs",
                "" if r is runs[0] or not first_net or net is None else f"{net / first_net:.2f}x",
            )
    return table


def verdict_line(results: dict[str, Any]) -> str:
    runs = results.get("parley") or []
    by_n = {r["processes"]: r for r in runs}
    if 1 not in by_n or 2 not in by_n:
        return "no 1-process and 2-process pair of runs: no ratio"

    def judged(ratio: float) -> str:
        return f"{ratio:.2f}x " + ("[green]met[/green]" if ratio <= GOAL_RATIO else "[red]missed[/red]")

    line = (
        f"Parley's server CPU per send, 2 processes / 1 process (goal ≤ {GOAL_RATIO:.2f}x): "
        f"{judged(by_n[2]['server_cpu_us_per_ok'] / by_n[1]['server_cpu_us_per_ok'])}"
    )
    net1, net2 = by_n[1].get("server_cpu_us_per_ok_net"), by_n[2].get("server_cpu_us_per_ok_net")
    if net1 and net2 is not None:
        line += f"; net of each process's idle floor: {judged(net2 / net1)}"
    return line


# --- main ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--rate",
        type=rate_arg,
        default="auto",
        help="open-loop sends/s of every run, below saturation; 'auto': --rate-fraction of what one Parley process "
        "reaches under wrk (-c64, --probe s) on this database, measured first",
    )
    p.add_argument("--rate-fraction", type=float, default=0.5, help="share of the probed max that 'auto' runs at")
    p.add_argument("--probe", type=float, default=6, help="seconds of wrk on one process for --rate auto")
    p.add_argument("--duration", type=float, default=15, help="seconds of each measured run")
    p.add_argument("--warmup", type=float, default=3, help="seconds of warm-up at the same rate before each run")
    p.add_argument("--idle", type=float, default=3, help="seconds of each run's idle-CPU reading (no load)")
    p.add_argument("--users", type=int, default=400, help="senders (as many recipients; one pair each)")
    p.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="server process counts, in order")
    p.add_argument(
        "--pg-url",
        default=os.environ.get("PARLEY_TEST_DATABASE_URL") or "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server to create (and drop) the run's own database on",
    )
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379", help="the Redis server (no database number)")
    p.add_argument("--redis-db", type=int, default=None, help="Redis database number (default: a free one)")
    p.add_argument("--no-baselines", action="store_true", help="measure Parley only")
    p.add_argument("--parley-src", type=Path, help="serve Parley from this src/ directory (A/B of a change)")
    p.add_argument("--quick", action="store_true", help="small, short smoke run")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dirs and logs (the database goes)")
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help="where to write the JSON results")
    return p


def rate_arg(raw: str) -> float | str:
    if raw == "auto":
        return raw
    try:
        return float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of sends/s or 'auto', not {raw!r}") from None


def quick_defaults(_p: argparse.ArgumentParser) -> dict[str, Any]:
    """--quick's sizes: defaults only, an option given on the command line wins (options.parse_with_quick)."""
    return {"duration": 5, "warmup": 1, "users": 100, "probe": 3, "idle": 2}


def probe_max(
    make: Callable[[int], Server], pairs: list[list[str]], args: argparse.Namespace, workdir: Path, progress: Progress
) -> dict[str, Any]:
    """Max acknowledged sends/s of one process (wrk -c64, closed loop), after a short warm-up: --rate auto."""
    pairs_file = workdir / "pairs-probe.txt"
    pairs_file.write_text("".join(f"{t} {p}\n" for t, p in pairs))
    server = make(0)
    server.start()
    try:
        url = f"http://127.0.0.1:{server.port}"
        run_wrk(url, pairs_file, uuid.uuid4().hex[:8], 64, 2, progress, "parley x1: probe warm-up")
        server.quiesce()
        wrk = run_wrk(url, pairs_file, uuid.uuid4().hex[:8], 64, args.probe, progress, "parley x1: probe max (wrk)")
        server.quiesce()
        return {"ok_per_second": wrk["ok_per_second"], "ok": wrk["ok"], "seconds": args.probe}
    finally:
        server.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return parse_with_quick(build_parser(), argv, quick_defaults)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_nofile(NOFILE)
    started = time.time()
    redis_db = free_redis_db(args.redis_url) if args.redis_db is None else args.redis_db
    redis_was_empty = redis_keys(args.redis_url, redis_db) == 0  # never empty a database this run did not fill
    database = FreshDatabase(args.pg_url)
    redis_url = f"{args.redis_url.rstrip('/')}/{redis_db}"
    env = {"PARLEY_DATABASE_URL": database.url, "PARLEY_REDIS_URL": redis_url}
    results: dict[str, Any] = {
        "meta": {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "machine": machine_info(),
            "versions": versions(),
            "git": git_state(args.parley_src or REPO_DIR),
            "loadavg_start": loadavg(),
            "database": database.name,
            "redis": redis_url,
            "cores": os.cpu_count(),
        },
    }
    path = None
    with workspace(args.keep) as workdir:
        logs = workdir / "logs"
        logs.mkdir()
        console.print(
            f"[bold]Parley scale-out benchmark[/bold] — {results['meta']['machine']['summary']}; load average "
            f"{results['meta']['loadavg_start']}; database {database.name}, Redis {redis_url}; work dir {workdir}"
        )
        database.create()
        try:
            parley_cli(workdir / "seed", "db", "upgrade", parley_src=args.parley_src, env=env)
            pairs_idx = [(i, args.users + i) for i in range(args.users)]
            from seed import seed_users

            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task("creating users and conversations", total=3 * args.users)
                t0 = time.monotonic()
                users = seed_users(
                    workdir / "seed",
                    2 * args.users,
                    service_users=2 * args.users,
                    conversations=pairs_idx,
                    progress=lambda n: progress.advance(task, n),
                    database_url=database.url,
                )
                results["meta"]["seed_seconds"] = time.monotonic() - t0
            parley_pairs = [[users[a].token, users[b].phone] for a, b in pairs_idx]
            raw_pairs = [[users[a].phone.lstrip("+"), users[b].phone] for a, b in pairs_idx]

            def parley_server(i: int) -> Server:
                return Server.parley(workdir / f"var-{i}", logs, args.parley_src, env)

            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress:
                if args.rate == "auto":
                    probe = probe_max(parley_server, parley_pairs, args, workdir, progress)
                    results["probe"] = probe
                    args.rate = max(1.0, round(args.rate_fraction * probe["ok_per_second"]))
                    results["meta"]["args"]["rate"] = args.rate
                    console.print(
                        f"one process reached {probe['ok_per_second']:,.0f} sends/s under wrk: every run at "
                        f"{args.rate:,.0f}/s ({args.rate_fraction:.0%})"
                    )
                results["parley"] = [
                    measure("parley", parley_server, n, parley_pairs, args, workdir, progress) for n in args.processes
                ]
                if not args.no_baselines:
                    results["raw"] = [
                        measure("raw", lambda _i: Server.baseline("raw", logs), n, raw_pairs, args, workdir, progress)
                        for n in args.processes
                    ]
            acknowledged = sum(r["ok"] for r in results["parley"])
            rows = database.count("SELECT count(*) FROM messages WHERE client_id NOT LIKE 'seed-%'")
            # The warm-ups' sends are acknowledged too but not counted: rows may exceed, never fall short.
            results["durability"] = {"acknowledged": acknowledged, "rows": rows, "ok": rows >= acknowledged}
        finally:
            database.drop()
            results["meta"]["redis_keys_left"] = redis_keys(args.redis_url, redis_db)
            if redis_was_empty:
                flush_redis_db(args.redis_url, redis_db)
            results["meta"]["loadavg_end"] = loadavg()
            results["meta"]["total_seconds"] = time.time() - started
            args.out.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            path = args.out / f"scale-out-{stamp}.json"
            path.write_text(json.dumps(results, indent=1, default=str))
            shutil.copyfile(path, args.out / "scale-out-latest.json")
    console.print(report(results))
    console.print(verdict_line(results))
    console.print(
        f"This machine has {os.cpu_count()} cores shared by the clients, the servers, PostgreSQL and Redis: it cannot "
        "show throughput scaling, only whether the CPU per send stays flat as processes are added."
    )
    d = results["durability"]
    console.print(
        f"durability: {d['acknowledged']:,} sends acknowledged by Parley in the measured runs, {d['rows']:,} message "
        f"rows in PostgreSQL after the servers stopped ({'ok' if d['ok'] else 'MISSING ROWS'})"
    )
    console.print(f"total {results['meta']['total_seconds']:.0f} s; JSON: {path}")
    return 0 if d["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
