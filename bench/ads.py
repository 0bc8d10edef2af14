"""Ad slots per second (issue 14): `GET /ads/v1/slot` on a real `parley serve` with 1,000 active approved ads
(an auction per request, standard pacing, frequency caps), beside the bare ASGI endpoint in the same run, and the
p99 latency at half the measured maximum from a paced (open-loop) client.

    .venv/bin/python bench/ads.py              # ~1.5 minutes on 2 cores
    .venv/bin/python bench/ads.py --quick      # smoke run

Setup (in-process through Parley's Container on a fresh SQLite data dir, before the server starts): --businesses
businesses with a large wallet, each an ad account with ads (one ad set each; 1,000 in all) targeting a mix of
markets (BR, US, MX, IN, DE and everyone), languages and a few interests (never matched: nobody consented), bids
from 2.00 to 12.00 CPM, standard pacing with daily budgets, frequency cap 3; --viewers signed viewer cookies.
Then:
1. wrk (--connections, --seconds) on `GET /ads/v1/slot` with the cookie and the locale varying per request;
2. wrk the same way on the bare ASGI app (bench/baseline_app.py `raw`: `/healthz`, a JSON answer with no work);
3. a paced client (--procs processes, open loop: latency counts from when each request was due) for
   --paced-seconds at half the goal (1,000/s) and at half the measured maximum: p50 / p99;
4. `parley ledger verify` on the data dir (the flushed spend must balance) and the impressions written.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from array import array
from collections import deque
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from options import parse_with_quick
from proto import HttpConnection, http_request
from servers import BENCH_DIR, Server, parley_cli
from stats import latency_summary, loadavg, run_async

MARKETS = [["BR"], ["US"], ["MX"], ["IN"], ["DE"], []]
LANGUAGES = {"BR": ["pt"], "US": ["en"], "MX": ["es"], "IN": ["en", "hi"], "DE": ["de"]}


async def seed(data_dir: Path, businesses: int, ads_total: int, viewers: int) -> list[str]:
    """The ads (direct inserts) and the viewers' cookie values."""
    from sqlalchemy import insert

    from parley.ads.models import ad_accounts, ad_campaigns, ad_sets, ads
    from parley.config import Settings
    from parley.container import build_container

    container = build_container(Settings(data_dir=data_dir, secret_key="bench-secret"))
    await container.start()
    rng = random.Random(14)
    try:
        now = container.clock.now_ms()
        currency = container.settings.billing.currency
        per_business = -(-ads_total // businesses)
        made = 0
        for b in range(businesses):
            created = await container.business.create_business(f"Advertiser {b}", f"+1628{4_000_000 + b:07d}")
            await container.billing.topup(created.waba_id, 10**13, "bench")
            account_id = container.ids.next_id()
            rows: dict[str, list[dict[str, Any]]] = {"campaigns": [], "sets": [], "ads": []}
            for _ in range(min(per_business, ads_total - made)):
                link = await container.referral_links.create_link(
                    created.phone_number_id, {"headline": "Ad", "body": "Body", "prefilled_text": "Hi!"}
                )
                campaign_id, set_id, ad_id = (container.ids.next_id() for _ in range(3))
                countries = rng.choice(MARKETS)
                languages = LANGUAGES[countries[0]] if countries and rng.random() < 0.5 else []
                interests = ["fashion"] if rng.random() < 0.1 else []
                stamp = {"created_at": now, "updated_at": now}
                rows["campaigns"].append(
                    {
                        "id": campaign_id,
                        "account_id": account_id,
                        "name": "C",
                        "objective": "OUTCOME_ENGAGEMENT",
                        "status": "ACTIVE",
                        **stamp,
                    }
                )
                rows["sets"].append(
                    {
                        "id": set_id,
                        "account_id": account_id,
                        "campaign_id": campaign_id,
                        "name": "S",
                        "status": "ACTIVE",
                        "phone_number_id": created.phone_number_id,
                        "daily_budget": rng.randint(50, 500) * 1_000_000,
                        "lifetime_budget": None,
                        "start_time": now - 1000,
                        "end_time": None,
                        "bid_strategy": "LOWEST_COST_WITH_BID_CAP",
                        "bid_amount": rng.randint(2_000, 12_000) * 1_000,
                        "billing_event": "IMPRESSIONS",
                        "optimization_goal": "CONVERSATIONS",
                        "pacing": "standard",
                        "targeting": json.dumps(
                            {"countries": countries, "languages": languages, "interests": interests}
                        ),
                        "frequency_cap": 3,
                        **stamp,
                    }
                )
                rows["ads"].append(
                    {
                        "id": ad_id,
                        "account_id": account_id,
                        "campaign_id": campaign_id,
                        "ad_set_id": set_id,
                        "name": "A",
                        "status": "ACTIVE",
                        "review_status": "APPROVED",
                        "headline": f"Ad {made}",
                        "body": "Message us on Parley",
                        "media_type": None,
                        "prefilled_text": "Hi!",
                        "link_code": link["code"],
                        "quality": rng.random(),
                        **stamp,
                    }
                )
                made += 1

            def unit(
                conn: Any,
                rows: dict[str, list[dict[str, Any]]] = rows,
                waba: int = created.waba_id,
                account: int = account_id,
            ) -> None:
                conn.execute(
                    insert(ad_accounts).values(
                        id=account,
                        waba_id=waba,
                        name="Ads",
                        currency=currency,
                        timezone="UTC",
                        status="ACTIVE",
                        created_at=now,
                    )
                )
                conn.execute(insert(ad_campaigns), rows["campaigns"])
                conn.execute(insert(ad_sets), rows["sets"])
                conn.execute(insert(ads), rows["ads"])

            await container.db.write("bench.ads", unit)
        ids = container.ad_viewers
        return [ids.cookie_value(ids.anonymous()) for _ in range(viewers)]
    finally:
        await container.close()


def run_wrk(port: int, path: str, cookies_file: Path, connections: int, seconds: float) -> dict[str, Any]:
    argv = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{int(seconds)}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(BENCH_DIR / "ads_slot.lua"),
        f"http://127.0.0.1:{port}",
        "--",
        str(cookies_file),
        path,
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next((x for x in out.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    data: dict[str, Any] = json.loads(line[len("BENCHJSON ") :])
    ok = data["requests"] - data["errors"]["status"]
    data["ok_per_second"] = round(ok / (data["duration_us"] / 1e6), 1)
    return data


# --- the paced client (a separate process per --procs) ---------------------------------------------------


async def paced(cfg: dict[str, Any]) -> dict[str, Any]:
    """Open loop at a fixed rate: each request is due at its time whatever the answers do; the wait for a free
    connection counts in its latency (no coordinated omission). Connections open as needed up to `conns`."""
    loop = asyncio.get_running_loop()
    host, port, rate, seconds = "127.0.0.1", cfg["port"], float(cfg["rate"]), float(cfg["seconds"])
    cookies: list[str] = cfg["cookies"]
    locales = ["pt-BR", "en-US", "es-MX", "en-IN", "de-DE", "hi-IN"]
    latencies = array("q")
    statuses: dict[int, int] = {}
    idle: list[HttpConnection] = []
    waiting: deque[tuple[int, bytes]] = deque()
    openers: set[asyncio.Task[None]] = set()

    def on_response(conn: HttpConnection, status: int, _body: bytes) -> None:
        latencies.append((time.monotonic_ns() - conn.started_ns) // 1000)
        statuses[status] = statuses.get(status, 0) + 1
        give(conn)

    def give(conn: HttpConnection) -> None:
        if not conn.usable:
            return
        if waiting:
            due, raw = waiting.popleft()
            conn.started_ns = due
            conn.send(raw)
        else:
            idle.append(conn)

    conns: list[HttpConnection] = []
    opening = [0]

    async def open_one() -> None:
        opening[0] += 1
        try:
            _, conn = await loop.create_connection(lambda: HttpConnection(on_response), host, port)
        finally:
            opening[0] -= 1
        conns.append(conn)
        give(conn)

    for _ in range(8):
        await open_one()
    total = int(rate * seconds)
    interval = 1e9 / rate
    t0 = time.monotonic_ns()
    i = 0
    while i < total:
        now = time.monotonic_ns()
        while i < total and t0 + int(i * interval) <= now:
            due = t0 + int(i * interval)
            path = f"/ads/v1/slot?placement=feed-1&locale={locales[i % len(locales)]}"
            raw = http_request("GET", path, f"{host}:{port}", {"Cookie": f"parley_viewer={cookies[i % len(cookies)]}"})
            while idle and not idle[-1].usable:
                idle.pop()  # closed by the server while idle (keep-alive timeout)
            if idle:
                conn = idle.pop()
                conn.started_ns = due
                conn.send(raw)
            else:
                waiting.append((due, raw))
                if len(conns) + opening[0] < int(cfg["conns"]) and opening[0] < 8:
                    opener = loop.create_task(open_one())
                    openers.add(opener)
                    opener.add_done_callback(openers.discard)
            i += 1
        await asyncio.sleep(max(0.0005, (t0 + int(i * interval) - time.monotonic_ns()) / 1e9))
    deadline = time.monotonic() + 10
    while len(latencies) < total and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    return {"scheduled": total, "latencies_us": latencies.tolist(), "statuses": statuses}


def paced_run(port: int, rate: float, seconds: float, cookies: list[str], procs: int, workdir: Path) -> dict[str, Any]:
    children = []
    for k in range(procs):
        cfg = {"port": port, "rate": rate / procs, "seconds": seconds, "cookies": cookies[k::procs], "conns": 64}
        path = workdir / f"paced-{k}.json"
        path.write_text(json.dumps(cfg))
        children.append((subprocess.Popen([sys.executable, __file__, "--paced-worker", str(path)]), path))
    results = []
    for child, path in children:
        child.wait(timeout=seconds + 60)
        results.append(json.loads(path.with_suffix(".result.json").read_text()))
    latencies = [us / 1000 for r in results for us in r["latencies_us"]]
    statuses: dict[str, int] = {}
    for r in results:
        for key, value in r["statuses"].items():
            statuses[key] = statuses.get(key, 0) + value
    return {
        "rate": rate,
        "seconds": seconds,
        "statuses": statuses,
        "scheduled": sum(r["scheduled"] for r in results),
        "latency": latency_summary(latencies),
    }


def main(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="parley-bench-ads-"))
    try:
        parley_cli(data_dir, "db", "upgrade")
        t0 = time.monotonic()
        cookies = run_async(seed(data_dir, args.businesses, args.ads, args.viewers))
        print(f"seeded {args.ads} ads and {len(cookies)} viewers in {time.monotonic() - t0:.1f} s", flush=True)
        cookies_file = data_dir / "cookies.txt"
        cookies_file.write_text("\n".join(cookies) + "\n")
        rows: dict[str, Any] = {}
        raw = Server.baseline("raw", data_dir)
        raw.start()
        try:
            rows["raw_asgi"] = run_wrk(raw.port, "/healthz", cookies_file, args.connections, args.seconds)
        finally:
            raw.stop()
        server = Server.parley(data_dir, data_dir)
        server.start()
        try:
            run_wrk(server.port, "/ads/v1/slot", cookies_file, args.connections, 3)  # warm-up
            cpu = server.cpu()
            rows["slot"] = run_wrk(server.port, "/ads/v1/slot", cookies_file, args.connections, args.seconds)
            rows["slot"]["server_cpu_s"] = round(server.cpu() - cpu, 2)
            goal_half = args.goal / 2
            rows["paced_goal_half"] = paced_run(
                server.port, goal_half, args.paced_seconds, cookies, args.procs, data_dir
            )
            half = rows["slot"]["ok_per_second"] / 2
            rows["paced_half"] = paced_run(server.port, half, args.paced_seconds, cookies, args.procs, data_dir)
        finally:
            server.stop()
        db = sqlite3.connect(data_dir / "parley.db")
        filled = db.execute("SELECT count(*), coalesce(sum(price), 0) FROM ad_impressions").fetchone()
        sets = db.execute("SELECT count(DISTINCT ad_set_id) FROM ad_impressions").fetchone()[0]
        db.close()
        rows["written"] = {"impressions": filled[0], "spend_micros": filled[1], "ad_sets_served": sets}
        rows["ledger_verify"] = parley_cli(data_dir, "ledger", "verify", "--json")[-300:].strip()
        slot, base = rows["slot"], rows["raw_asgi"]
        paced_lat = rows["paced_half"]["latency"]
        summary = {
            "ads": args.ads,
            "slot_per_s": slot["ok_per_second"],
            "slot_non_2xx": slot["errors"]["status"],
            "slot_wrk_p99_ms": slot["latency_us"]["p99"] / 1000,
            "raw_asgi_per_s": base["ok_per_second"],
            "slot_vs_raw": round(slot["ok_per_second"] / base["ok_per_second"], 3),
            "paced_goal_half_rate": goal_half,
            "paced_goal_half_p50_ms": rows["paced_goal_half"]["latency"]["p50_ms"],
            "paced_goal_half_p99_ms": rows["paced_goal_half"]["latency"]["p99_ms"],
            "paced_rate": round(rows["paced_half"]["rate"], 1),
            "paced_p50_ms": paced_lat["p50_ms"],
            "paced_p99_ms": paced_lat["p99_ms"],
            "paced_statuses": rows["paced_half"]["statuses"],
            "goal_rate_met": slot["ok_per_second"] >= args.goal,
            "goal_p99_met": (rows["paced_goal_half"]["latency"]["p99_ms"] or 1e9) <= 20,
            **rows["written"],
            "loadavg_after": loadavg(),
        }
        for name in ("raw_asgi", "slot"):
            print(name, json.dumps({k: v for k, v in rows[name].items()}))
        print("ledger verify:", rows["ledger_verify"])
        print("SUMMARY", json.dumps(summary))
        results = BENCH_DIR / "results"
        results.mkdir(exist_ok=True)
        (results / f"ads-{int(time.time())}.json").write_text(json.dumps({"summary": summary, **rows}, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ads", type=int, default=1000)
    parser.add_argument("--businesses", type=int, default=20)
    parser.add_argument("--viewers", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--paced-seconds", type=float, default=20.0)
    parser.add_argument("--procs", type=int, default=2, help="paced client processes")
    parser.add_argument("--goal", type=float, default=2000.0, help="the rate goal; p99 is also read at half of it")
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    parser.add_argument("--quick", action="store_true", help="smoke run: small numbers")
    quick = {"seconds": 5.0, "paced_seconds": 5.0, "viewers": 1000}
    return parse_with_quick(parser, None, lambda _parser: quick)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--paced-worker":
        config = Path(sys.argv[2])
        result = run_async(paced(json.loads(config.read_text())))
        config.with_suffix(".result.json").write_text(json.dumps(result))
    else:
        main(parse_args())
