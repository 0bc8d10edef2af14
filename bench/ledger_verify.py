"""`parley ledger verify` over a million transfers: wall time and peak memory, against a plain SQL floor.

    .venv/bin/python bench/ledger_verify.py                      # 1,000,000 transfers (~2 min to build)
    .venv/bin/python bench/ledger_verify.py --transfers 100000   # quicker

Builds a migrated SQLite file shaped like a year of Business API billing: per business a wallet with its trial
credit and top-ups; per message a hold that is posted (delivered), voided (failed) or still pending, and now
and then a refund (a reversing transfer). Going through the real `Ledger` would take far too long for 1M rows,
so the rows are built here with the ledger's own digest (`parley.ledger.repository.digest_of`) and account
totals summed as they are generated, and inserted with executemany in large transactions.

Then it runs `parley ledger verify --json` as a subprocess (the operator's command, container start included),
measuring wall time and peak RSS (getrusage of the children), and, as a floor, `SELECT count(*), sum(amount)`
over the journal through sqlite3. Goal (issue 4): 1M transfers verified in under 60 s. JSON goes to
bench/results/ledger_verify.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from parley.ledger.repository import compact_refs, digest_of
from parley.migrations import upgrade

console = Console()
RESULTS = Path(__file__).parent / "results" / "ledger_verify.json"
GOAL_S = 60.0
BATCH = 50_000
CURRENCY = "USD"
TRIAL, TOP_UP = 10_000_000, 100_000_000  # micros
RATES = (25_000, 31_500, 8_000, 107_600, 4_300)  # per-message marketing/utility list rates of a few markets
DAY_MS = 86_400_000
COLUMNS = (
    "id",
    "key",
    "kind",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "currency",
    "code",
    "pending_id",
    "reverses_id",
    "refs",
    "expires_at",
    "created_at",
    "digest",
)


class JournalBuilder:
    """Generates balanced transfers in journal order and keeps every account's four running totals."""

    def __init__(self, wallets: int, seed: int) -> None:
        self.random = random.Random(seed)
        self.now = 1_767_225_600_000  # 2026-01-01T00:00:00Z
        self.next_id = 1 << 40
        self.accounts: list[dict[str, Any]] = []
        self.totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        self.cash = self._account("platform:cash:USD", "debit", "cash", None, None)
        self.promotions = self._account("platform:promotions:USD", "debit", "promotions", None, None)
        self.revenue = self._account("platform:revenue:messaging:USD", "credit", "revenue", None, None)
        self.wallets = [self._account(f"waba:{w}:wallet", "credit", "wallet", w, 0) for w in range(1, wallets + 1)]
        self.balance = dict.fromkeys(self.wallets, 0)  # what each wallet may still spend (prepaid: floor 0)
        self.topups = dict.fromkeys(self.wallets, 0)
        self.messages = 0

    def _account(self, key: str, side: str, kind: str, owner: int | None, floor: int | None) -> int:
        account_id = self._id()
        self.accounts.append(
            {
                "id": account_id,
                "key": key,
                "currency": CURRENCY,
                "normal_side": side,
                "kind": kind,
                "owner_id": owner,
                "floor_limit": floor,
                "created_at": self.now,
            }
        )
        return account_id

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def _row(
        self,
        key: str,
        kind: str,
        debit: int,
        credit: int,
        amount: int,
        code: str,
        refs: dict[str, Any],
        *,
        pending_id: int | None = None,
        reverses_id: int | None = None,
        expires_at: int | None = None,
    ) -> tuple[Any, ...]:
        self.now += self.random.randint(1, 40)
        row: dict[str, Any] = {
            "id": self._id(),
            "key": key,
            "kind": kind,
            "debit_account_id": debit,
            "credit_account_id": credit,
            "amount": amount,
            "currency": CURRENCY,
            "code": code,
            "pending_id": pending_id,
            "reverses_id": reverses_id,
            "refs": compact_refs(refs),
            "expires_at": expires_at,
            "created_at": self.now,
        }
        row["digest"] = digest_of(row)
        return tuple(row[c] for c in COLUMNS)

    def _posted(self, debit: int, credit: int, amount: int) -> None:
        self.totals[debit][0] += amount
        self.totals[credit][1] += amount

    def rows(self, count: int) -> Iterator[tuple[Any, ...]]:
        """`count` transfers: money in first, then messages (hold + post/void, or a hold still open), refunds."""
        made = 0
        for wallet in self.wallets:
            if made + 2 > count:
                break
            waba = wallet - self.wallets[0] + 1
            yield self._row(
                f"trial:{waba}", "posted", self.promotions, wallet, TRIAL, "trial_credit", {"waba_id": waba}
            )
            self._posted(self.promotions, wallet, TRIAL)
            yield self._row(self._topup_key(wallet), "posted", self.cash, wallet, TOP_UP, "topup", {"waba_id": waba})
            self._posted(self.cash, wallet, TOP_UP)
            self.balance[wallet] += TRIAL + TOP_UP
            made += 2
        while made < count:
            wallet = self.wallets[self.random.randrange(len(self.wallets))]
            waba = wallet - self.wallets[0] + 1
            amount = RATES[self.random.randrange(len(RATES))]
            if self.balance[wallet] < amount:  # a business that ran out tops up again
                yield self._row(
                    self._topup_key(wallet), "posted", self.cash, wallet, TOP_UP, "topup", {"waba_id": waba}
                )
                self._posted(self.cash, wallet, TOP_UP)
                self.balance[wallet] += TOP_UP
                made += 1
                continue
            self.messages += 1
            message = self.messages
            refs = {"waba_id": waba, "message_id": message}
            hold = self._row(
                f"msg:{message}:hold",
                "pending",
                wallet,
                self.revenue,
                amount,
                "message_charge",
                refs,
                expires_at=self.now + 30 * DAY_MS,
            )
            yield hold
            made += 1
            fate = self.random.random()
            if fate < 0.05 or made >= count:  # not delivered yet: the hold stays open
                self.totals[wallet][2] += amount
                self.totals[self.revenue][3] += amount
                self.balance[wallet] -= amount
                continue
            if fate < 0.15:  # failed: released, never charged
                yield self._row(
                    f"msg:{message}:release",
                    "void",
                    wallet,
                    self.revenue,
                    amount,
                    "message_charge",
                    refs,
                    pending_id=hold[0],
                )
                made += 1
                continue
            charged = amount if fate > 0.25 else amount * 3 // 4  # delivered, sometimes at a lower tier's rate
            post = self._row(
                f"msg:{message}:charge",
                "post",
                wallet,
                self.revenue,
                charged,
                "message_charge",
                {**refs, "market": "North America"},
                pending_id=hold[0],
            )
            yield post
            self._posted(wallet, self.revenue, charged)
            self.balance[wallet] -= charged
            made += 1
            if made < count and self.random.random() < 0.005:  # an operator refund: a reversing transfer
                yield self._row(
                    f"refund:{message}", "posted", self.revenue, wallet, charged, "reversal", refs, reverses_id=post[0]
                )
                self._posted(self.revenue, wallet, charged)
                self.balance[wallet] += charged
                made += 1

    def _topup_key(self, wallet: int) -> str:
        self.topups[wallet] += 1
        return f"topup:{wallet - self.wallets[0] + 1}:wire-{self.topups[wallet]}"

    def account_rows(self) -> list[tuple[Any, ...]]:
        names = ("id", "key", "currency", "normal_side", "kind", "owner_id", "floor_limit")
        return [(*(a[n] for n in names), *self.totals[a["id"]], a["created_at"]) for a in self.accounts]


def build(db_file: Path, transfers: int, wallets: int, seed: int) -> float:
    started = time.perf_counter()
    upgrade(f"sqlite+aiosqlite:///{db_file}")
    builder = JournalBuilder(wallets, seed)
    insert = f"INSERT INTO ledger_transfers ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    conn = sqlite3.connect(db_file, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    with Progress(
        TextColumn("building the journal"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("transfers", total=transfers)
        batch: list[tuple[Any, ...]] = []
        for row in builder.rows(transfers):
            batch.append(row)
            if len(batch) == BATCH:
                _insert(conn, insert, batch)
                progress.advance(task, len(batch))
                batch = []
        _insert(conn, insert, batch)
        progress.advance(task, len(batch))
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO ledger_accounts (id, key, currency, normal_side, kind, owner_id, floor_limit, debits_posted, "
        "credits_posted, debits_pending, credits_pending, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        builder.account_rows(),
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


def _insert(conn: sqlite3.Connection, statement: str, rows: list[tuple[Any, ...]]) -> None:
    conn.execute("BEGIN")
    conn.executemany(statement, rows)
    conn.execute("COMMIT")


def sql_floor(db_file: Path, runs: int = 3) -> tuple[float, int, int]:
    """Best of `runs`: the least any full pass over the journal costs (one aggregate in SQLite's C code)."""
    best, count, total = float("inf"), 0, 0
    for _ in range(runs):
        conn = sqlite3.connect(db_file)
        started = time.perf_counter()
        count, total = conn.execute("SELECT count(*), sum(amount) FROM ledger_transfers").fetchone()
        best = min(best, time.perf_counter() - started)
        conn.close()
    return best, count, total


def run_verify(data_dir: Path) -> tuple[float, int, dict[str, Any]]:
    env = {**os.environ, "PARLEY_DATA_DIR": str(data_dir), "PARLEY_SECRET_KEY": "bench", "PARLEY_LOG_LEVEL": "warning"}
    env.pop("PARLEY_DATABASE_URL", None)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "parley", "ledger", "verify", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: KiB, largest child so far
    if not result.stdout.strip():
        raise SystemExit(f"verify printed nothing (exit {result.returncode}): {result.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(result.stdout)
    report["exit_code"] = result.returncode
    return wall, peak_kib, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--wallets", type=int, default=10_000, help="businesses (prepaid wallets)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--data-dir", type=Path, help="build here and keep it (default: a temporary directory)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="parley-ledger-bench-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        db_file = data_dir / "parley.db"
        if db_file.exists():
            raise SystemExit(f"{db_file} exists; pass an empty --data-dir")
        build_s = build(db_file, args.transfers, args.wallets, args.seed)
        floor_s, count, total = sql_floor(db_file)
        assert count == args.transfers, (count, args.transfers)
        wall_s, peak_kib, report = run_verify(data_dir)
        size_mb = db_file.stat().st_size / 1e6

    failed = [c for c in report["checks"] if not c["ok"]]
    table = Table(title=f"parley ledger verify, {args.transfers:,} transfers ({platform.node()}, SQLite)")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("transfers / accounts", f"{report['transfers']:,} / {report['accounts']:,}")
    table.add_row("database file", f"{size_mb:,.0f} MB")
    table.add_row("build (not timed against the goal)", f"{build_s:.1f} s")
    table.add_row("floor: SELECT count(*), sum(amount)", f"{floor_s:.2f} s")
    table.add_row("parley ledger verify --json (wall, incl. start-up)", f"{wall_s:.1f} s")
    table.add_row("  per transfer", f"{wall_s / args.transfers * 1e6:.1f} µs")
    table.add_row("  × floor", f"{wall_s / floor_s:.0f}×")
    table.add_row("peak RSS of verify", f"{peak_kib / 1024:,.0f} MiB")
    table.add_row("verdict", "ok" if report["ok"] else f"FAILED: {', '.join(c['name'] for c in failed)}")
    table.add_row(f"goal: < {GOAL_S:.0f} s", "met" if wall_s < GOAL_S and report["ok"] else "NOT met")
    console.print(table)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {"node": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version()},
                "transfers": args.transfers,
                "accounts": report["accounts"],
                "wallets": args.wallets,
                "database_mb": round(size_mb, 1),
                "build_s": round(build_s, 2),
                "floor_count_sum_s": round(floor_s, 3),
                "floor_sum_amount": total,
                "verify_wall_s": round(wall_s, 2),
                "verify_peak_rss_mib": round(peak_kib / 1024, 1),
                "verify_ok": report["ok"],
                "verify_exit_code": report["exit_code"],
                "failed_checks": failed,
                "goal_s": GOAL_S,
                "goal_met": wall_s < GOAL_S and report["ok"],
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"written to {RESULTS}")
    if not report["ok"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
