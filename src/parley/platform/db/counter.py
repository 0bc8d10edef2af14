"""One integer read from SQLite on the calling thread: cheap enough to check on every request."""

from __future__ import annotations

import sqlite3
from pathlib import Path


class SqliteCounter:
    """Runs one single-value query on a connection of its own, on the calling thread (the event loop).

    Measured on this machine: ~4 µs per read, against ~130 µs for a read unit (a hop to a reader thread and
    back). It never waits for a lock (busy timeout 0): when the database is busy it answers None, which callers
    treat as "changed", never as "unchanged".
    """

    def __init__(self, path: Path, sql: str) -> None:
        self._path, self._sql = path, sql
        self._conn: sqlite3.Connection | None = None

    def __call__(self) -> int | None:
        try:
            if self._conn is None:
                # Autocommit: each read sees the latest commit of any process.
                self._conn = sqlite3.connect(self._path, timeout=0, isolation_level=None, check_same_thread=False)
            # fetchall steps the statement to its end, so no read transaction stays open to hold back checkpoints.
            rows = self._conn.execute(self._sql).fetchall()
        except sqlite3.Error:
            return None
        return int(rows[0][0]) if rows else 0

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
