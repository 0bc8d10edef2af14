"""What a flood from one client makes the server store (issue 11, finding 9): uploads from one free account, and
clicks on one click-to-chat link from one address.

    .venv/bin/python bench/storage_flood.py                              # this checkout, ~20 s
    .venv/bin/python bench/storage_flood.py --parley-src ../main/src     # the same flood against another checkout

A fresh data dir (`parley db upgrade`, one person and one business created with the CLI), then a real
`parley serve` process, and from this process:
- an upload flood: `--uploads` PDFs of `--file-mib` MiB each from one account, `--concurrency` at a time
  (the server runs with `PARLEY_MEDIA__UNSENT_QUOTA_BYTES` = `--quota-mib`, so the quota shows within a short run;
  the per-address rate limit is the default);
- a click flood: `--clicks` opens of one `/c/{code}` link from one address, once with one browser (one user
  agent, from 127.0.0.2) and once with a new user agent per click (from 127.0.0.3).
It reports the answers by status, the time taken, and what was stored: bytes in the media directory, rows in
`media` and `referral_clicks`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from servers import Server, parley_cli
from stats import run_async

console = Console()
MIB = 1024 * 1024


def pdf(size: int) -> bytes:
    head = b"%PDF-1.4\n"
    return head + b"%" * (size - len(head))


async def flood(client: httpx.AsyncClient, count: int, concurrency: int, request: Any) -> tuple[Counter[int], float]:
    """`count` requests, `concurrency` in flight; the answers by status and the seconds taken."""
    statuses: Counter[int] = Counter()
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            statuses[(await request(client, i)).status_code] += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return statuses, time.perf_counter() - started


def stored(db_file: Path, table: str) -> int:
    with sqlite3.connect(db_file) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def directory_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) if folder.exists() else 0


async def measure(args: argparse.Namespace, data_dir: Path, server: Server) -> dict[str, Any]:
    src = args.parley_src
    person = json.loads(
        parley_cli(data_dir, "user", "create", "--phone", "+14155550111", "--name", "F", "--json", parley_src=src)
    )
    biz = json.loads(
        parley_cli(data_dir, "business", "create", "--name", "S", "--phone", "+14155550190", "--json", parley_src=src)
    )
    base = f"http://127.0.0.1:{server.port}"
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        body = pdf(int(args.file_mib * MIB))

        async def upload(c: httpx.AsyncClient, i: int) -> httpx.Response:
            files = {"file": (f"f{i}.pdf", body, "application/pdf")}
            return await c.post("/client/v1/media", headers={"Authorization": f"Bearer {person['token']}"}, files=files)

        statuses, seconds = await flood(client, args.uploads, args.concurrency, upload)
        results["uploads"] = {
            "attempted_mib": round(args.uploads * len(body) / MIB, 1),
            "statuses": dict(sorted(statuses.items())),
            "seconds": round(seconds, 2),
            "stored_mib": round(directory_bytes(data_dir / "media") / MIB, 1),
            "media_rows": stored(data_dir / "parley.db", "media"),
        }

        link = await client.post(
            f"/v23.0/{biz['phone_number_id']}/referral_links",
            headers={"Authorization": f"Bearer {biz['access_token']}"},
            json={"headline": "Flood"},
        )
        code = link.json()["code"]
        # Each click flood from its own loopback address: the per-address limit of one does not touch the other.
        for mode, address in (("one browser", "127.0.0.2"), ("new user agent each click", "127.0.0.3")):
            before = stored(data_dir / "parley.db", "referral_clicks")
            transport = httpx.AsyncHTTPTransport(local_address=address)
            from_address = httpx.AsyncClient(base_url=base, timeout=60, transport=transport)

            async def click(c: httpx.AsyncClient, i: int, mode: str = mode) -> httpx.Response:
                agent = "Bench browser/1" if mode == "one browser" else f"Bench bot/{uuid.uuid4()}"
                return await c.get(f"/c/{code}", headers={"User-Agent": agent}, follow_redirects=False)

            async with from_address:
                statuses, seconds = await flood(from_address, args.clicks, args.concurrency, click)
            results[f"clicks, {mode}"] = {
                "attempted": args.clicks,
                "statuses": dict(sorted(statuses.items())),
                "seconds": round(seconds, 2),
                "rows_stored": stored(data_dir / "parley.db", "referral_clicks") - before,
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--file-mib", type=float, default=4)
    parser.add_argument("--quota-mib", type=int, default=64)
    parser.add_argument("--clicks", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--parley-src", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parley-storage-") as tmp:
        data_dir = Path(tmp) / "var"
        parley_cli(data_dir, "db", "upgrade", parley_src=args.parley_src)
        server = Server.parley(data_dir, Path(tmp), args.parley_src)
        server.env["PARLEY_MEDIA__UNSENT_QUOTA_BYTES"] = str(args.quota_mib * MIB)
        server.start()
        try:
            results = run_async(measure(args, data_dir, server))
        finally:
            server.stop()
    table = Table(title=f"one client's flood, {'this checkout' if args.parley_src is None else args.parley_src}")
    for column in ("flood", "attempted", "answers", "seconds", "stored"):
        table.add_column(column)
    uploads = results["uploads"]
    table.add_row(
        f"uploads ({args.file_mib:g} MiB each)",
        f"{args.uploads} ({uploads['attempted_mib']} MiB)",
        json.dumps(uploads["statuses"]),
        str(uploads["seconds"]),
        f"{uploads['stored_mib']} MiB in {uploads['media_rows']} files",
    )
    for name, figures in results.items():
        if name.startswith("clicks"):
            table.add_row(
                name,
                str(figures["attempted"]),
                json.dumps(figures["statuses"]),
                str(figures["seconds"]),
                f"{figures['rows_stored']} rows",
            )
    console.print(table)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    report = {"args": {**vars(args), "parley_src": str(args.parley_src)}, "results": results}
    (out / f"storage-flood-{int(time.time())}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
