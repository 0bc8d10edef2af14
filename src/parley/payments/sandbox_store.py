"""What the sandbox provider remembers: in memory, or in a small SQLite file beside the data that outlives restarts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sandbox_payments (kind TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, "
    "PRIMARY KEY (kind, id))",
    # One row each time the sandbox takes money (a payment or payout reaching `succeeded`): a double charge shows.
    "CREATE TABLE IF NOT EXISTS sandbox_charges (kind TEXT NOT NULL, id TEXT NOT NULL, amount INTEGER NOT NULL, "
    "currency TEXT NOT NULL)",
)


class SandboxStore:
    """Payments and payouts by (kind, id). With a file, each change commits before the sandbox answers, and a
    change is decided inside one SQLite transaction (BEGIN IMMEDIATE), so a restarted process, or a worker beside
    the server, answers lookups for what any of them charged, as a real provider that remembers does."""

    def __init__(self, path: Path | None = None) -> None:
        self._memory: dict[tuple[str, str], dict[str, Any]] = {}
        self._charges: list[tuple[str, str, int, str]] = []
        self._conn: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Changes are serialized by the sandbox's lock; the container may be built on another thread.
            self._conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
            # A killed process loses nothing written: WAL pages reach the OS at each commit.
            self._conn.execute("PRAGMA journal_mode=WAL")
            for statement in _SCHEMA:
                self._conn.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[SandboxStore]:
        if self._conn is None:
            yield self
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except sqlite3.Error:
            self._conn.execute("ROLLBACK")
            raise
        finally:  # what was written stays written, even when the sandbox then raises (a simulated timeout)
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")

    def get(self, kind: str, payment_id: str) -> dict[str, Any] | None:
        if self._conn is None:
            found = self._memory.get((kind, payment_id))
            return None if found is None else dict(found)
        row = self._conn.execute(
            "SELECT body FROM sandbox_payments WHERE kind = ? AND id = ?", (kind, payment_id)
        ).fetchone()
        if row is None:
            return None
        body: dict[str, Any] = orjson.loads(row[0])
        return body

    def put(self, kind: str, body: dict[str, Any], *, charged: bool) -> None:
        """Store `body` (a payment: `id`, `amount`, `currency`, ...); `charged`: this change took the money."""
        payment_id, amount, currency = str(body["id"]), int(body["amount"]), str(body["currency"])
        if self._conn is None:
            self._memory[(kind, payment_id)] = dict(body)
            if charged:
                self._charges.append((kind, payment_id, amount, currency))
            return
        self._conn.execute(
            "INSERT INTO sandbox_payments (kind, id, body) VALUES (?, ?, ?) "
            "ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body",
            (kind, payment_id, orjson.dumps(body).decode()),
        )
        if charged:
            self._conn.execute(
                "INSERT INTO sandbox_charges (kind, id, amount, currency) VALUES (?, ?, ?, ?)",
                (kind, payment_id, amount, currency),
            )

    def charges(self) -> list[tuple[str, str, int, str]]:
        """(kind, id, amount, currency) of each time money was taken, oldest first."""
        if self._conn is None:
            return list(self._charges)
        return [
            (str(k), str(i), int(a), str(c))
            for k, i, a, c in self._conn.execute(
                "SELECT kind, id, amount, currency FROM sandbox_charges ORDER BY rowid"
            )
        ]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
