"""What billing adds to a Cloud API send (issue 4, "Performance": at most 20 %, same run, billing on vs off).

    .venv/bin/python bench/billing_overhead.py              # off, on × 3 at cloud_api.py's default sizes
    .venv/bin/python bench/billing_overhead.py --quick      # small sizes, short runs
    .venv/bin/python bench/billing_overhead.py --profile 10 # plus py-spy of every server in extra runs
    .venv/bin/python bench/billing_overhead.py --help       # cloud_api.py's options, and the ones below

One seed, several servers: cloud_api.py's seed runs once (businesses whose template is approved as MARKETING,
so every template send is reserved at send and charged at delivery, text sends stay free in the window;
wallets with a trial credit no run spends). Every server run then gets its own copy of that seeded data dir
and the same load, cloud_api.parley_phase: start-up drain of the people's first messages, the people on
their WebSockets acking every message (-> delivered: the moment of the charge) and reading half, a warm-up,
wrk for the max accepted sends/s, then one open-loop run at a fixed rate that is the same for every run
(--ab-rate; default 25 % of the first run's max: a rate either variant sustains with room to spare).
The runs alternate billing off (`PARLEY_BILLING__ENABLED=false`) and on (--order, default 3 pairs), so
the load of the other engineers' tests on this 2-core machine drifts over both alike. Parley is served (and
seeded) from a copy of src/ taken at the start, so edits made meanwhile reach no run: by default the last
commit's (`git archive HEAD src`: the figures belong to a commit), `--src worktree` the work tree as it is
(uncommitted changes included), `--src live` the live tree.

Figures per variant (median over its runs) and their ratio on/off: max accepted sends/s; server CPU per
accepted send over the wrk run (the figure docs/benchmarks.md uses), and with the settling after it (the
deliveries, acks and charges of those sends); the open loop's send p50/p99 from when due and server CPU per
send at the fixed rate (load and drain). The raw ASGI baseline once, at the end, for scale.

Checks after every run (server stopped, SQLite file read directly): billing off leaves no message transfer
and no charge row; billing on: every delivered template send has exactly one ledger posting and a charged
row of the same amount, nothing else is posted, undelivered template sends still hold their reservation; and
`parley ledger verify --json` exits 0 (when that command exists). JSON: bench/results/billing-ab-*.json.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import io
import json
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cloud_api
from cloud_api import (
    BENCH_ENV,
    BENCH_TRIAL_CREDIT,
    Business,
    Person,
    Proc,
    baseline_phase,
    billing_consistency,
    build_entries,
    check_templates,
    console,
    join_records,
    ledger_verify,
    parley_phase,
    seed,
    template_states,
    template_submission,
)
from run import git_state, machine_info, versions, workspace
from servers import NOFILE, REPO_DIR, parley_cli
from stats import free_port, loadavg, raise_nofile

GOAL_RATIO = 1.20  # billing on: at most 20 % more server CPU per send than off
VARIANT_ENV = {
    "off": ["PARLEY_BILLING__ENABLED=false"],
    "on": ["PARLEY_BILLING__ENABLED=true", f"PARLEY_BILLING__TRIAL_CREDIT={BENCH_TRIAL_CREDIT}"],
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = cloud_api.build_parser(__doc__)
    p.set_defaults(template_category="MARKETING", backlog=0, overload=0)
    p.add_argument(
        "--order",
        default="off,on,off,on,off,on",
        help="the server runs, in order: billing off/on, comma-separated (e.g. off,on,on,off)",
    )
    p.add_argument(
        "--ab-rate",
        type=float,
        help="open-loop sends/s of every run (default: 25 %% of the first run's max); replaces --rates",
    )
    p.add_argument(
        "--src",
        choices=("head", "worktree", "live"),
        default="head",
        help="what Parley runs: a copy of src/ at HEAD (default), a copy of the work tree's, or the live tree",
    )
    p.add_argument("--report", type=Path, metavar="JSON", help="print the tables of an earlier run's JSON and stop")
    args = cloud_api.parse_args(argv, p)
    args.order = [v.strip() for v in args.order.split(",") if v.strip()]
    if not args.order or set(args.order) - set(VARIANT_ENV) or len(set(args.order)) < 2:
        p.error("--order: off and on, each at least once, e.g. off,on,off,on")
    return args


def snapshot_src(workdir: Path, which: str) -> Path:
    """A copy of src/ (HEAD's or the work tree's): every server of the run serves the same code."""
    if which == "worktree":
        target = workdir / "src"
        shutil.copytree(REPO_DIR / "src", target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        return target
    commit = git_state(REPO_DIR)["commit"]  # archive that commit: HEAD may move while the bench runs
    archive = subprocess.run(
        ["git", "-C", str(REPO_DIR), "archive", "--format=tar", commit, "src"], capture_output=True, check=True
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(workdir / commit, filter="data")
    return workdir / commit / "src"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report is not None:
        earlier = json.loads(args.report.read_text())
        earlier["summary"] = summarize(earlier)
        console.print(report(earlier))
        for line in check_lines(earlier):
            console.print(line)
        return 0
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
            "git": git_state(REPO_DIR),
            "loadavg_start": loadavg(),
            "settings_env": BENCH_ENV,
            "variant_env": VARIANT_ENV,
            "template": template_submission(args.template_category),
        },
        "runs": [],
    }
    path = None
    with workspace(args.keep) as workdir:
        if args.src != "live" and args.parley_src is None:
            args.parley_src = snapshot_src(workdir, args.src)
            results["meta"]["src_snapshot"] = {"from": args.src, "path": str(args.parley_src)}
            if args.src == "head":
                results["meta"]["git"] = {"commit": args.parley_src.parent.name, "served": "HEAD's src/ (archived)"}
        if args.parley_src is not None:
            sys.path.insert(0, str(args.parley_src))  # the in-process seed imports the same code
        seed_dir = workdir / "seed"
        logs = workdir / "logs"
        logs.mkdir()
        console.print(
            f"[bold]Billing overhead on Cloud API sends[/bold] — {results['meta']['machine']['summary']}; "
            f"load average {results['meta']['loadavg_start']}; runs {', '.join(args.order)}; work dir {workdir}"
        )
        parley_cli(seed_dir, "db", "upgrade", parley_src=args.parley_src)
        hook_port = free_port()
        receiver = Proc("webhook_receiver.py", "serve", {"port": hook_port, "hold_max_s": 3600}, workdir)
        try:
            receiver.wait_ready(30, "the webhook receiver")
            t0 = time.monotonic()
            businesses, people, facts = seed(seed_dir, args, f"http://127.0.0.1:{hook_port}")
            facts["seconds"] = time.monotonic() - t0
            facts["templates"] = template_states(seed_dir / "parley.db")
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
                rate = run_all(args, results, seed_dir, logs, workdir, receiver, businesses, people, progress)
                receiver.tell("stop")
                hooks = receiver.wait_result(60)
                for run in results["runs"]:
                    join_records(run, hooks)
                if not args.no_baselines and rate is not None:
                    results["baseline_raw"] = raw_baseline(args, businesses, people, rate, logs, workdir, progress)
        finally:
            receiver.kill()
            results["meta"]["loadavg_end"] = loadavg()
            results["meta"]["total_seconds"] = time.time() - started
            results["summary"] = summarize(results)
            args.out.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            path = args.out / f"billing-ab-{stamp}.json"
            path.write_text(json.dumps(results, indent=1, default=str))
            shutil.copyfile(path, args.out / "billing-ab-latest.json")
    console.print(report(results))
    for line in check_lines(results):
        console.print(line)
    console.print(f"total {results['meta']['total_seconds']:.0f} s; JSON: {path}")
    return 0


def run_all(
    args: argparse.Namespace,
    results: dict[str, Any],
    seed_dir: Path,
    logs: Path,
    workdir: Path,
    receiver: Proc,
    businesses: list[Business],
    people: list[Person],
    progress: Progress,
) -> float | None:
    """Every server run of --order on its own copy of the seed; returns the open-loop rate they shared."""
    rate: float | None = args.ab_rate

    def rates_for(max_rate: float) -> list[float]:
        nonlocal rate
        if rate is None:
            rate = float(max(1, round(0.25 * max_rate)))
        return [rate]

    for i, variant in enumerate(args.order):
        label = f"{i + 1}-billing-{variant}"
        data_dir = workdir / f"var-{label}"
        shutil.copytree(seed_dir, data_dir)
        run_args = copy.copy(args)
        run_args.server_env = [*args.server_env, *VARIANT_ENV[variant]]
        loadavg_before = loadavg()
        run = parley_phase(run_args, data_dir, logs, workdir, receiver, businesses, people, progress, rates_for, label)
        run |= {"variant": variant, "label": label, "loadavg_before": loadavg_before, "loadavg_after": loadavg()}
        run["billing"] = billing_consistency(
            data_dir / "parley.db", variant == "on", args.template_category == "MARKETING"
        )
        if variant == "on":
            run["ledger_verify"] = ledger_verify(data_dir, args.parley_src)
        results["runs"].append(run)
        console.print(run_line(run))
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return rate


def raw_baseline(
    args: argparse.Namespace,
    businesses: list[Business],
    people: list[Person],
    rate: float,
    logs: Path,
    workdir: Path,
    progress: Progress,
) -> dict[str, Any]:
    """The raw ASGI app (no Parley behind the route) under the same wrk run and open loop: the floor."""
    online = [Person(p.index, p.user_id, p.phone.lstrip("+"), p.phone) for p in people[: args.online] or people]
    fake = [Business(b.index, 0, b.phone_number_id, 0, f"biz{b.index}", b.phone) for b in businesses]
    base_args = copy.copy(args)
    base_args.rates = [str(rate)]
    return baseline_phase("raw", base_args, build_entries(fake, online, args.contacts), logs, workdir, progress)


# --- figures ------------------------------------------------------------------------------------------


def run_figures(run: dict[str, Any]) -> dict[str, float | None]:
    """The figures compared between variants, from one server run."""
    wrk = run.get("max") or {}
    fixed = (run.get("fixed_rate") or [{}])[0]
    ok = wrk.get("ok") or 0
    settle_cpu = ((wrk.get("drain_after") or {}).get("usage") or {}).get("server_cpu_seconds")
    fixed_ok = fixed.get("ok") or 0
    fixed_cpu = fixed_net = None
    if fixed_ok and "usage" in fixed:
        drain = (fixed.get("drain_after") or {}).get("usage") or {}
        fixed_cpu = fixed["usage"].get("server_cpu_seconds", 0.0) + drain.get("server_cpu_seconds", 0.0)
        # Less what the server burns with no load at all over the same time (sockets, timers).
        seconds = fixed["usage"].get("seconds", 0.0) + drain.get("seconds", 0.0)
        if "idle" in run:
            fixed_net = fixed_cpu - run["idle"]["server_cores"] * seconds
    latency = fixed.get("latency") or {}
    webhooks = (fixed.get("webhooks") or {}).get("all") or {}
    return {
        "max_sends_per_s": wrk.get("ok_per_second"),
        "cpu_ms_per_send_wrk": None if not ok else wrk["usage"]["server_cpu_seconds"] / ok * 1e3,
        "cpu_ms_per_send_wrk_settled": (
            None if not ok or settle_cpu is None else (wrk["usage"]["server_cpu_seconds"] + settle_cpu) / ok * 1e3
        ),
        "fixed_rate": fixed.get("target_rate"),
        "fixed_answered_per_s": fixed.get("achieved_rate"),
        "fixed_unanswered": fixed.get("incomplete"),
        "send_p50_ms": latency.get("p50_ms"),
        "send_p99_ms": latency.get("p99_ms"),
        "cpu_ms_per_send_fixed": None if fixed_cpu is None else fixed_cpu / fixed_ok * 1e3,
        "cpu_ms_per_send_fixed_net": None if fixed_net is None else fixed_net / fixed_ok * 1e3,
        "idle_cpu_pct": None if "idle" not in run else run["idle"]["server_cores"] * 100,
        "webhook_p99_ms": webhooks.get("p99_ms"),
        "push_p99_ms": (fixed.get("push_latency") or {}).get("p99_ms"),
    }


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Median per variant over its runs, and on/off ratios; the goal on the wrk run's CPU per send."""
    by_variant: dict[str, list[dict[str, float | None]]] = {"off": [], "on": []}
    for run in results.get("runs", []):
        by_variant[run["variant"]].append(run_figures(run))
    medians: dict[str, dict[str, float | None]] = {}
    for variant, figures in by_variant.items():
        keys = figures[0].keys() if figures else []
        medians[variant] = {
            k: (statistics.median(vals) if (vals := [f[k] for f in figures if f[k] is not None]) else None)
            for k in keys
        }
    ratios: dict[str, float | None] = {}
    for k in medians.get("on", {}):
        off, on = medians["off"].get(k), medians["on"].get(k)
        ratios[k] = None if off in (None, 0) or on is None else on / off
    pair_ratios: dict[str, list[float]] = {}
    for k in CPU_KEYS:
        offs = [f[k] for f in by_variant["off"]]
        ons = [f[k] for f in by_variant["on"]]
        pair_ratios[k] = [on / off for off, on in zip(offs, ons, strict=False) if off and on is not None]
    primary = ratios.get("cpu_ms_per_send_wrk")
    checks = {
        "billing_books": all(r.get("billing", {}).get("ok") for r in results.get("runs", [])),
        "ledger_verify": [
            r["ledger_verify"].get("ok") if r["ledger_verify"].get("ran") else None
            for r in results.get("runs", [])
            if "ledger_verify" in r
        ],
    }
    return {
        "per_run": [{"label": r["label"], **run_figures(r)} for r in results.get("runs", [])],
        "median": medians,
        "ratio_on_off": ratios,
        "pair_ratios": pair_ratios,
        "goal_ratio": GOAL_RATIO,
        "goal_met": None if primary is None else primary <= GOAL_RATIO,
        "checks": checks,
    }


def _n(v: float | None, fmt: str = "{:,.1f}", unit: str = "") -> str:
    return "–" if v is None else fmt.format(v) + unit


def _ratio(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}×"


ROWS: tuple[tuple[str, str, str], ...] = (
    ("max accepted sends/s (wrk)", "max_sends_per_s", "{:,.0f}"),
    ("server CPU per accepted send, wrk run (ms)", "cpu_ms_per_send_wrk", "{:,.2f}"),
    ("  … with the settling after it (ms)", "cpu_ms_per_send_wrk_settled", "{:,.2f}"),
    ("open loop: fixed rate (sends/s)", "fixed_rate", "{:,.0f}"),
    ("  answered (sends/s)", "fixed_answered_per_s", "{:,.1f}"),
    ("  send p50 from when due (ms)", "send_p50_ms", "{:,.1f}"),
    ("  send p99 from when due (ms)", "send_p99_ms", "{:,.1f}"),
    ("  server CPU per send, load + drain (ms)", "cpu_ms_per_send_fixed", "{:,.2f}"),
    ("  … less the idle server's CPU (ms)", "cpu_ms_per_send_fixed_net", "{:,.2f}"),
    ("  webhook p99, all statuses (ms)", "webhook_p99_ms", "{:,.0f}"),
    ("  send → WebSocket push p99 (ms)", "push_p99_ms", "{:,.1f}"),
    ("idle server CPU (% of a core)", "idle_cpu_pct", "{:,.1f}"),
)
# The CPU figures whose on/off ratio is the goal's; pair ratios are shown for these.
CPU_KEYS = ("cpu_ms_per_send_wrk", "cpu_ms_per_send_wrk_settled", "cpu_ms_per_send_fixed_net")


def report(results: dict[str, Any]) -> Table:
    meta, summary = results["meta"], results["summary"]
    a = meta["args"]
    table = Table(
        title=f"Billing off vs on — {meta['date']} — {meta['machine']['summary']} — {a['businesses']} businesses "
        f"({a['template_category']} template), {a['online']} of {a['people']} people online, wrk "
        f"-c{a['connections']} {a['duration']:.0f} s, open loop {a['latency_duration']:.0f} s"
    )
    table.add_column("figure", no_wrap=True)
    per_run = summary["per_run"]
    for run in per_run:
        table.add_column(run["label"].replace("-billing-", " "), justify="right")
    table.add_column("off", justify="right")
    table.add_column("on", justify="right")
    table.add_column("on/off", justify="right")
    table.add_column("pairs", justify="right")
    table.add_column("raw ASGI", justify="right")
    base = (results.get("baseline_raw") or {}).get("max") or {}
    base_fixed = ((results.get("baseline_raw") or {}).get("fixed_rate") or [{}])[0]
    raw = {
        "max_sends_per_s": base.get("ok_per_second"),
        "cpu_ms_per_send_wrk": None if not base else base["server_cpu_us_per_ok"] / 1e3,
        "fixed_answered_per_s": base_fixed.get("achieved_rate"),
        "send_p50_ms": (base_fixed.get("latency") or {}).get("p50_ms"),
        "send_p99_ms": (base_fixed.get("latency") or {}).get("p99_ms"),
    }
    for title, key, fmt in ROWS:
        pairs = summary["pair_ratios"].get(key) or []
        table.add_row(
            title,
            *(_n(run[key], fmt) for run in per_run),
            _n(summary["median"]["off"].get(key), fmt),
            _n(summary["median"]["on"].get(key), fmt),
            "" if key in ("fixed_rate", "idle_cpu_pct") else _ratio(summary["ratio_on_off"].get(key)),
            " ".join(f"{r:.2f}" for r in pairs) if key in CPU_KEYS else "",
            _n(raw.get(key), "{:,.3f}" if key == "cpu_ms_per_send_wrk" else fmt),
        )
    goal = summary["goal_met"]
    verdict = "–" if goal is None else ("[green]met[/green]" if goal else "[red]missed[/red]")
    table.add_row(
        f"goal: CPU per send on ≤ {GOAL_RATIO:.2f} × off (wrk run)",
        *("" for _ in per_run),
        "",
        "",
        verdict,
        "",
        "",
    )
    table.caption = (
        "off / on: medians over each variant's runs; on/off: their ratio; pairs: on ÷ off of the n-th on run and "
        "the n-th off run"
    )
    return table


def run_line(run: dict[str, Any]) -> str:
    f = run_figures(run)
    return (
        f"{run['label']}: {_n(f['max_sends_per_s'], '{:,.1f}', '/s')}, "
        f"{_n(f['cpu_ms_per_send_wrk'], '{:,.2f}', ' ms')} CPU per send; open loop "
        f"{_n(f['fixed_rate'], '{:,.0f}', '/s')}: p50/p99 {_n(f['send_p50_ms'])}/{_n(f['send_p99_ms'])} ms; "
        f"billing check {'ok' if run['billing'].get('ok') else run['billing'].get('problems')}; load average "
        f"{run['loadavg_before']} → {run['loadavg_after']}"
    )


def check_lines(results: dict[str, Any]) -> list[str]:
    lines = []
    for run in results.get("runs", []):
        line = f"{run['label']}: " + cloud_api.billing_line(run["billing"], run.get("ledger_verify"))
        if run.get("webhook_duplicates"):
            line += f"; {run['webhook_duplicates']:,} duplicate webhooks"
        lines.append(line)
    return lines


if __name__ == "__main__":
    sys.exit(main())
