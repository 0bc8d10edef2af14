"""Scale-out: server CPU per person send with 1 and then 2 `parley serve` processes on one PostgreSQL + Redis.

    PYTHONPATH=$PWD/src .venv/bin/python bench/scale_out.py            # ~3 minutes
    PYTHONPATH=$PWD/src .venv/bin/python bench/scale_out.py --quick    # smoke run (~1 minute)
    PYTHONPATH=$PWD/src .venv/bin/python bench/scale_out.py --cloud    # plus Cloud API sends (webhooks off)
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

`--cloud` adds the same runs for Cloud API sends (`POST /v23.0/{phone_number_id}/messages`, workers.py
cloud-http, text and template sends to people in their service windows, seeded by cloud_api.seed on the same
database) with webhook delivery off (PARLEY_WEBHOOKS__DELIVER=false: the send path alone; the status events
still enter the outbox), probed and rated on their own (--cloud-rate).

After the last run every acknowledged send must be a row in `messages` (person sends) or an outbound
`business_messages` row (Cloud API sends). JSON: bench/results/scale-out-*.json.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cloud_api import BENCH_ENV, TEMPLATE, Business, Proc, build_entries
from cloud_api import run_wrk as cloud_wrk
from cloud_api import seed as cloud_seed
from options import parse_with_quick
from run import Worker, git_state, machine_info, run_wrk, versions, wait_workers, workspace
from servers import BENCH_DIR, NOFILE, REPO_DIR, Server, parley_cli
from stats import free_port, latency_summary, loadavg, machine_cpu_busy, raise_nofile

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


# --- what the clients send ------------------------------------------------------------------------------


@dataclass
class Load:
    """One kind of send: person sends (workers.py http, send.lua) or Cloud API sends (cloud-http, cloud_send.lua)."""

    kind: str  # "person" | "cloud"
    parley_items: list[list[str]]  # person: [token, to]; cloud: [token, phone_number_id, to, text|template]
    raw_items: list[list[str]]  # the same for the raw ASGI baseline (any token is accepted there)
    server_env: dict[str, str]  # on top of the database and Redis URLs

    @property
    def label(self) -> str:
        return "person sends" if self.kind == "person" else "Cloud API sends (webhooks off)"

    def worker(
        self,
        items: list[list[str]],
        k: int,
        port: int,
        rate: float,
        seconds: float,
        start_at: float,
        nonce: str,
        workdir: Path,
    ) -> Worker:
        cfg: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": port,
            "rate": rate / CLIENT_PROCS,
            "duration": seconds,
            "max_conns": 128,
            "initial_conns": 8,
            "start_at": start_at,
            "drain_s": 10,
        }
        if self.kind == "person":
            return Worker("http", cfg | {"pairs": items[k::CLIENT_PROCS], "nonce": f"{nonce}{k}"}, workdir)
        entries = items[k::CLIENT_PROCS]
        return Worker("cloud-http", cfg | {"entries": entries, "offset": k * 7, "template": TEMPLATE}, workdir)

    def wrk(self, url: str, workdir: Path, seconds: float, progress: Progress, label: str) -> dict[str, Any]:
        path = workdir / f"wrk-{self.kind}.txt"
        path.write_text("".join(" ".join(e) + "\n" for e in self.parley_items))
        if self.kind == "person":
            return run_wrk(url, path, uuid.uuid4().hex[:8], 64, seconds, progress, label)
        return cloud_wrk(url, path, 64, seconds, progress, label)


# --- one run: N processes at a fixed rate ------------------------------------------------------------


def open_loop_split(
    load: Load,
    items: list[list[str]],
    servers: list[Server],
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
        load.worker(items, k, servers[k % len(servers)].port, rate, seconds, start_at, nonce, workdir)
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
    load: Load,
    name: str,
    make: Callable[[int], Server],
    n: int,
    rate: float,
    args: argparse.Namespace,
    workdir: Path,
    progress: Progress,
) -> dict[str, Any]:
    """Start n servers, warm them up at the run's rate, read their idle CPU, measure, stop them."""
    items = load.parley_items if name == "parley" else load.raw_items
    servers = [make(i) for i in range(n)]
    try:
        for s in servers:
            s.start()
        open_loop_split(load, items, servers, rate, args.warmup, workdir, progress, f"{name} x{n}: warm-up")
        for s in servers:
            s.quiesce()
        # Each process's CPU with no load (timers, sweeps, Redis subscriptions): at a low rate N processes pay
        # it N times, which is not a cost per send; reported beside the figure and subtracted in "net".
        cpu0, t0 = [s.cpu() for s in servers], time.monotonic()
        time.sleep(args.idle)
        idle_cores = sum(s.cpu() - c for s, c in zip(servers, cpu0, strict=True)) / (time.monotonic() - t0)
        label = f"{name} x{n}: {rate:,.0f} {load.label}/s"
        run = open_loop_split(load, items, servers, rate, args.duration, workdir, progress, label)
        net = sum(run["server_cpu_seconds"]) - idle_cores * run["wall_seconds"]
        return run | {"idle_cores": idle_cores, "server_cpu_us_per_ok_net": max(0.0, net) / max(1, run["ok"]) * 1e6}
    finally:
        for s in servers:
            s.stop()


def probe_max(
    load: Load, make: Callable[[int], Server], args: argparse.Namespace, workdir: Path, progress: Progress
) -> dict[str, Any]:
    """Max acknowledged sends/s of one process (wrk -c64, closed loop), after a short warm-up: --rate auto."""
    server = make(0)
    server.start()
    try:
        url = f"http://127.0.0.1:{server.port}"
        load.wrk(url, workdir, 2, progress, f"parley x1: {load.label}, probe warm-up")
        server.quiesce()
        wrk = load.wrk(url, workdir, args.probe, progress, f"parley x1: {load.label}, probe max (wrk)")
        server.quiesce()
        return {"ok_per_second": wrk["ok_per_second"], "ok": wrk["ok"], "seconds": args.probe}
    finally:
        server.stop()


def run_load(
    load: Load,
    rate_option: float | str,
    parley_server: Callable[[Load, int], Server],
    raw_server: Callable[[int], Server],
    args: argparse.Namespace,
    workdir: Path,
    progress: Progress,
) -> dict[str, Any]:
    """Probe (for 'auto'), then Parley and raw ASGI at 1, 2, ... processes: one load's results."""
    out: dict[str, Any] = {"label": load.label}
    if rate_option == "auto":
        out["probe"] = probe_max(load, lambda i: parley_server(load, i), args, workdir, progress)
        rate = float(max(1, round(args.rate_fraction * out["probe"]["ok_per_second"])))
        console.print(
            f"{load.label}: one process reached {out['probe']['ok_per_second']:,.0f}/s under wrk: every run at "
            f"{rate:,.0f}/s ({args.rate_fraction:.0%})"
        )
    else:
        rate = float(rate_option)
    out["rate"] = rate
    out["parley"] = [
        measure(load, "parley", lambda i: parley_server(load, i), n, rate, args, workdir, progress)
        for n in args.processes
    ]
    if not args.no_baselines:
        out["raw"] = [measure(load, "raw", raw_server, n, rate, args, workdir, progress) for n in args.processes]
    return out


# --- report -----------------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> Table:
    meta = results["meta"]
    table = Table(
        title=f"Scale-out on PostgreSQL + Redis — {meta['date']} — {meta['machine']['summary']} — open loop at a "
        "fixed rate split over the processes"
    )
    columns = (
        "load",
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
        table.add_column(col, justify="left" if col in ("load", "server") else "right")
    for load in results.get("loads", {}).values():
        for name in ("parley", "raw"):
            runs = load.get(name) or []
            first = runs[0]["server_cpu_us_per_ok"] if runs else None
            first_net = runs[0].get("server_cpu_us_per_ok_net") if runs else None
            for r in runs:
                net = r.get("server_cpu_us_per_ok_net")
                late = f" (+{r['incomplete']:,} unanswered)" if r["incomplete"] else ""
                bad = {k: v for k, v in r["statuses"].items() if not k.startswith("2")}
                table.add_row(
                    f"{load['label']} at {load['rate']:,.0f}/s",
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


def verdict_lines(results: dict[str, Any]) -> list[str]:
    lines = []
    for load in results.get("loads", {}).values():
        by_n = {r["processes"]: r for r in load.get("parley") or []}
        if 1 not in by_n or 2 not in by_n:
            lines.append(f"{load['label']}: no 1-process and 2-process pair of runs, no ratio")
            continue

        def judged(ratio: float) -> str:
            return f"{ratio:.2f}x " + ("[green]met[/green]" if ratio <= GOAL_RATIO else "[red]missed[/red]")

        line = (
            f"{load['label']}: Parley's server CPU per send, 2 processes / 1 process (goal ≤ {GOAL_RATIO:.2f}x): "
            f"{judged(by_n[2]['server_cpu_us_per_ok'] / by_n[1]['server_cpu_us_per_ok'])}"
        )
        net1, net2 = by_n[1].get("server_cpu_us_per_ok_net"), by_n[2].get("server_cpu_us_per_ok_net")
        if net1 and net2 is not None:
            line += f"; net of each process's idle floor: {judged(net2 / net1)}"
        lines.append(line)
    return lines


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
    p.add_argument(
        "--cloud",
        action="store_true",
        help="also Cloud API sends (webhooks off: the send path alone), after the person sends",
    )
    p.add_argument("--cloud-rate", type=rate_arg, default="auto", help="as --rate, for the Cloud API sends")
    p.add_argument("--businesses", type=int, default=5, help="--cloud: businesses (one number, one template each)")
    p.add_argument("--people", type=int, default=200, help="--cloud: people the businesses write to")
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
    return {"duration": 5, "warmup": 1, "users": 100, "probe": 3, "idle": 2, "people": 50}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return parse_with_quick(build_parser(), argv, quick_defaults)


def seed_cloud(
    args: argparse.Namespace, workdir: Path, database: FreshDatabase, hook_base: str, contacts: int
) -> tuple[list[list[str]], list[list[str]]]:
    """Businesses with an approved template and people in their service windows (cloud_api.seed, on PostgreSQL):
    the Cloud API load's entries for Parley and for the raw baseline."""
    sizes = argparse.Namespace(
        businesses=args.businesses, people=args.people, contacts=contacts, template_category="UTILITY", backlog=0
    )
    businesses, people, _facts = cloud_seed(workdir / "seed", sizes, hook_base, database_url=database.url)
    approved = database.count("SELECT count(*) FROM message_templates WHERE status = 'APPROVED'")
    if approved != len(businesses):
        raise RuntimeError(f"{approved} of {len(businesses)} templates approved after the review")
    fake = [Business(b.index, 0, b.phone_number_id, 0, f"biz{b.index}", b.phone) for b in businesses]
    return build_entries(businesses, people, contacts), build_entries(fake, people, contacts)


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
        "loads": {},
    }
    path = None
    receiver: Proc | None = None
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
            loads: list[Load] = []
            if args.cloud:
                # The businesses' webhook URL must answer its verification; deliveries stay off in the runs.
                hook_port = free_port()
                receiver = Proc("webhook_receiver.py", "serve", {"port": hook_port, "hold_max_s": 3600}, workdir)
                receiver.wait_ready(30, "the webhook receiver")
                hook_base = f"http://127.0.0.1:{hook_port}"
                parley_entries, raw_entries = seed_cloud(args, workdir, database, hook_base, contacts=2)
                cloud_env = BENCH_ENV | {"PARLEY_WEBHOOKS__DELIVER": "false"}
                loads.append(Load("cloud", parley_entries, raw_entries, cloud_env))
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
                    phone_offset=1_000_000,  # above cloud_api's people (the same +1415 2xx xxxx numbers)
                )
                results["meta"]["seed_seconds"] = time.monotonic() - t0
            person = Load(
                "person",
                [[users[a].token, users[b].phone] for a, b in pairs_idx],
                [[users[a].phone.lstrip("+"), users[b].phone] for a, b in pairs_idx],
                {},
            )
            loads.insert(0, person)

            def parley_server(load: Load, i: int) -> Server:
                return Server.parley(workdir / f"var-{i}", logs, args.parley_src, env | load.server_env)

            def raw_server(_i: int) -> Server:
                return Server.baseline("raw", logs)

            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress:
                for load in loads:
                    rate = args.rate if load.kind == "person" else args.cloud_rate
                    results["loads"][load.kind] = run_load(
                        load, rate, parley_server, raw_server, args, workdir, progress
                    )
            results["durability"] = durability(results, database)
        finally:
            if receiver is not None:
                receiver.kill()
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
    for line in verdict_lines(results):
        console.print(line)
    console.print(
        f"This machine has {os.cpu_count()} cores shared by the clients, the servers, PostgreSQL and Redis: it cannot "
        "show throughput scaling, only whether the CPU per send stays flat as processes are added."
    )
    ok = True
    for kind, d in results["durability"].items():
        ok = ok and d["ok"]
        console.print(
            f"durability ({kind}): {d['acknowledged']:,} sends acknowledged by Parley in the measured runs, "
            f"{d['rows']:,} {d['table']} rows in PostgreSQL after the servers stopped "
            f"({'ok' if d['ok'] else 'MISSING ROWS'})"
        )
    console.print(f"total {results['meta']['total_seconds']:.0f} s; JSON: {path}")
    return 0 if ok else 1


def durability(results: dict[str, Any], database: FreshDatabase) -> dict[str, dict[str, Any]]:
    """Every acknowledged send is a row once the servers are gone (the warm-ups' and probes' sends are
    acknowledged too but not counted: rows may exceed, never fall short)."""
    queries = {
        "person": ("messages", "SELECT count(*) FROM messages WHERE client_id NOT LIKE 'seed-%'"),
        "cloud": ("outbound business_messages", "SELECT count(*) FROM business_messages WHERE direction = 'out'"),
    }
    out = {}
    for kind, load in results["loads"].items():
        table, sql = queries[kind]
        acknowledged = sum(r["ok"] for r in load["parley"])
        rows = database.count(sql)
        out[kind] = {"table": table, "acknowledged": acknowledged, "rows": rows, "ok": rows >= acknowledged}
    return out


if __name__ == "__main__":
    sys.exit(main())
