"""Channel fan-out (issue 15): one post to a channel of 100,000 followers, 5,000 of them online, each with a real
WebSocket stream on a real `parley serve`: the time until every online follower has it, and the rows written.

    PYTHONPATH=$PWD/src .venv/bin/python bench/channels.py            # ~2 minutes on 2 cores
    PYTHONPATH=$PWD/src .venv/bin/python bench/channels.py --quick    # smoke run (10,000 followers, 1,000 online)

Setup (in-process through Parley's Container on a fresh SQLite data dir, before the server starts): --followers
users with a device token each (seed.py's batched inserts), one channel, and its follows as ONE bulk
`INSERT ... SELECT` (no row per post ever comes from them); a group of --group-size of the online followers for
the baseline. Then `parley serve`, and --procs client processes (this file with --worker) opening --online
streams between them (the first --online followers), each an authenticated `WS /client/v1/stream`.

Measured, in one run:
1. --posts channel posts (POST /client/v1/channels/{id}/posts by the owner, --spacing s apart, each waiting
   until every online stream has it): per delivery, the time from the POST's answer (and from its start) to
   the arrival at the client; p50 / p99 / max over all deliveries, and per post the time to the last stream;
2. rows written per post: every table's row count before and after the posts, / --posts;
3. baselines on the same sockets: a 1:1 message to one online follower (the transport's floor: one recipient),
   and a group message to --group-size online members (the per-recipient design: an inbox row each), with
   their delivery times and rows per message.
Client and server share the machine's cores; arrival times are taken with time.time_ns() in each process.
JSON: bench/results/channels-*.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from options import parse_with_quick
from proto import WsConnection
from seed import BenchUser, seed_users
from servers import BENCH_DIR, Server, parley_cli
from stats import latency_summary, raise_nofile, run_async

console = Console(width=150)


# --- the client processes ---------------------------------------------------------------------------------------


async def worker(cfg: dict[str, Any]) -> dict[str, Any]:
    """Hold streams; count arrivals per marker (a post's text, a message's body); say `DONE marker` on stdout when
    as many arrived as the main process said to expect (stdin: `EXPECT marker n`, `QUIT`)."""
    loop = asyncio.get_running_loop()
    host, port, tokens = cfg["host"], cfg["port"], cfg["tokens"]
    arrivals: dict[str, list[int]] = {}
    expected: dict[str, int] = {}
    conns: list[WsConnection] = []
    events: Counter[str] = Counter()

    def check(marker: str) -> None:
        want = expected.get(marker)
        if want is not None and len(arrivals.get(marker, ())) >= want:
            del expected[marker]
            sys.stdout.write(f"DONE {marker}\n")
            sys.stdout.flush()

    def on_text(conn: WsConnection, payload: bytes) -> None:
        now = time.time_ns()
        event = orjson.loads(payload)
        kind = event.get("type")
        events[str(kind)] += 1
        if kind == "channel_post":
            marker = str(event["post"].get("text") or "")
        elif kind == "message":
            marker = str(((event.get("message") or {}).get("text") or {}).get("body", ""))
            conn.send_text(f'{{"type":"ack","id":{int(event["id"])}}}')
        else:
            return
        arrivals.setdefault(marker, []).append(now)
        check(marker)

    async def connect(token: str) -> None:
        upgraded = loop.create_future()
        _, conn = await loop.create_connection(
            lambda: WsConnection(
                f"{host}:{port}",
                f"/client/v1/stream?token={token}",
                on_open=lambda c: upgraded.done() or upgraded.set_result(True),
                on_text=on_text,
                on_close=lambda c, s: upgraded.done() or upgraded.set_result(False),
            ),
            host,
            port,
        )
        if await asyncio.wait_for(upgraded, 60):
            conns.append(conn)

    for start in range(0, len(tokens), 250):  # in waves: the server's accept backlog is finite
        await asyncio.gather(*(connect(t) for t in tokens[start : start + 250]))
        sys.stdout.write(f"CONNECTED {len(conns)}\n")
        sys.stdout.flush()
    sys.stdout.write(f"READY {len(conns)}\n")
    sys.stdout.flush()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await asyncio.wait_for(reader.readline(), 600)).decode().split()
        if not line or line[0] == "QUIT":
            break
        if line[0] == "EXPECT":
            expected[line[1]] = int(line[2])
            check(line[1])
    for conn in conns:
        conn.close()
    return {"connected": len(conns), "events": dict(events), "arrivals": arrivals}


def worker_main(config_path: str) -> None:
    cfg = json.loads(Path(config_path).read_text())
    raise_nofile(65536)
    result = run_async(worker(cfg))
    result_path = Path(config_path).with_suffix(".result.json")
    result_path.write_text(json.dumps(result))
    sys.stdout.write(f"RESULT {result_path}\n")
    sys.stdout.flush()


class Worker:
    """One client process, driven over its stdin/stdout lines."""

    def __init__(self, proc: asyncio.subprocess.Process, sockets: int) -> None:
        self.proc, self.sockets = proc, sockets
        self.connected = 0
        self.ready = asyncio.get_running_loop().create_future()
        self.done: dict[str, asyncio.Future[None]] = {}
        self.result_path: str | None = None
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            kind, _, rest = raw.decode().strip().partition(" ")
            if kind == "CONNECTED":
                self.connected = int(rest)
            elif kind == "READY":
                self.connected = int(rest)
                self.ready.set_result(None)
            elif kind == "DONE" and rest in self.done:
                self.done[rest].set_result(None)
            elif kind == "RESULT":
                self.result_path = rest

    async def expect(self, marker: str, count: int) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        if count == 0:
            future.set_result(None)
            return future
        self.done[marker] = future
        await self.tell(f"EXPECT {marker} {count}")
        return future

    async def tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{line}\n".encode())
        await self.proc.stdin.drain()

    async def finish(self) -> dict[str, Any]:
        await self.tell("QUIT")
        await asyncio.wait_for(self.proc.wait(), 60)
        await self.reader
        assert self.result_path is not None, "the worker wrote no result"
        return dict(json.loads(Path(self.result_path).read_text()))


# --- setup ----------------------------------------------------------------------------------------------------


def seed_channel(data_dir: Path, users: list[BenchUser], group_phones: list[str]) -> dict[str, Any]:
    """The channel (owner: users[0]), every other user but the baseline sender (users[1]) following it, in one
    statement; the baseline group (users[1] and `group_phones`)."""
    from sqlalchemy import Connection, text

    from parley.channels.schemas import ChannelIn
    from parley.config import Settings
    from parley.container import build_container

    async def run() -> dict[str, Any]:
        container = build_container(Settings(data_dir=data_dir, secret_key="bench-secret"))
        await container.start()
        try:
            owner = await container.accounts.find_by_phone(users[0].phone)
            sender = await container.accounts.find_by_phone(users[1].phone)
            channel = await container.channels.create(
                owner.id, ChannelIn(name="Bench News", category="news", country="US", description="fan-out")
            )
            cid, now = int(channel["id"]), container.clock.now_ms()

            def follow_all(conn: Connection) -> int:
                conn.execute(
                    text(
                        "INSERT INTO channel_follows (channel_id, user_id, muted, read_seq, followed_at) "
                        "SELECT :cid, id, false, 0, :now FROM users WHERE id NOT IN (:owner, :sender)"
                    ),
                    {"cid": cid, "now": now, "owner": owner.id, "sender": sender.id},
                )
                count = conn.execute(
                    text("SELECT count(*) FROM channel_follows WHERE channel_id = :cid"), {"cid": cid}
                ).scalar_one()
                conn.execute(text("UPDATE channels SET follower_count = :n WHERE id = :cid"), {"n": count, "cid": cid})
                return int(count)

            followers = await container.db.write("bench.follow_all", follow_all)
            group = await container.messaging.create_group(sender.id, "Bench group", group_phones)
            return {"channel_id": str(cid), "followers": followers, "group_id": str(group["id"])}
        finally:
            await container.close()

    return asyncio.run(run())


def row_counts(db_path: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: int(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables}


def rows_written(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {t: after.get(t, 0) - before.get(t, 0) for t in sorted(after) if after.get(t, 0) != before.get(t, 0)}


# --- the run --------------------------------------------------------------------------------------------------


async def deliver(
    workers: list[Worker],
    client: Any,
    marker: str,
    expected: list[int],
    request: tuple[str, str, dict[str, Any]],
    token: str,
    timeout: float,
) -> dict[str, Any]:
    """Send one request; wait until each worker got `marker` as often as expected. Times in ns (time.time_ns)."""
    waits = [await w.expect(marker, n) for w, n in zip(workers, expected, strict=True)]
    method, path, body = request
    started = time.time_ns()
    response = await client.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
    answered = time.time_ns()
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:300]}")
    try:
        await asyncio.wait_for(asyncio.gather(*waits), timeout)
        complete = True
    except TimeoutError:
        complete = False
    return {"marker": marker, "started": started, "answered": answered, "complete": complete}


async def measure(
    args: argparse.Namespace, server: Server, users: list[BenchUser], seeded: dict[str, Any], run_dir: Path
) -> dict[str, Any]:
    import httpx

    online = users[2 : 2 + args.online]
    per_proc = -(-len(online) // args.procs)
    workers: list[Worker] = []
    for i in range(args.procs):
        tokens = [u.token for u in online[i * per_proc : (i + 1) * per_proc]]
        config = run_dir / f"worker-{i}.json"
        config.write_text(json.dumps({"host": "127.0.0.1", "port": server.port, "tokens": tokens}))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--worker", str(config),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        workers.append(Worker(proc, len(tokens)))
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("streams open", total=len(online))
        while not all(w.ready.done() for w in workers):
            progress.update(task, completed=sum(w.connected for w in workers))
            await asyncio.sleep(0.2)
        progress.update(task, completed=sum(w.connected for w in workers))
    connected = [w.connected for w in workers]
    if sum(connected) != len(online):
        raise RuntimeError(f"only {sum(connected)} of {len(online)} streams opened")
    owner_token, sender_token = users[0].token, users[1].token
    cid = seeded["channel_id"]
    group_members = {u.token for u in users[2 : 2 + args.group_size]}
    group_expected = [
        sum(1 for u in online[i * per_proc : (i + 1) * per_proc] if u.token in group_members) for i in range(args.procs)
    ]
    db_path = Path(args.data_dir) / "parley.db"
    post_path = f"/client/v1/channels/{cid}/posts"
    results: dict[str, Any] = {"posts": [], "direct": [], "group": []}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
        # Warm-up: every stream's live index is loaded (a post reaches all of them) before anything counts.
        for attempt in range(10):
            warm = await deliver(
                workers, client, f"warm{attempt}", connected,
                ("POST", post_path, {"type": "text", "text": f"warm{attempt}"}), owner_token, 5,
            )  # fmt: skip
            if warm["complete"]:
                break
        else:
            raise RuntimeError("the warm-up post never reached every online follower")
        server.quiesce()
        before = row_counts(db_path)
        cpu = {"posts": -server.cpu()}
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("channel posts", total=args.posts)
            for i in range(args.posts):
                results["posts"].append(
                    await deliver(
                        workers,
                        client,
                        f"p{i}",
                        connected,
                        ("POST", post_path, {"type": "text", "text": f"p{i}", "client_id": f"bench-{i}"}),
                        owner_token,
                        30,
                    )
                )
                progress.advance(task)
                await asyncio.sleep(args.spacing)
        server.quiesce()
        cpu["posts"] += server.cpu()
        after_posts = row_counts(db_path)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("baselines (1:1, group)", total=2 * args.baseline_messages)
            for i in range(args.baseline_messages):
                recipient = i % len(online)
                expected = [1 if recipient // per_proc == k else 0 for k in range(args.procs)]
                body = {"to": online[recipient].phone, "type": "text", "text": {"body": f"d{i}"}, "client_id": f"d{i}"}
                results["direct"].append(
                    await deliver(
                        workers, client, f"d{i}", expected, ("POST", "/client/v1/messages", body), sender_token, 30
                    )
                )
                progress.advance(task)
                await asyncio.sleep(args.spacing)
            after_direct = row_counts(db_path)
            server.quiesce()
            cpu["group"] = -server.cpu()
            for i in range(args.baseline_messages):
                body = {"group_id": seeded["group_id"], "type": "text", "text": {"body": f"g{i}"}, "client_id": f"g{i}"}
                results["group"].append(
                    await deliver(
                        workers,
                        client,
                        f"g{i}",
                        group_expected,
                        ("POST", "/client/v1/messages", body),
                        sender_token,
                        30,
                    )
                )
                progress.advance(task)
                await asyncio.sleep(args.spacing)
            server.quiesce()
            cpu["group"] += server.cpu()
            after_group = row_counts(db_path)
    outputs = [await w.finish() for w in workers]
    arrivals: dict[str, list[int]] = {}
    for out in outputs:
        for marker, times in out["arrivals"].items():
            arrivals.setdefault(marker, []).extend(times)
    return {
        "connected": sum(connected),
        "results": results,
        "arrivals": arrivals,
        "server_cpu_s": cpu,
        "rows": {
            "posts": rows_written(before, after_posts),
            "direct": rows_written(after_posts, after_direct),
            "group": rows_written(after_direct, after_group),
        },
    }


def summarize(kind: str, sends: list[dict[str, Any]], arrivals: dict[str, list[int]]) -> dict[str, Any]:
    from_answer: list[float] = []
    from_start: list[float] = []
    last: list[float] = []
    for send in sends:
        times = arrivals.get(send["marker"], [])
        from_answer += [(t - send["answered"]) / 1e6 for t in times]
        from_start += [(t - send["started"]) / 1e6 for t in times]
        if times:
            last.append((max(times) - send["started"]) / 1e6)
    return {
        "kind": kind,
        "sends": len(sends),
        "complete": sum(1 for s in sends if s["complete"]),
        "deliveries": len(from_answer),
        "after_answer_ms": latency_summary(from_answer),
        "after_start_ms": latency_summary(from_start),
        "last_delivery_after_start_ms": latency_summary(last),
        "answer_ms": latency_summary([(s["answered"] - s["started"]) / 1e6 for s in sends]),
    }


def _ms(value: float | int | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def report(args: argparse.Namespace, measured: dict[str, Any], seeded: dict[str, Any]) -> dict[str, Any]:
    arrivals = measured["arrivals"]
    res = measured["results"]
    figures = {
        "posts": summarize("channel post", res["posts"], arrivals),
        "direct": summarize("1:1 message", res["direct"], arrivals),
        "group": summarize(f"group message ({args.group_size} online)", res["group"], arrivals),
    }
    per_send = {
        "posts": {t: n / max(1, args.posts) for t, n in measured["rows"]["posts"].items()},
        "direct": {t: n / max(1, args.baseline_messages) for t, n in measured["rows"]["direct"].items()},
        "group": {t: n / max(1, args.baseline_messages) for t, n in measured["rows"]["group"].items()},
    }
    table = Table(title=f"Channel fan-out: {seeded['followers']:,} followers, {measured['connected']:,} online")
    for column in (
        "send",
        "deliveries",
        "p50 ms",
        "p99 ms",
        "max ms",
        "last (p50/max) ms",
        "answer p50 ms",
        "rows per send",
    ):
        table.add_column(column, justify="right")
    for key, fig in figures.items():
        a, last, answer = fig["after_answer_ms"], fig["last_delivery_after_start_ms"], fig["answer_ms"]
        rows = ", ".join(f"{t} {n:g}" for t, n in per_send[key].items()) or "0"
        table.add_row(
            fig["kind"],
            f"{fig['deliveries']:,}",
            _ms(a["p50_ms"]),
            _ms(a["p99_ms"]),
            _ms(a["max_ms"]),
            f"{_ms(last['p50_ms'])} / {_ms(last['max_ms'])}",
            _ms(answer["p50_ms"]),
            rows,
        )
    console.print(table)
    cpu = measured["server_cpu_s"]
    per_post = cpu["posts"] / max(1, args.posts)
    per_group = cpu["group"] / max(1, args.baseline_messages)
    per_follower_us = per_post / max(1, measured["connected"]) * 1e6
    console.print(
        f"Server CPU: {per_post * 1000:.0f} ms per channel post ({per_follower_us:.0f} µs per online follower); "
        f"{per_group * 1000:.0f} ms per group message "
        f"({per_group / max(1, args.group_size) * 1e6:.0f} µs per member)"
    )
    console.print(
        "Latency: from the POST's answer to each stream's arrival; 'last': from the POST's start to the last stream."
    )
    return {
        "figures": figures,
        "rows_per_send": per_send,
        "rows_written": measured["rows"],
        "server_cpu_s": cpu,
        "server_cpu_per_post_ms": round(per_post * 1000, 1),
        "server_cpu_per_group_message_ms": round(per_group * 1000, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--followers", type=int, default=100_000)
    parser.add_argument("--online", type=int, default=5_000)
    parser.add_argument("--procs", type=int, default=4, help="client processes holding the streams")
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--spacing", type=float, default=0.5, help="seconds between posts")
    parser.add_argument("--baseline-messages", type=int, default=10)
    parser.add_argument("--group-size", type=int, default=1000, help="online members of the baseline group")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    parser.add_argument("--data-dir", default="")
    args = parse_with_quick(
        parser,
        argv,
        lambda p: {
            "followers": 10_000,
            "online": 1_000,
            "posts": 5,
            "baseline_messages": 3,
            "group_size": 200,
            "procs": 2,
        },
    )
    args.group_size = min(args.group_size, args.online, 1023)
    started = time.monotonic()
    run_dir = Path(tempfile.mkdtemp(prefix="parley-bench-channels-"))
    data_dir = Path(args.data_dir) if args.data_dir else run_dir / "data"
    args.data_dir = str(data_dir)
    server: Server | None = None
    try:
        parley_cli(data_dir, "db", "upgrade")
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("seed users", total=args.followers + 2)
            users = seed_users(
                data_dir, args.followers + 2, service_users=2, progress=lambda n: progress.advance(task, n)
            )
        seed_started = time.monotonic()
        seeded = seed_channel(data_dir, users, [u.phone for u in users[2 : 2 + args.group_size]])
        console.print(
            f"channel {seeded['channel_id']}: {seeded['followers']:,} follows in one statement "
            f"({time.monotonic() - seed_started:.1f} s with the group)"
        )
        server = Server.parley(data_dir, run_dir)
        server.start()
        measured = run_async(measure(args, server, users, seeded, run_dir))
        summary = report(args, measured, seeded)
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    out = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "args": {k: v for k, v in vars(args).items() if k != "data_dir"},
        "followers": seeded["followers"],
        "online": measured["connected"],
        "duration_s": round(time.monotonic() - started, 1),
        **summary,
    }
    results = BENCH_DIR / "results"
    results.mkdir(exist_ok=True)
    path = results / f"channels-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(out, indent=2))
    console.print(f"{out['duration_s']} s in all; JSON: {path}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2])
    else:
        main()
