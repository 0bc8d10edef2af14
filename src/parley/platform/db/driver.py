"""A unit's DB-API cursor: hot statements as plain SQL, in the unit's own transaction, without SQLAlchemy's cost."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

# Why: one statement through SQLAlchemy costs 16-24 µs to build, look up and wrap, against 2-3 µs on the driver's
# cursor. Hot units write their few statements once per dialect (SQLite's `?`, PostgreSQL's `$1`) and run them here.


def numbered(sql: str) -> str:
    """SQLite's `?` parameters as PostgreSQL's `$1, $2, ...` (asyncpg's own style)."""
    count = iter(range(1, sql.count("?") + 1))
    return re.sub(r"\?", lambda _: f"${next(count)}", sql)


def insert_sql(table: str, columns: Sequence[str]) -> str:
    """`INSERT INTO table (columns) VALUES (?, ...)` in SQLite's parameter style."""
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


class DriverCursor:
    """The DB-API cursor of the connection a unit runs on; `dialect` picks the statements' text."""

    __slots__ = ("_cursor", "dialect")

    def __init__(self, conn: Connection) -> None:
        self.dialect = conn.dialect.name
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        self._cursor = dbapi.cursor()

    def run(self, statement: str, params: Sequence[Any]) -> int:
        """Execute; the number of rows it changed."""
        self._cursor.execute(statement, params)
        return int(self._cursor.rowcount)

    def rows(self, statement: str, params: Sequence[Any]) -> list[Any]:
        # Every row fetched, always: a statement left half-stepped would hold SQLite's RELEASE and COMMIT back.
        self._cursor.execute(statement, params)
        return list(self._cursor.fetchall())

    def first(self, statement: str, params: Sequence[Any]) -> Any:
        rows = self.rows(statement, params)
        return rows[0] if rows else None

    def run_many(self, statement: str, params: Sequence[Sequence[Any]]) -> None:
        self._cursor.executemany(statement, params)
