"""Cloud API load (issue 3): businesses sending through `POST /v23.0/{phone_number_id}/messages`, every message
producing its status webhooks (sent, delivered, read) to a receiver on loopback and a live push to the person.

    .venv/bin/python bench/cloud_api.py                 # everything, bounded defaults (~5-6 minutes on 2 cores)
    .venv/bin/python bench/cloud_api.py --quick         # smoke run (~2-3 minutes, small numbers)
    .venv/bin/python bench/cloud_api.py --profile 10    # plus py-spy on the server in two extra runs
    .venv/bin/python bench/cloud_api.py --help

    .venv/bin/python bench/cloud_api.py --template-category MARKETING   # templates charged (billing's path)
    .venv/bin/python bench/billing_overhead.py           # billing off vs on, interleaved, same seed

Setup (before the server starts, in-process through Parley's Container, on a fresh SQLite data dir):
N businesses (`BusinessService.create_business`, webhook URL = the receiver + `/hook/{n}`, a wallet with a
trial credit no run spends), each with one template approved by the template review, UTILITY by default (free
inside the service window, where every send is) or MARKETING (`--template-category`: reserved at send,
charged at delivery); M people with device tokens; each person writes once to
each of the `--contacts` businesses that will message them (their 24 h service windows are open, so text
is allowed too); optionally a pre-filled outbox (`--backlog` status updates through `webhooks.enqueue`)
that the server drains at start: the delivery engine's throughput with nothing else to do. Per-number
throughput, the pair rate and the messaging limit are raised through settings so that they are not what is
measured (BENCH_ENV below).

Processes: `parley serve` (the server under test), webhook_receiver.py (answers 200 at once, records every
update), workers.py ws-person (the first K people on `WS /client/v1/stream`, acking every event and marking a
fraction read), wrk or workers.py cloud-http (the load). All times are CLOCK_MONOTONIC, one clock for every
process on the machine, so records from different processes are joined on wamid / message id:

* send latency: answer - when the request was due (open loop, no coordinated omission);
* push latency: the person's WebSocket event - when the send was due;
* webhook latency: arrival at the receiver - the moment the reported fact happened as its client saw it:
  `sent` - the send's 200 answer (the event commits with the message, just before that answer);
  `delivered` - the person's ack leaving the WebSocket client; `read` - the read request leaving the client.

After the server stops, the ledger is checked from the SQLite file (billing_consistency: one posting per
delivered charged template, nothing else posted) and `parley ledger verify --json` runs when it exists.

Last, an overload (--overload s, 0: none): open-loop sends at 10x the server's max from several client processes,
answers by status and Graph error code (130429), Retry-After, p99 of the accepted sends, and the webhook POSTs
the receiver got meanwhile (the outbox must keep draining). `--webhooks off --online 0`: the send path alone.

Baselines in the same run: raw ASGI and bare FastAPI (baseline_app.py, same uvicorn settings) for the sends;
the receiver driven directly by one httpx client (and by wrk) for webhook throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import queue
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from options import parse_with_quick
from run import Meter, Worker, git_state, machine_info, versions, workspace
from servers import BENCH_DIR, NOFILE, REPO_DIR, Server, parley_cli
from stats import free_port, latency_summary, loadavg, raise_nofile, summarize_answers

RESULTS_DIR = BENCH_DIR / "results"
GOAL_SENDS = 2_000
GOAL_SEND_P99_MS = 15.0
GOAL_WEBHOOK_P99_MS = 250.0
GOAL_WEBHOOKS_PER_S = 6_000
GOAL_OVERLOAD_P99_MS = 50.0  # accepted sends under 10x overload (issue 10's admission control)
TEMPLATE = {"name": "bench_order_update", "language": "en_US"}
# One body per category, both with two parameters (the load sends "A<n>" and "Monday"). Plain wording: the
# review approves a UTILITY template with promotional words as MARKETING, and the bench checks the category.
TEMPLATE_BODIES = {
    # Free inside the service window (where every bench send is).
    "UTILITY": "Your order {{1}} has shipped and will arrive on {{2}}.",
    # Charged at delivery even inside the window, reserved at send: exercises billing's hold and post.
    "MARKETING": "Hello {{1}}, our new autumn collection is in the shop from {{2}}.",
}
# Big enough that no bench run spends it (a charged send beyond the wallet fails with 131042).
BENCH_TRIAL_CREDIT = "100000000"


def template_submission(category: str) -> dict[str, Any]:
    return {
        "name": TEMPLATE["name"],
        "language": TEMPLATE["language"],
        "category": category,
        "components": [
            {"type": "BODY", "text": TEMPLATE_BODIES[category], "example": {"body_text": [["A1234", "Monday"]]}}
        ],
    }


# Limits that must not be what the benchmark measures (Meta's defaults: 80 msg/s per number, 45 messages
# to one person per 6 s, 250 people reached outside the window per day at first).
BENCH_ENV = {
    "PARLEY_BUSINESS__DEFAULT_THROUGHPUT_MPS": "1000",
    "PARLEY_BUSINESS__PAIR_BURST": "1000000",
    "PARLEY_BUSINESS__MESSAGING_LIMIT_TIERS": "[100000000]",
    "PARLEY_TEMPLATES__REVIEW_DELAY_S": "0",
    "PARLEY_BILLING__TRIAL_CREDIT": BENCH_TRIAL_CREDIT,
}
SECRET_KEY = "bench-secret"  # the same as servers.parley_env: business-scoped user ids derive from it

console = Console(width=None if sys.stdout.isatty() else 160)


def business_phone(i: int) -> str:
    return f"+1628{2_000_000 + i:07d}"


def person_phone(i: int) -> str:
    return f"+1415{2_000_000 + i:07d}"


# --- processes ---------------------------------------------------------------------------------------


class Proc(Worker):
    """A bench process speaking run.Worker's line protocol, from any script (workers.py or webhook_receiver.py)."""

    def __init__(self, script: str, mode: str, cfg: dict[str, Any], workdir: Path) -> None:
        path = workdir / f"{mode}-{uuid.uuid4().hex[:8]}.json"
        path.write_text(json.dumps(cfg))
        self.log = (workdir / f"{path.stem}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / script), mode, str(path)],
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

    def wait_ready(self, timeout: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not self.last_progress.get("ready") and time.monotonic() < deadline:
            self.poll()
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        if not self.last_progress.get("ready"):
            self.kill()
            raise RuntimeError(f"{what} did not get ready (see {self.log.name})")
        return self.last_progress


class Outbox:
    """Samples the server's webhook outbox (pending rows) from the SQLite file, read-only, in a thread."""

    def __init__(self, db_path: Path, receiver: Proc, interval: float = 0.25) -> None:
        self.db_path, self.receiver, self.interval = db_path, receiver, interval
        self.samples: list[tuple[int, int, int]] = []  # (monotonic ns, pending rows, POSTs received so far)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._conn: sqlite3.Connection | None = None

    def pending(self) -> int:
        if self._conn is None:
            self._conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5, check_same_thread=False)
        row = self._conn.execute("SELECT count(*) FROM webhook_events WHERE state = 'pending'").fetchone()
        return int(row[0])

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(sqlite3.Error):
                self.receiver.poll()
                self.samples.append(
                    (time.monotonic_ns(), self.pending(), int(self.receiver.last_progress.get("posts", 0)))
                )
            self._stop.wait(self.interval)

    def latest(self) -> tuple[int, int, int]:
        return self.samples[-1] if self.samples else (0, -1, 0)

    def wait_drained(self, timeout: float, progress: Progress | None = None, label: str = "") -> dict[str, Any]:
        """Wait until no event is pending (or timeout); how long it took and how many POSTs arrived meanwhile."""
        t0 = time.monotonic_ns()
        while self.latest()[0] < t0 and time.monotonic_ns() - t0 < 5e9:  # a sample taken from now on
            time.sleep(self.interval / 5)
        _, pending0, posts0 = self.latest()
        task = progress.add_task(label or "webhook outbox draining", total=max(1, pending0)) if progress else None
        try:
            while time.monotonic_ns() - t0 < timeout * 1e9:
                time.sleep(self.interval)
                at, pending, posts = self.latest()
                if progress is not None and task is not None:
                    progress.update(task, completed=max(0, pending0 - pending))
                if pending == 0 and at > t0:
                    break
        finally:
            if progress is not None and task is not None:
                progress.remove_task(task)
        at, pending, posts = self.latest()
        return {
            "seconds": (at - t0) / 1e9,
            "pending_before": pending0,
            "pending_after": pending,
            "posts": posts - posts0,
        }

    def window(self, start_ns: int, end_ns: int) -> list[tuple[int, int, int]]:
        return [s for s in self.samples if start_ns <= s[0] <= end_ns]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        if self._conn is not None:
            self._conn.close()


# --- seeding -----------------------------------------------------------------------------------------


@dataclass
class Business:
    index: int
    waba_id: int
    phone_number_id: int
    user_id: int
    token: str
    phone: str


@dataclass
class Person:
    index: int
    user_id: int
    token: str
    phone: str


def contacts_of(p: int, businesses: int, contacts: int) -> list[int]:
    """The businesses person p has written to (and will hear from): spread evenly over all businesses."""
    k = min(contacts, businesses)
    return [(p + j * max(1, businesses // k)) % businesses for j in range(k)]


async def _seed(
    settings: Any,
    args: argparse.Namespace,
    hook_base: str,
    progress: Callable[[str, int], None],
) -> tuple[list[Business], list[Person], dict[str, Any]]:
    from sqlalchemy import Connection

    from parley.business.events import metadata
    from parley.business.repository import get_number
    from parley.container import build_container
    from parley.messaging.schemas import SendMessageIn, TextIn
    from parley.webhooks import enqueue

    container = build_container(settings)
    await container.start()
    facts: dict[str, Any] = {}
    try:
        businesses: list[Business] = []
        for i in range(args.businesses):
            created = await container.business.create_business(
                f"Bench Shop {i}",
                business_phone(i),
                webhook_url=f"{hook_base}/hook/{i}",
                verify_token="v",
                app_secret="s",
            )
            scope = await container.business.authenticate(created.access_token)
            await container.templates.create(scope, template_submission(args.template_category))
            businesses.append(
                Business(
                    i,
                    created.waba_id,
                    created.phone_number_id,
                    created.user_id,
                    created.access_token,
                    business_phone(i),
                )
            )
            progress("businesses", 1)
        people: list[Person] = []
        for start in range(0, args.people, 500):
            stop = min(args.people, start + 500)
            sessions = await asyncio.gather(
                *(
                    container.accounts.create_user_with_token(person_phone(i), f"Person {i}", device_name="bench")
                    for i in range(start, stop)
                )
            )
            people += [Person(start + k, s.user_id, s.token, person_phone(start + k)) for k, s in enumerate(sessions)]
            progress("people", len(sessions))
        facts["templates_reviewed"] = await container.templates.review_due_now()
        # Every person writes once to each business that will message them: their service windows open.
        pairs = [(p, b) for p in people for b in contacts_of(p.index, len(businesses), args.contacts)]
        for start in range(0, len(pairs), 250):
            part = pairs[start : start + 250]
            await asyncio.gather(
                *(
                    container.messaging.send(
                        p.user_id,
                        SendMessageIn(
                            to=businesses[b].phone,
                            type="text",
                            text=TextIn(body="Hi, any news on my order?"),
                            client_id=f"seed-{p.index}-{b}",
                        ),
                    )
                    for p, b in part
                )
            )
            progress("first messages", len(part))
        facts["first_messages"] = len(pairs)
        # A pre-filled outbox: `sent` status updates shaped like Parley's, through the outbox's own enqueue.
        number_rows = await container.db.read(
            lambda c: {b.phone_number_id: get_number(c, b.phone_number_id) for b in businesses}
        )
        for start in range(0, args.backlog, 1000):
            count = min(1000, args.backlog - start)

            def unit(conn: Connection, start: int = start, count: int = count, numbers: Any = number_rows) -> None:
                for k in range(start, start + count):
                    b = businesses[k % len(businesses)]
                    p = people[k % len(people)]
                    value = {
                        "messaging_product": "whatsapp",
                        "metadata": metadata(numbers[b.phone_number_id]),
                        "contacts": [{"wa_id": p.phone.lstrip("+"), "user_id": f"US.{p.user_id}"}],
                        "statuses": [
                            {
                                "id": f"wamid.backlog{k}",
                                "status": "sent",
                                "timestamp": "1790000000",
                                "recipient_id": p.phone.lstrip("+"),
                                "recipient_user_id": f"US.{p.user_id}",
                                "pricing": {
                                    "billable": False,
                                    "pricing_model": "PMP",
                                    "category": "service",
                                    "type": "free_customer_service",
                                },
                            }
                        ],
                    }
                    enqueue(
                        conn,
                        waba_id=b.waba_id,
                        field="messages",
                        value=value,
                        phone_number_id=b.phone_number_id,
                        event_id=container.ids.next_id(),
                    )

            await container.db.write("bench.seed", unit)
            progress("pre-filled outbox", count)
        facts["backlog_events"] = args.backlog
    finally:
        await container.close()
    return businesses, people, facts


def seed(
    data_dir: Path, args: argparse.Namespace, hook_base: str, database_url: str = ""
) -> tuple[list[Business], list[Person], dict[str, Any]]:
    """Seed under data_dir's SQLite file, or at database_url (scale_out.py's PostgreSQL)."""
    from parley.config import BillingSettings, BusinessSettings, Settings, TemplateSettings, WebhookSettings

    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=SECRET_KEY,
        # Numbers store their throughput at creation: the raised value must be there from the start.
        business=BusinessSettings(
            default_throughput_mps=1000, pair_burst=1_000_000, messaging_limit_tiers=[100_000_000]
        ),
        templates=TemplateSettings(review_delay_s=0),
        # Wallets get their trial credit when the business is created: billing on, credit no run spends.
        billing=BillingSettings(enabled=True, trial_credit=BENCH_TRIAL_CREDIT),
        # The seed's own updates (the people's first messages) wait in the outbox for the server to deliver.
        webhooks=WebhookSettings(deliver=False),
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        totals = {
            "businesses": args.businesses,
            "people": args.people,
            "first messages": args.people * min(args.contacts, args.businesses),
            "pre-filled outbox": args.backlog,
        }
        tasks = {name: progress.add_task(f"seeding {name}", total=total) for name, total in totals.items() if total}
        return asyncio.run(_seed(settings, args, hook_base, lambda name, n: progress.advance(tasks[name], n)))


def template_states(db_path: Path) -> dict[str, int]:
    """Templates by "STATUS CATEGORY" after the review, e.g. {"APPROVED MARKETING": 20}."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT status, category, count(*) FROM message_templates GROUP BY status, category")
        return {f"{status} {category}": n for status, category, n in rows.fetchall()}


def check_templates(facts: dict[str, Any], businesses: int, category: str) -> None:
    """Every business's template approved, in the category asked for (the review may re-categorise)."""
    if facts["templates"].get(f"APPROVED {category}", 0) != businesses:
        raise RuntimeError(f"templates not all approved as {category} after the review: {facts['templates']}")


# --- load ----------------------------------------------------------------------------------------------


def run_wrk(
    url: str, entries_file: Path, connections: int, seconds: float, progress: Progress, label: str
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
        str(BENCH_DIR / "cloud_send.lua"),
        url,
        "--",
        str(entries_file),
        TEMPLATE["name"],
        TEMPLATE["language"],
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
    data: dict[str, Any] = json.loads(line[len("BENCHJSON ") :])
    ok = data["requests"] - data["errors"]["status"]
    data.update(ok=ok, ok_per_second=ok / (data["duration_us"] / 1e6), connections=connections, wrk_output=out)
    return data


def open_loop(
    server: Server,
    entries: list[list[str]],
    rate: float,
    seconds: float,
    workdir: Path,
    progress: Progress,
    label: str,
    procs: int = 2,
    max_conns: int = 256,
) -> dict[str, Any]:
    """Fixed-rate Cloud API sends from several processes (workers.py cloud-http); results merged."""
    start_at = time.time() + 1.0
    workers = [
        Proc(
            "workers.py",
            "cloud-http",
            {
                "host": "127.0.0.1",
                "port": server.port,
                "rate": rate / procs,
                "duration": seconds,
                "entries": entries[k::procs],
                "offset": k * 7,
                "template": TEMPLATE,
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
    from run import wait_workers

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
    statuses: Counter[str] = Counter()
    retry_after: Counter[str] = Counter()
    graph_codes: Counter[str] = Counter()
    errors: dict[str, str] = {}
    for r in results:
        statuses.update(r["statuses"])
        retry_after.update(r.get("retry_after", {}))
        graph_codes.update(r.get("graph_codes", {}))
        errors |= r["error_samples"]
    scheduled = sum(r["scheduled"] for r in results)
    ok = statuses.get("200", 0)
    sends = {"wamids": [], "due_ns": [], "answered_ns": []}
    for r in results:
        for key in sends:
            sends[key] += r["sends"][key]
    return {
        "target_rate": rate,
        "seconds": seconds,
        "scheduled": scheduled,
        "ok": ok,
        "statuses": dict(statuses),
        "retry_after": dict(retry_after),
        "graph_codes": dict(graph_codes),
        "error_samples": errors,
        "incomplete": sum(r["incomplete"] for r in results),
        "achieved_rate": ok / max(r["elapsed_seconds"] for r in results),
        "start_ns": min(r["start_ns"] for r in results),
        "end_ns": min(r["start_ns"] for r in results) + int(seconds * 1e9),
        "generator_cpu_us_per_request": sum(r["cpu_seconds"] for r in results) / max(1, scheduled) * 1e6,
        "latency": latency_summary(us / 1000 for r in results for us in r["latencies_us"]),
        "usage": usage,
        "_sends": sends,  # joined with the receiver's and the people's records at the end, then dropped
    }


def resolve_rates(raw: list[str], max_rate: float | None) -> list[float]:
    rates = []
    for r in raw:
        if r == "goal-half":
            rates.append(GOAL_SENDS / 2)
        elif r == "half":
            if max_rate:
                rates.append(float(max(1, round(max_rate / 2))))
        else:
            rates.append(float(r))
    # Slowest first: an overloaded run leaves a backlog behind it (unanswered sends, pending webhooks).
    return sorted(r for r in rates if r >= 1)


# --- the Parley run -----------------------------------------------------------------------------------


def parley_phase(
    args: argparse.Namespace,
    data_dir: Path,
    logs: Path,
    workdir: Path,
    receiver: Proc,
    businesses: list[Business],
    people: list[Person],
    progress: Progress,
    rates_for: Callable[[float], list[float]] | None = None,
    label: str = "parley",
) -> dict[str, Any]:
    """One `parley serve` on data_dir: start-up drain, max sends/s (wrk), open-loop runs at the rates
    `rates_for(max sends/s)` gives (default: --rates), optional profiles. `label` names its progress lines
    and profile files (A/B runs of several servers in one bench)."""
    online = people[: args.online]
    prefix = "" if label == "parley" else f"{label}-"  # profile files keep their names in a plain run
    # --online 0: nobody on a WebSocket, sends go to every person (the send path without acks and reads).
    entries = build_entries(businesses, online or people, args.contacts)
    entries_file = workdir / f"entries-{label}.txt"
    entries_file.write_text("".join(" ".join(e) + "\n" for e in entries))
    server = Server.parley(data_dir, logs, args.parley_src)
    server.env |= BENCH_ENV | dict(kv.split("=", 1) for kv in args.server_env)
    hooks_on = args.webhooks == "on"
    if not hooks_on:
        server.env["PARLEY_WEBHOOKS__DELIVER"] = "false"
    out: dict[str, Any] = {"entries": len(entries), "online_people": len(online), "webhooks": args.webhooks}
    outbox = Outbox(data_dir / "parley.db", receiver)

    def wait_drained(label: str) -> dict[str, Any]:
        """The outbox emptied (or --drain-timeout); with --webhooks off nothing drains: not waited for."""
        if not hooks_on:
            return {"seconds": 0.0, "pending_before": outbox.latest()[1], "pending_after": None, "posts": 0}
        return outbox.wait_drained(args.drain_timeout, progress, label)

    start_ns = time.monotonic_ns()
    server.start()
    out["server_start_seconds"] = (time.monotonic_ns() - start_ns) / 1e9
    outbox.start()
    persons: Proc | None = None
    try:
        # 1. The outbox filled before the start (the people's first messages + --backlog): pure delivery.
        meter = Meter(server)
        spy = Spy(server, args.profile_drain, f"{prefix}drain", workdir) if args.profile_drain else None
        drain = wait_drained("server start: draining the pre-filled outbox")
        drain["usage"] = meter.read()
        if spy is not None:
            drain["profile"] = spy.result()
        out["startup_drain"] = drain
        # 2. The people come online (their catch-up of their own first messages is acked on the way).
        if online:
            persons = Proc(
                "workers.py",
                "ws-person",
                {
                    "host": "127.0.0.1",
                    "port": server.port,
                    "tokens": [p.token for p in online],
                    "business_user_ids": [b.user_id for b in businesses],
                    "read_fraction": args.read_fraction,
                    "hold_max_s": 1800,
                },
                workdir,
            )
            out["people_connected"] = persons.wait_ready(120, "the people's WebSockets")["connected"]
        server.quiesce()
        # 3. Max accepted sends/s (wrk, closed loop).
        url = f"http://127.0.0.1:{server.port}"
        run_wrk(url, entries_file, args.connections, args.warmup, progress, f"{label}: warm-up")
        wait_drained(f"{label}: warm-up's webhooks")
        server.quiesce()
        meter = Meter(server)
        wrk = run_wrk(
            url,
            entries_file,
            args.connections,
            args.duration,
            progress,
            f"{label}: max sends/s (wrk -c{args.connections})",
        )
        wrk["usage"] = meter.read()
        wrk["server_cpu_us_per_ok"] = wrk["usage"]["server_cpu_seconds"] / max(1, wrk["ok"]) * 1e6
        _, pending, _ = outbox.latest()
        meter = Meter(server)
        drain = wait_drained(f"{label}: webhooks of the wrk run")
        drain["usage"] = meter.read()
        wrk["pending_at_end"] = pending
        wrk["drain_after"] = drain
        out["max"] = wrk
        server.quiesce()
        # The server's CPU with no load (people's sockets, timers): the floor under every per-send figure.
        meter = Meter(server)
        time.sleep(2.0)
        out["idle"] = meter.read()
        # 4. Open loop at fixed rates: send latency, pushes, webhooks and the outbox over time.
        out["fixed_rate"] = []
        rates = rates_for(wrk["ok_per_second"]) if rates_for else resolve_rates(args.rates, wrk["ok_per_second"])
        for rate in rates:
            run = open_loop(
                server, entries, rate, args.latency_duration, workdir, progress, f"{label}: open loop {rate:,.0f}/s"
            )
            load_end = time.monotonic_ns()
            meter = Meter(server)
            run["drain_after"] = wait_drained(f"{label}: webhooks of {rate:,.0f}/s")
            run["drain_after"]["usage"] = meter.read()
            time.sleep(1.0)  # the last reads' statuses
            run["outbox"] = backlog_summary(outbox.window(run["start_ns"] - 10**9, time.monotonic_ns()), run, load_end)
            out["fixed_rate"].append(run)
            server.quiesce()
        # 5. Overload: 10x what the server just sustained, open loop, from several cheap client processes.
        if args.overload > 0:
            out["overload"] = overload_phase(
                args, server, entries, wrk["ok_per_second"], outbox, wait_drained, workdir, progress, label
            )
            server.quiesce(timeout=args.drain_timeout)
        # 6. Optional profiles, in extra runs (py-spy costs CPU: not part of any figure).
        if args.profile:
            spy = Spy(server, args.profile, f"{prefix}wrk", workdir)
            run_wrk(url, entries_file, args.connections, args.profile, progress, f"{label}: profiled wrk run")
            out["profile_wrk"] = spy.result()
            wait_drained(f"{label}: webhooks of the profiled wrk run")
            server.quiesce()
            if out["fixed_rate"]:
                rate = min(r["target_rate"] for r in out["fixed_rate"])
                spy = Spy(server, args.profile, f"{prefix}open-loop", workdir)
                open_loop(server, entries, rate, args.profile, workdir, progress, f"{label}: profiled {rate:,.0f}/s")
                out["profile_open_loop"] = {"rate": rate, **spy.result()}
                wait_drained(f"{label}: webhooks of the profiled open loop")
        out["rss_bytes"] = server.rss()
    finally:
        people_result: dict[str, Any] = {}
        if persons is not None:
            persons.tell("stop")
            with contextlib.suppress(RuntimeError):
                people_result = persons.wait_result(60)
        outbox.stop()
        out["outbox_samples"] = [[(t - start_ns) / 1e9, p, r] for t, p, r in outbox.samples]
        server.stop()
    out["_people"] = people_result
    return out


def overload_phase(
    args: argparse.Namespace,
    server: Server,
    entries: list[list[str]],
    max_rate: float,
    outbox: Outbox,
    wait_drained: Callable[[str], dict[str, Any]],
    workdir: Path,
    progress: Progress,
    label: str,
) -> dict[str, Any]:
    """Open-loop sends at --overload-factor x the server's max for --overload s: answers by status, p99 of the
    accepted ones, Retry-After on refusals, and whether the webhook outbox kept draining meanwhile."""
    rate = max(1.0, round(args.overload_factor * max_rate))
    run = open_loop(
        server,
        entries,
        rate,
        args.overload,
        workdir,
        progress,
        f"{label}: overload {rate:,.0f}/s ({args.overload_factor:g}x max)",
        procs=args.overload_procs,
        max_conns=512,
    )
    load_end = time.monotonic_ns()
    during = outbox.window(run["start_ns"], run["end_ns"] + 10**9)
    # POSTs the receiver got while the overload ran: the delivery engine kept working (or starved).
    posts = (during[-1][2] - during[0][2]) if len(during) >= 2 else None
    span = (during[-1][0] - during[0][0]) / 1e9 if len(during) >= 2 else 0.0
    meter = Meter(server)
    run["drain_after"] = wait_drained(f"{label}: webhooks of the overload")
    run["drain_after"]["usage"] = meter.read()
    run["outbox"] = backlog_summary(outbox.window(run["start_ns"] - 10**9, time.monotonic_ns()), run, load_end)
    run["webhook_posts_during"] = posts
    run["webhook_posts_per_s_during"] = posts / span if posts is not None and span > 0 else None
    run["max_rate"] = max_rate
    run["factor"] = args.overload_factor
    run["processes"] = args.overload_procs
    run.update(summarize_answers(run["statuses"], run.get("retry_after", {})))
    sends = run.pop("_sends")  # the wamids are not joined with the webhooks: an overload is not a latency run
    run["ok_latency"] = latency_summary(
        (a - d) / 1e6 for d, a in zip(sends["due_ns"], sends["answered_ns"], strict=True)
    )
    return run


def build_entries(businesses: list[Business], people: list[Person], contacts: int) -> list[list[str]]:
    """Request rotation: every (business, person) pair in the people's windows, a text and a template each,
    ordered so that consecutive requests go to different businesses and people."""
    out: list[list[str]] = []
    for kind_round in (0, 1):
        for j in range(min(contacts, len(businesses))):
            for p in people:
                b = businesses[contacts_of(p.index, len(businesses), contacts)[j]]
                kind = "template" if (p.index + j + kind_round) % 2 == 0 else "text"
                out.append([b.token, str(b.phone_number_id), p.phone.lstrip("+"), kind])
    return out


def backlog_summary(samples: list[tuple[int, int, int]], run: dict[str, Any], load_end_ns: int) -> dict[str, Any]:
    """The outbox over a run: pending rows sampled from the database, and the least-squares slope of that
    count over the load window (events/s the outbox grows by: ~0 when delivery keeps up)."""
    t0 = run["start_ns"]
    series = [[round((t - t0) / 1e9, 2), pending, posts] for t, pending, posts in samples]
    during = [(t, p) for t, p, _ in series if 0 <= t <= (load_end_ns - t0) / 1e9]
    slope = None
    if len(during) >= 3:
        n = len(during)
        mt = sum(t for t, _ in during) / n
        mp = sum(p for _, p in during) / n
        den = sum((t - mt) ** 2 for t, _ in during)
        slope = sum((t - mt) * (p - mp) for t, p in during) / den if den else None
    return {
        "series": series,
        "slope_per_s": slope,
        "max_pending": max((p for _, p in during), default=None),
        "pending_at_load_end": during[-1][1] if during else None,
    }


class Spy:
    """py-spy (if installed) recording the server for `seconds`: where the server's time goes."""

    def __init__(self, server: Server, seconds: float, name: str, workdir: Path) -> None:
        self.raw = workdir / f"profile-{name}.txt"
        self.name, self.seconds = name, seconds
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self.proc: subprocess.Popen[bytes] | None = None
        if Path(spy).exists():
            argv = [spy, "record", "-p", str(server.pid), "-d", str(int(seconds)), "-r", "97", "--threads", "--gil"]
            argv += ["--nonblocking", "--format", "raw", "-o", str(self.raw)]
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def result(self) -> dict[str, Any]:
        if self.proc is None:
            return {"error": "py-spy is not installed (pip install py-spy)"}
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(self.seconds + 30)
        if not self.raw.exists():
            return {"error": "py-spy wrote no profile"}
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.raw, RESULTS_DIR / f"cloud-profile-{self.name}-latest.txt")
        return {"seconds": self.seconds, **summarize_profile(self.raw)}


# What a profile sample was doing: the first rule whose frame name appears in its stack (thread, then frame).
ACTIVITIES = (
    ("writer", "BusinessService.send.<locals>.unit", "writer: Cloud API send unit"),
    ("writer", "MessagingService.acknowledge.<locals>.unit", "writer: ack unit (-> delivered)"),
    ("writer", "MessagingService.mark_read.<locals>.unit", "writer: read unit (-> read)"),
    ("writer", "claim_due (", "writer: webhook claim"),
    ("writer", "DefaultDialect.do_commit", "writer: COMMIT (fsync: synchronous=FULL)"),
    ("writer", "record_attempts (", "writer: webhook attempt results"),
    ("writer", "", "writer: other units, savepoints, commits"),
    ("read_", "", "reader threads"),
    ("MainThread", "DeliveryEngine._attempt", "loop: webhook POSTs (httpx)"),
    ("MainThread", "DeliveryEngine.", "loop: webhook engine, other"),
    ("MainThread", "BusinessService.send (", "loop: Cloud API send request (auth, parse, checks)"),
    ("MainThread", "fastapi/", "loop: FastAPI / Starlette / pydantic request handling"),
    ("MainThread", "websockets", "loop: WebSocket streams"),
    ("MainThread", "DeviceStream", "loop: WebSocket streams"),
    ("MainThread", "logging/", "loop: logging"),
    ("MainThread", "httptools_impl", "loop: uvicorn HTTP protocol"),
    ("MainThread", "", "loop: other (event loop, asyncio, thread hand-offs)"),
    ("", "", "other threads"),
)


def summarize_profile(path: Path) -> dict[str, Any]:
    """Shares of samples: by thread, by activity, by the file and the package on top of the stack (self time),
    and inclusive by Parley function."""
    by_thread: Counter[str] = Counter()
    activity: Counter[str] = Counter()
    leaf_file: Counter[str] = Counter()
    leaf_pkg: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    billing_inclusive: Counter[str] = Counter()
    billing_samples = 0
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        name = frames[0].split(": ", 1)[-1]
        by_thread[name] += count
        total += count
        for thread_part, frame_part, label in ACTIVITIES:
            if thread_part in name and frame_part in stack:
                activity[label] += count
                break
        where = frames[-1].rsplit("(", 1)[-1].split(":")[0]
        leaf_file[where] += count
        leaf_pkg[where.split("/", 1)[0].removesuffix(".py")] += count
        seen = set()
        for frame in frames[1:]:
            if "(parley/" in frame:
                fn = frame.split(" (")[0] + " (" + frame.split("(parley/")[-1].split(":")[0] + ")"
                if fn not in seen:
                    seen.add(fn)
                    inclusive[fn] += count
                    if _is_billing(fn):
                        billing_inclusive[fn] += count
        if any(_is_billing(fn) for fn in seen):
            billing_samples += count

    def shares(counter: Counter[str], n: int) -> dict[str, float]:
        return {k: round(100 * v / max(1, total), 1) for k, v in counter.most_common(n)}

    return {
        "samples": total,
        "threads_pct": shares(by_thread, 8),
        "activities_pct": shares(activity, 20),
        "self_by_package_pct": shares(leaf_pkg, 15),
        "self_by_file_pct": shares(leaf_file, 20),
        "inclusive_parley_pct": shares(inclusive, 40),
        # Samples inside billing or the ledger (reserve at send, settle at delivery), and by function.
        "billing_pct": round(100 * billing_samples / max(1, total), 1),
        "billing_inclusive_pct": shares(billing_inclusive, 30),
    }


def _is_billing(fn: str) -> bool:
    return "(billing/" in fn or "(ledger/" in fn or "_billing" in fn or "_send_facts" in fn


# --- baselines ----------------------------------------------------------------------------------------


def baseline_phase(
    kind: str, args: argparse.Namespace, entries: list[list[str]], logs: Path, workdir: Path, progress: Progress
) -> dict[str, Any]:
    entries_file = workdir / f"entries-{kind}.txt"
    entries_file.write_text("".join(" ".join(e) + "\n" for e in entries))
    server = Server.baseline(kind, logs)
    server.start()
    try:
        url = f"http://127.0.0.1:{server.port}"
        run_wrk(url, entries_file, args.connections, args.warmup, progress, f"{kind}: warm-up")
        server.quiesce()
        meter = Meter(server)
        wrk = run_wrk(url, entries_file, args.connections, args.duration, progress, f"{kind}: max sends/s")
        wrk["usage"] = meter.read()
        wrk["server_cpu_us_per_ok"] = wrk["usage"]["server_cpu_seconds"] / max(1, wrk["ok"]) * 1e6
        server.quiesce()
        fixed = []
        for rate in resolve_rates(args.rates, wrk["ok_per_second"]):
            run = open_loop(
                server, entries, rate, args.latency_duration, workdir, progress, f"{kind}: open loop {rate:,.0f}/s"
            )
            run.pop("_sends")
            fixed.append(run)
            server.quiesce()
        return {"max": wrk, "fixed_rate": fixed, "rss_bytes": server.rss()}
    finally:
        server.stop()


def receiver_baseline(args: argparse.Namespace, workdir: Path, progress: Progress) -> dict[str, Any]:
    """The receiver alone, one connection per business: how many POSTs/s it takes from one httpx client
    (Parley's delivery engine is one httpx client too), from a bare asyncio client in one Python process
    (the floor for a Python delivery engine) and from wrk (the receiver's own ceiling)."""
    port = free_port()
    receiver = Proc("webhook_receiver.py", "serve", {"port": port, "hold_max_s": 600}, workdir)
    receiver.wait_ready(30, "the baseline webhook receiver")
    out: dict[str, Any] = {}
    try:
        seconds = max(3.0, args.latency_duration / 2)
        task = progress.add_task(f"receiver baseline: one httpx client, {args.businesses} connections", total=seconds)
        driver = Proc(
            "webhook_receiver.py",
            "drive",
            {"url": f"http://127.0.0.1:{port}/hook/0", "concurrency": args.businesses, "duration": seconds},
            workdir,
        )
        result = driver.wait_result(seconds + 60)
        progress.remove_task(task)
        result["latency"] = latency_summary(us / 1000 for us in result.pop("latencies_us"))
        out["httpx"] = result
        task = progress.add_task(
            f"receiver baseline: bare asyncio client, {args.businesses} connections", total=seconds
        )
        driver = Proc(
            "webhook_receiver.py",
            "drive-raw",
            {"host": "127.0.0.1", "port": port, "concurrency": args.businesses, "duration": seconds},
            workdir,
        )
        result = driver.wait_result(seconds + 60)
        progress.remove_task(task)
        result["latency"] = latency_summary(us / 1000 for us in result.pop("latencies_us"))
        out["bare_asyncio"] = result
        if shutil.which("wrk"):
            from webhook_receiver import sample_body

            script = workdir / "post.lua"
            body = sample_body().decode().replace("\\", "\\\\").replace('"', '\\"')
            script.write_text(
                f'wrk.method = "POST"\nwrk.body = "{body}"\nwrk.headers["Content-Type"] = "application/json"\n'
            )
            task = progress.add_task("receiver baseline: wrk", total=seconds)
            proc = subprocess.run(
                [
                    "wrk",
                    "-t1",
                    f"-c{args.businesses}",
                    f"-d{int(seconds)}s",
                    "-s",
                    str(script),
                    f"http://127.0.0.1:{port}/hook/0",
                ],
                capture_output=True,
                text=True,
                timeout=seconds + 30,
            )
            progress.remove_task(task)
            rps = next((ln.split()[1] for ln in proc.stdout.splitlines() if ln.startswith("Requests/sec")), None)
            out["wrk"] = {"posts_per_second": float(rps) if rps else None, "connections": args.businesses}
    finally:
        receiver.tell("stop")
        with contextlib.suppress(RuntimeError):
            got = receiver.wait_result(30)
            out["receiver_cpu_seconds"] = got["cpu_seconds"]
            out["received"] = got["posts"]
    return out


# --- joining the records ------------------------------------------------------------------------------


def join_records(parley: dict[str, Any], hooks: dict[str, Any]) -> None:
    """Per open-loop run: push latency, webhook latency per status, completeness, deliveries/s."""
    from parley.business.wamid import to_wamid

    first_arrival: dict[tuple[str, int], int] = {}
    duplicates = 0
    for wamid, code, ns in zip(hooks["status_wamids"], hooks["status_codes"], hooks["status_ns"], strict=True):
        key = (wamid, code)
        if key in first_arrival:
            duplicates += 1
        else:
            first_arrival[key] = ns
    parley["webhook_duplicates"] = duplicates
    people = parley.get("_people") or {}
    msgs = people.get("messages", {"ids": [], "arrived_ns": [], "acked_ns": []})
    arrived = {to_wamid(i): (a, k) for i, a, k in zip(msgs["ids"], msgs["arrived_ns"], msgs["acked_ns"], strict=True)}
    reads = people.get("reads", {"ids": [], "sent_ns": [], "answered_ns": []})
    read_sent = {to_wamid(i): s for i, s in zip(reads["ids"], reads["sent_ns"], strict=True)}
    status_ns = sorted(hooks["status_ns"])
    for run in parley.get("fixed_rate", []):
        sends = run.pop("_sends")
        push, sent_from_answer, sent_from_due, delivered, read = [], [], [], [], []
        missing = Counter()
        for wamid, due, answered in zip(sends["wamids"], sends["due_ns"], sends["answered_ns"], strict=True):
            got = first_arrival.get((wamid, 1))
            if got is None:
                missing["sent"] += 1
            else:
                sent_from_answer.append((got - answered) / 1e6)
                sent_from_due.append((got - due) / 1e6)
            person = arrived.get(wamid)
            if person is None:
                if arrived:  # nobody online (--online 0): no pushes, acks or reads to wait for
                    missing["push"] += 1
                continue
            push.append((person[0] - due) / 1e6)
            got = first_arrival.get((wamid, 2))
            if got is None:
                # `read` may replace `delivered` when both happen at once (Meta skips it too).
                if (wamid, 3) not in first_arrival:
                    missing["delivered"] += 1
            else:
                delivered.append((got - person[1]) / 1e6)
            if wamid in read_sent:
                got = first_arrival.get((wamid, 3))
                if got is None:
                    missing["read"] += 1
                else:
                    read.append((got - read_sent[wamid]) / 1e6)
        if parley.get("webhooks") == "off":  # no status webhook was meant to arrive
            missing = Counter({k: v for k, v in missing.items() if k == "push"})
        window = (run["start_ns"], run["end_ns"])
        from bisect import bisect_left

        in_window = bisect_left(status_ns, window[1]) - bisect_left(status_ns, window[0])
        run["push_latency"] = latency_summary(push)
        run["webhooks"] = {
            "sent_from_answer": latency_summary(sent_from_answer),
            "sent_from_due": latency_summary(sent_from_due),
            "delivered_from_ack": latency_summary(delivered),
            "read_from_request": latency_summary(read),
            "all": latency_summary(sent_from_answer + delivered + read),
            "missing": dict(missing),
            "read_requested": sum(1 for w in sends["wamids"] if w in read_sent),
            "deliveries_per_s_in_window": in_window / ((window[1] - window[0]) / 1e9),
        }
    parley.pop("_people", None)


# --- report -------------------------------------------------------------------------------------------


def _ms(v: float | None) -> str:
    """A duration given in ms, with its unit."""
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v / 1000:,.1f} s"
    return f"{v:,.1f} ms" if abs(v) < 100 else f"{v:,.0f} ms"


def _s(seconds: float) -> str:
    return f"{seconds:,.1f} s"


def _lat(s: dict[str, Any] | None) -> str:
    if not s or not s.get("count"):
        return "–"
    return f"{_ms(s['p50_ms'])} / {_ms(s['p99_ms'])}"


def verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("[green]met[/green]" if ok else "[red]missed[/red]")


def report(results: dict[str, Any]) -> Table:
    meta = results["meta"]
    table = Table(
        title=f"Cloud API load — {meta['date']} — {meta['machine']['summary']} — "
        f"{meta['args']['businesses']} businesses, {meta['args']['online']} of {meta['args']['people']} people online"
        + (", webhooks off" if meta["args"].get("webhooks") == "off" else ""),
        show_lines=False,
    )
    for col, justify in (("figure", "left"), ("Parley", "right"), ("raw ASGI", "right"), ("bare FastAPI", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    table.add_column("goal", justify="right")
    table.add_column("", justify="center")
    p = results.get("parley", {})
    base = results.get("baselines", {})
    names = ["parley", "raw", "fastapi"]
    hooks_off = p.get("webhooks") == "off"

    def get(name: str) -> dict[str, Any]:
        return p if name == "parley" else base.get(name, {})

    def cell(name: str, fn: Callable[[dict[str, Any]], str]) -> str:
        data = get(name)
        try:
            return fn(data) if data else "–"
        except (KeyError, IndexError, TypeError):
            return "–"

    if "max" in p:
        ok = p["max"]["ok_per_second"] >= GOAL_SENDS
        table.add_row(
            f"max accepted sends/s (wrk -c{meta['args']['connections']}, {meta['args']['duration']:.0f} s)",
            *(cell(n, lambda d: f"{d['max']['ok_per_second']:,.0f}/s") for n in names),
            f"≥ {GOAL_SENDS:,}/s",
            verdict(ok),
        )
        table.add_row(
            "  closed-loop p50 / p99",
            *(
                cell(
                    n,
                    lambda d: (
                        f"{_ms(d['max']['latency_us']['p50'] / 1000)} / {_ms(d['max']['latency_us']['p99'] / 1000)}"
                    ),
                )
                for n in names
            ),
            "",
            "",
        )
        table.add_row(
            "  server CPU per accepted send",
            *(cell(n, lambda d: f"{d['max']['server_cpu_us_per_ok']:,.0f} µs") for n in names),
            "",
            "",
        )
        table.add_row(
            "  webhook backlog at the end → drained in",
            "webhooks off"
            if hooks_off
            else cell("parley", lambda d: f"{d['max']['pending_at_end']:,} → {_s(d['max']['drain_after']['seconds'])}"),
            "",
            "",
            "",
            "",
        )
    for i, run in enumerate(p.get("fixed_rate", [])):
        rate = run["target_rate"]
        label = "half the goal" if rate == GOAL_SENDS / 2 else "half its max"

        def fr(d: dict[str, Any], i: int = i) -> dict[str, Any]:
            return d["fixed_rate"][i]

        table.add_row(
            f"open loop at {rate:,.0f}/s ({label}): answered",
            *(
                cell(
                    n,
                    lambda d, n=n, rate=rate: (
                        f"{fr(d)['achieved_rate']:,.0f}/s"
                        + (f" (+{fr(d)['incomplete']:,} unanswered)" if fr(d)["incomplete"] else "")
                        + (
                            f" of {fr(d)['target_rate']:,.0f}/s"
                            if n != "parley" and fr(d)["target_rate"] != rate
                            else ""
                        )
                    ),
                )
                for n in names
            ),
            "",
            "",
        )
        send_ok = None
        if rate == GOAL_SENDS / 2:
            send_ok = (run["latency"]["p99_ms"] or 1e9) < GOAL_SEND_P99_MS and run["incomplete"] == 0
        table.add_row(
            "  send p50 / p99 (from when due)",
            *(cell(n, lambda d: _lat(fr(d)["latency"])) for n in names),
            f"p99 < {GOAL_SEND_P99_MS:.0f} ms at {GOAL_SENDS // 2:,}/s" if rate == GOAL_SENDS / 2 else "",
            verdict(send_ok),
        )
        w = run.get("webhooks", {})
        table.add_row("  send → WebSocket push p50 / p99", _lat(run.get("push_latency")), "", "", "", "")
        if hooks_off:
            continue
        table.add_row(
            "  webhook sent / delivered / read p99",
            " / ".join(
                _ms((w.get(k) or {}).get("p99_ms"))
                for k in ("sent_from_answer", "delivered_from_ack", "read_from_request")
            ),
            "",
            "",
            "",
            "",
        )
        o = run.get("outbox", {})
        all_p99 = (w.get("all") or {}).get("p99_ms")
        slope = o.get("slope_per_s")
        flat = slope is not None and slope <= 0.02 * max(1.0, w.get("deliveries_per_s_in_window", 0.0))
        hook_ok = None if all_p99 is None else (all_p99 < GOAL_WEBHOOK_P99_MS and flat and not w.get("missing"))
        table.add_row(
            "  webhook p50 / p99 (all statuses)",
            _lat(w.get("all")) + (f" ({sum(w['missing'].values()):,} missing)" if w.get("missing") else ""),
            "",
            "",
            f"p99 < {GOAL_WEBHOOK_P99_MS:.0f} ms",
            verdict(hook_ok) if rate == GOAL_SENDS / 2 else "",
        )
        table.add_row(
            "  webhook deliveries/s; outbox growth",
            f"{w.get('deliveries_per_s_in_window', 0):,.0f}/s; "
            + ("–" if slope is None else f"{slope:+,.0f} rows/s (max {o.get('max_pending') or 0:,})"),
            "",
            "",
            "no growing backlog",
            verdict(flat) if rate == GOAL_SENDS / 2 else "",
        )
    o = p.get("overload")
    if o:
        clients = f"clients {o['generator_cpu_us_per_request']:,.0f} µs CPU per request"
        table.add_row(*overload_row(o), "–", "–", clients, "")
        table.add_row(
            "  accepted sends p50 / p99 (from when due)",
            _lat(o.get("ok_latency")),
            "",
            "",
            f"p99 ≤ {GOAL_OVERLOAD_P99_MS:.0f} ms",
            verdict(None if not o["ok"] else (o["ok_latency"]["p99_ms"] or 1e9) <= GOAL_OVERLOAD_P99_MS),
        )
        retry_ok = verdict(o["retry_after_present"])
        table.add_row("  refusals with Retry-After", retry_after_cell(o), "", "", "all", retry_ok)
        during = None if hooks_off else o.get("webhook_posts_per_s_during")
        table.add_row(
            "  webhook deliveries/s during the overload; outbox after",
            "webhooks off"
            if hooks_off
            else ("–" if during is None else f"{during:,.0f}/s")
            + f"; {o['drain_after']['pending_after'] if o['drain_after']['pending_after'] is not None else '–'}"
            + f" pending after {o['drain_after']['seconds']:,.1f} s",
            "",
            "",
            "keeps draining",
            verdict(None if during is None else during > 0),
        )
    return table


def overload_row(o: dict[str, Any]) -> tuple[str, str]:
    """The overload's answers as `label, cell`: 2xx / 503 / 429 / other / unanswered of what was offered."""
    a = o["answers"]
    cell = (
        f"2xx {a.get('2xx', 0):,} · 503 {a.get('503', 0):,} · 429 {a.get('429', 0):,}"
        + (f" · other {a['other']:,}" if a.get("other") else "")
        + f" · unanswered {o['incomplete']:,}"
    )
    codes = o.get("graph_codes") or {}
    if codes:
        cell += " (codes " + ", ".join(f"{k or '?'}: {v:,}" for k, v in sorted(codes.items())) + ")"
    label = (
        f"overload: {o['target_rate']:,.0f}/s for {o['seconds']:g} s ({o['factor']:g}x max, "
        f"{o['processes']} client processes), of {o['scheduled']:,}"
    )
    return label, cell


def retry_after_cell(o: dict[str, Any]) -> str:
    if not o.get("refused"):
        return "no refusals (the server queued everything)"
    return f"{o['refused_with_retry_after']:,} of {o['refused']:,}"


def webhook_report(results: dict[str, Any]) -> Table:
    """Webhook delivery throughput: Parley draining its outbox beside the receiver driven directly."""
    table = Table(title="Webhook deliveries/s (one POST per status update; receiver on loopback)")
    table.add_column("figure")
    table.add_column("deliveries/s", justify="right")
    table.add_column("CPU per delivery", justify="right")
    table.add_column("goal", justify="right")
    table.add_column("", justify="center")
    p = results.get("parley", {})
    rates = []
    for label, d in (
        ("Parley: start-up drain of the pre-filled outbox (nothing else running)", p.get("startup_drain")),
        ("Parley: drain after the wrk run (acks and reads settling)", (p.get("max") or {}).get("drain_after")),
    ):
        if not d or d["seconds"] <= 0.5 or not d["posts"]:
            continue
        rate = d["posts"] / d["seconds"]
        rates.append(rate)
        cpu = d.get("usage", {}).get("server_cpu_seconds")
        left = f" ({d['pending_after']:,} left at timeout)" if d.get("pending_after") else ""
        table.add_row(
            label + left,
            f"{rate:,.0f}/s",
            "–" if cpu is None else f"{cpu / d['posts'] * 1e6:,.0f} µs (server)",
            "",
            "",
        )
    for run in p.get("fixed_rate", []):
        w = run.get("webhooks") or {}
        if w:
            p99 = (w.get("all") or {}).get("p99_ms")
            table.add_row(
                f"Parley: during the open loop at {run['target_rate']:,.0f} sends/s (offered load); "
                f"webhook p99 {_ms(p99)}",
                f"{w['deliveries_per_s_in_window']:,.0f}/s",
                "",
                f"p99 ≤ {GOAL_WEBHOOK_P99_MS:.0f} ms",
                verdict(None if p99 is None else p99 <= GOAL_WEBHOOK_P99_MS),
            )
    rb = results.get("receiver_baseline", {})
    if rb.get("httpx"):
        h = rb["httpx"]
        table.add_row(
            f"baseline: the receiver driven by one httpx client ({h['concurrency']} connections)",
            f"{h['posts_per_second']:,.0f}/s",
            f"{h['client_cpu_us_per_post']:,.0f} µs (client)",
            "",
            "",
        )
    if rb.get("bare_asyncio"):
        h = rb["bare_asyncio"]
        table.add_row(
            f"baseline: the receiver driven by a bare asyncio client ({h['concurrency']} connections, signing)",
            f"{h['posts_per_second']:,.0f}/s",
            f"{h['client_cpu_us_per_post']:,.0f} µs (client)",
            "",
            "",
        )
    if (rb.get("wrk") or {}).get("posts_per_second"):
        table.add_row(
            f"baseline: the receiver driven by wrk ({rb['wrk']['connections']} connections)",
            f"{rb['wrk']['posts_per_second']:,.0f}/s",
            "",
            "",
            "",
        )
    best = max(rates, default=None)
    table.add_row(
        "Parley's best drain rate",
        "–" if best is None else f"{best:,.0f}/s",
        "",
        f"≥ {GOAL_WEBHOOKS_PER_S:,}/s",
        verdict(None if best is None else best >= GOAL_WEBHOOKS_PER_S),
    )
    return table


# --- main ---------------------------------------------------------------------------------------------


def build_parser(description: str | None = __doc__) -> argparse.ArgumentParser:
    """The options of a Cloud API run (billing_overhead.py adds its own to the same parser)."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--businesses", type=int, default=20, help="businesses (one number, one template each)")
    p.add_argument("--people", type=int, default=1000, help="people with a device token")
    p.add_argument(
        "--online",
        type=int,
        default=200,
        help="people on a WebSocket; every send goes to one of them (0: nobody online, sends go to everyone)",
    )
    p.add_argument("--contacts", type=int, default=4, help="businesses each person has written to (and hears from)")
    p.add_argument("--read-fraction", type=float, default=0.5, help="share of business messages people mark read")
    p.add_argument(
        "--template-category",
        choices=sorted(TEMPLATE_BODIES),
        default="UTILITY",
        help="category of the businesses' template: UTILITY is free inside the service window (where every "
        "send is), MARKETING is reserved at send and charged at delivery (billing's charged path)",
    )
    p.add_argument("--backlog", type=int, default=10_000, help="status updates in the outbox before the server starts")
    p.add_argument("--duration", type=float, default=15, help="seconds of max-throughput load per server")
    p.add_argument("--warmup", type=float, default=3, help="seconds of warm-up load per server")
    p.add_argument("--latency-duration", type=float, default=10, help="seconds of each open-loop run")
    p.add_argument("--connections", type=int, default=64, help="wrk connections for max throughput")
    p.add_argument(
        "--rates",
        nargs="*",
        default=["goal-half", "half"],
        help="open-loop sends/s: numbers, 'goal-half' (1,000/s) and 'half' (half of what this server reached)",
    )
    p.add_argument("--drain-timeout", type=float, default=60, help="max seconds to wait for the webhook outbox")
    p.add_argument(
        "--webhooks",
        choices=("on", "off"),
        default="on",
        help="off: the server delivers no webhook (PARLEY_WEBHOOKS__DELIVER=false), the outbox only fills; with "
        "--online 0 this is the send path alone (issue 10's 'webhooks off, nobody online' row)",
    )
    p.add_argument(
        "--overload",
        type=float,
        default=5,
        help="seconds of open-loop sends at --overload-factor x this server's max, last (0: no overload phase)",
    )
    p.add_argument("--overload-factor", type=float, default=10, help="the overload's rate over the server's max")
    p.add_argument(
        "--overload-procs", type=int, default=3, help="client processes of the overload (cheaper than the server)"
    )
    p.add_argument(
        "--profile",
        type=float,
        default=0,
        help="seconds of py-spy on the server in two extra runs: wrk, and the open loop at half its max (0: none)",
    )
    p.add_argument(
        "--profile-drain",
        type=float,
        default=0,
        help="seconds of py-spy on the server while it drains the pre-filled outbox (that figure is then perturbed)",
    )
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the Parley server (A/B a setting, e.g. PARLEY_LOG_LEVEL=warning)",
    )
    p.add_argument("--no-baselines", action="store_true", help="measure Parley only")
    p.add_argument("--parley-src", type=Path, help="serve Parley from this src/ directory (A/B of a change)")
    p.add_argument("--quick", action="store_true", help="small, short smoke run")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir and logs")
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help="where to write the JSON results")
    return p


def quick_defaults(p: argparse.ArgumentParser) -> dict[str, Any]:
    """--quick's sizes: defaults only, an option given on the command line wins (options.parse_with_quick)."""
    return {
        "duration": 5,
        "warmup": 1,
        "latency_duration": 4,
        "businesses": 5,
        "people": 200,
        "online": 50,
        "contacts": 2,
        "backlog": min(p.get_default("backlog"), 1000),
        "drain_timeout": min(p.get_default("drain_timeout"), 20),
        "overload": min(p.get_default("overload"), 3),
    }


def parse_args(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """Parse a Cloud API run's options (`parser`: build_parser()'s, possibly with a script's own options added)."""
    p = parser or build_parser()
    return finish_args(parse_with_quick(p, argv, quick_defaults))


def finish_args(args: argparse.Namespace) -> argparse.Namespace:
    """The bounds that depend on other options."""
    args.online = max(0, min(args.online, args.people))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_nofile(NOFILE)
    if shutil.which("wrk") is None:
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
            "settings_env": BENCH_ENV,
            "template": template_submission(args.template_category),
        },
    }
    path = None
    with workspace(args.keep) as workdir:
        data_dir = workdir / "var"
        logs = workdir / "logs"
        logs.mkdir()
        console.print(
            f"[bold]Parley Cloud API benchmark[/bold] — {results['meta']['machine']['summary']}; load average "
            f"{results['meta']['loadavg_start']}; work dir {workdir}"
        )
        parley_cli(data_dir, "db", "upgrade", parley_src=args.parley_src)
        hook_port = free_port()
        receiver = Proc("webhook_receiver.py", "serve", {"port": hook_port, "hold_max_s": 3600}, workdir)
        hooks: dict[str, Any] = {}
        try:
            receiver.wait_ready(30, "the webhook receiver")
            hook_base = f"http://127.0.0.1:{hook_port}"
            t0 = time.monotonic()
            businesses, people, facts = seed(data_dir, args, hook_base)
            facts["seconds"] = time.monotonic() - t0
            facts["templates"] = template_states(data_dir / "parley.db")
            results["meta"]["seed"] = facts
            check_templates(facts, len(businesses), args.template_category)
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress:
                if not args.no_baselines:
                    results["receiver_baseline"] = receiver_baseline(args, workdir, progress)
                results["parley"] = parley_phase(args, data_dir, logs, workdir, receiver, businesses, people, progress)
                receiver.tell("stop")
                hooks = receiver.wait_result(60)
                join_records(results["parley"], hooks)
                results["receiver"] = {k: v for k, v in hooks.items() if not k.startswith("status_")}
                if not args.no_baselines:
                    # --online 0: the sends go to every person, as in parley_phase.
                    reached = people[: args.online] or people
                    online = [Person(p.index, p.user_id, p.phone.lstrip("+"), p.phone) for p in reached]
                    # Baselines take any bearer token; their WebSocket token is the phone's digits.
                    fake = [Business(b.index, 0, b.phone_number_id, 0, f"biz{b.index}", b.phone) for b in businesses]
                    entries = build_entries(fake, online, args.contacts)
                    results["baselines"] = {
                        kind: baseline_phase(kind, args, entries, logs, workdir, progress)
                        for kind in ("raw", "fastapi")
                    }
        finally:
            receiver.kill()
            results["meta"]["loadavg_end"] = loadavg()
            results["meta"]["total_seconds"] = time.time() - started
            results["consistency"] = consistency(data_dir / "parley.db", results, hooks)
            if "parley" in results:
                results["billing"] = billing_consistency(
                    data_dir / "parley.db",
                    billing_enabled(args.server_env),
                    args.template_category == "MARKETING",
                )
                results["ledger_verify"] = ledger_verify(data_dir, args.parley_src)
            args.out.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            path = args.out / f"cloud-{stamp}.json"
            path.write_text(json.dumps(results, indent=1, default=str))
            shutil.copyfile(path, args.out / "cloud-latest.json")
    console.print(report(results))
    console.print(webhook_report(results))
    c = results["consistency"]
    console.print(
        f"accepted sends {c['accepted']:,}, outbound business messages in the database {c['outbound_rows']:,} "
        f"({'ok' if c['ok'] else 'MISSING ROWS'}); outbox after shutdown {c['outbox_states']}; "
        f"status updates received {c['statuses_received']} (duplicates {c['duplicates']:,})"
    )
    if "billing" in results:
        console.print(billing_line(results["billing"], results["ledger_verify"]))
    console.print(f"total {results['meta']['total_seconds']:.0f} s; JSON: {path}")
    return 0


def billing_line(b: dict[str, Any], verify: dict[str, Any] | None) -> str:
    """One line on the ledger after a run: the charged path's books, and `parley ledger verify`."""
    if not b.get("billing_on"):
        head = "billing off: no message transfers, no charge rows"
    else:
        head = (
            f"billing: {b.get('delivered_template_sends', 0):,} delivered template sends, "
            f"{b.get('ledger_posts', 0):,} ledger postings ({b.get('ledger_posted_micros', 0) / 1e6:,.6f} USD), "
            f"charge rows {b.get('charge_rows_by_state', {})}, {b.get('holds', 0):,} holds"
        )
    verdict = "[green]ok[/green]" if b.get("ok") else f"[red]{'; '.join(b.get('problems', []))}[/red]"
    if verify is None:
        return f"{head} — {verdict}"
    if verify.get("ran"):
        ledger = f"`parley ledger verify` exit {verify['exit_status']}"
    else:
        ledger = "`parley ledger verify`: no such command yet"
        done = verify.get("in_process")
        if done:
            state = "[green]ok[/green]" if done["ok"] else f"[red]failed: {done['failed']}[/red]"
            ledger += f"; the same checks in-process (verify_journal, {done['transfers']:,} transfers): {state}"
    return f"{head} — {verdict}; {ledger}"


def billing_enabled(server_env: list[str]) -> bool:
    """Whether the server ran with billing on (the setting's default), from --server-env."""
    env = dict(kv.split("=", 1) for kv in server_env)
    return env.get("PARLEY_BILLING__ENABLED", "true").strip().lower() not in ("false", "0", "off", "no", "f", "n")


def billing_consistency(db_path: Path, billing_on: bool, charged: bool) -> dict[str, Any]:
    """The ledger after a run, read from the SQLite file once the server is gone.

    Billing on and charged templates (MARKETING): every template send that was delivered (status delivered or
    read) has exactly one ledger posting (`post` of its hold, key `msg:<id>:charge`) and a `charged` charge row
    for the same amount, nothing else was posted, and every template send not delivered (yet) still holds its
    reservation. Free templates (UTILITY in the window): no posting at all, a `free` charge row per delivered
    message. Billing off: no hold, no posting, no charge row at all.
    """
    DELIVERED, READ, FAILED = 2, 3, 9  # parley.business.models status codes
    out: dict[str, Any] = {"billing_on": billing_on, "charged_templates": charged}
    if not db_path.exists():
        return {**out, "ok": False, "problems": [f"no database at {db_path}"]}
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        sends = conn.execute(
            "SELECT message_id, status, template_id IS NOT NULL FROM business_messages WHERE direction = 'out'"
        ).fetchall()
        transfers = conn.execute(
            "SELECT key, kind, amount, pending_id FROM ledger_transfers WHERE key LIKE 'msg:%'"
        ).fetchall()
        charges = conn.execute("SELECT message_id, state, amount FROM billing_charges").fetchall()
    templates = {m: status for m, status, is_template in sends if is_template}
    delivered = {m for m, status in templates.items() if status in (DELIVERED, READ)}
    waiting = {m for m, status in templates.items() if status not in (DELIVERED, READ, FAILED)}
    posts: Counter[int] = Counter()
    post_amount: dict[int, int] = {}
    holds: set[int] = set()
    resolved: set[int] = set()
    for key, kind, amount, pending_id in transfers:
        message_id = int(key.split(":")[1])
        if kind == "post":
            posts[message_id] += 1
            post_amount[message_id] = amount
        if kind == "pending":
            holds.add(message_id)
        if pending_id is not None:
            resolved.add(pending_id)
    charge_rows = {m: (state, amount) for m, state, amount in charges}
    states = Counter(state for state, _ in charge_rows.values())
    problems: list[str] = []

    def expect(ok: bool, problem: str) -> None:
        if not ok:
            problems.append(problem)

    posted = set(posts)
    if not billing_on:
        expect(not transfers, f"billing off, yet {len(transfers):,} message transfers in the ledger")
        expect(not charges, f"billing off, yet {len(charges):,} charge rows")
    elif charged:
        missing = delivered - posted
        expect(not missing, f"{len(missing):,} delivered template sends without a ledger posting")
        extra = posted - delivered
        expect(not extra, f"{len(extra):,} postings for messages that are not delivered template sends")
        twice = [m for m, n in posts.items() if n > 1]
        expect(not twice, f"{len(twice):,} messages posted more than once")
        not_charged = [m for m in delivered if charge_rows.get(m, ("", 0))[0] != "charged"]
        expect(not not_charged, f"{len(not_charged):,} delivered template sends without a `charged` charge row")
        wrong = [m for m in posted if charge_rows.get(m, ("", -1))[1] != post_amount[m]]
        expect(not wrong, f"{len(wrong):,} charge rows whose amount differs from the posting")
        unheld = waiting - holds
        expect(not unheld, f"{len(unheld):,} undelivered template sends without a reservation")
    else:
        expect(not posted, f"free templates, yet {len(posted):,} postings")
        not_free = [m for m in delivered if charge_rows.get(m, ("", 0))[0] != "free"]
        expect(not not_free, f"{len(not_free):,} delivered template sends without a `free` charge row")
    return {
        **out,
        "template_sends": len(templates),
        "delivered_template_sends": len(delivered),
        "undelivered_template_sends": len(waiting),
        "ledger_posts": sum(posts.values()),
        "ledger_posted_micros": sum(post_amount.values()),
        "holds": len(holds),
        "holds_resolved": len(resolved),
        "charge_rows_by_state": dict(states),
        "charged_micros": sum(a for s, a in charge_rows.values() if s == "charged"),
        "ok": not problems,
        "problems": problems,
    }


def ledger_verify(data_dir: Path, parley_src: Path | None) -> dict[str, Any]:
    """`parley ledger verify --json` on a run's data dir (server stopped), when that command exists."""
    src = parley_src or REPO_DIR / "src"
    if not (src / "parley" / "cli" / "ledger.py").exists():
        return {
            "ran": False,
            "why": f"{src}/parley/cli/ledger.py does not exist (no `parley ledger verify` yet)",
            "in_process": verify_in_process(data_dir / "parley.db"),
        }
    from servers import parley_env

    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "parley", "ledger", "verify", "--json"],
        env=parley_env(data_dir, 0, parley_src),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO_DIR,
    )
    report: Any = None
    with contextlib.suppress(json.JSONDecodeError):
        report = json.loads(done.stdout)
    return {
        "ran": True,
        "exit_status": done.returncode,
        "ok": done.returncode == 0,
        "seconds": time.monotonic() - t0,
        "report": report if report is not None else done.stdout[-2000:],
        "stderr": done.stderr[-2000:],
    }


def verify_in_process(db_path: Path) -> dict[str, Any]:
    """The journal checks the CLI would run (`parley.ledger.verify_journal`), on the file, in this process."""
    from sqlalchemy import create_engine

    from parley.ledger import verify_journal

    engine = create_engine(f"sqlite:///{db_path}")
    t0 = time.monotonic()
    try:
        with engine.connect() as conn:
            report = verify_journal(conn)
    finally:
        engine.dispose()
    return {
        "ok": report.ok,
        "seconds": time.monotonic() - t0,
        "transfers": report.transfers,
        "accounts": report.accounts,
        "failed": {c.name: c.problems for c in report.checks if not c.ok},
    }


def consistency(db_path: Path, results: dict[str, Any], hooks: dict[str, Any]) -> dict[str, Any]:
    """Every accepted send is an outbound business message once the server is gone; what the outbox holds."""
    p = results.get("parley", {})
    accepted = (
        (p.get("max") or {}).get("ok", 0)
        + sum(r["ok"] for r in p.get("fixed_rate", []))
        + (p.get("overload") or {}).get("ok", 0)
    )
    rows, states = 0, {}
    if db_path.exists():
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
            rows = conn.execute("SELECT count(*) FROM business_messages WHERE direction = 'out'").fetchone()[0]
            states = dict(conn.execute("SELECT state, count(*) FROM webhook_events GROUP BY state").fetchall())
    # wrk's warm-up and the profiled run are accepted too but not counted: rows may exceed, never fall short.
    return {
        "accepted": accepted,
        "outbound_rows": rows,
        "ok": rows >= accepted,
        "outbox_states": states,
        "statuses_received": hooks.get("statuses", {}),
        "duplicates": p.get("webhook_duplicates", 0),
    }


if __name__ == "__main__":
    sys.exit(main())
