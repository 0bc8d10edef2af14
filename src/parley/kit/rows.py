"""Rows as plain JSON-ready dicts: what a person's data export writes, whatever table it comes from."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Connection, Table
from sqlalchemy.sql import ColumnElement

Rows = list[dict[str, Any]]


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, int) and abs(value) > 2**53:
        return str(value)  # 64-bit ids stay exact in every JSON reader
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def rows_of(
    conn: Connection, table: Table, *where: ColumnElement[bool], omit: Sequence[str] = (), parse: Sequence[str] = ()
) -> Rows:
    """Every row of `table` matching `where`, in primary-key order, minus the `omit` columns (secrets such as token
    hashes); the `parse` columns hold JSON text and are exported as the JSON they hold."""
    columns = [c for c in table.columns if c.name not in omit]
    order = list(table.primary_key.columns) or columns[:1]
    out: Rows = []
    for row in conn.execute(table.select().with_only_columns(*columns).where(*where).order_by(*order)).mappings():
        item = {str(name): _plain(value) for name, value in row.items()}
        for name in parse:
            if isinstance(row[name], str):
                with contextlib.suppress(ValueError):  # else kept as stored: the export shows what is held
                    item[name] = json.loads(row[name])
        out.append(item)
    return out


def rows_by(conn: Connection, value: Any, sections: dict[str, Column[Any]]) -> dict[str, Rows]:
    """For each named column, the rows of its table where it equals `value` (a person's rows, table by table)."""
    out: dict[str, Rows] = {}
    for name, column in sections.items():
        assert isinstance(column.table, Table)
        out[name] = rows_of(conn, column.table, column == value)
    return out
