"""Database implementations: SQLite (group-commit writer thread) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool, QueuePool

from parley.kit.files import create_private_file

T = TypeVar("T")
UnitOfWork = Callable[[Connection], T]

log = logging.getLogger(__name__)
READER_THREADS = 4


class Database(Protocol):
    dialect: str

    async def read(self, fn: UnitOfWork[T]) -> T: ...

    async def write(self, fn: UnitOfWork[T]) -> T: ...

    async def close(self) -> None: ...


def create_database(url: str, *, sqlite_synchronous: str = "FULL", max_batch: int = 256) -> Database:
    if url.startswith("sqlite"):
        return SqliteDatabase(url, synchronous=sqlite_synchronous, max_batch=max_batch)
    if url.startswith("postgresql"):
        return PostgresDatabase(url)
    raise ValueError(f"unsupported database URL: {url!r} (use sqlite+aiosqlite:// or postgresql+asyncpg://)")


def sqlite_file_of(url: str) -> Path | None:
    database = make_url(url).database
    return None if not database or database == ":memory:" else Path(database)


def _configure_sqlite(dbapi_connection: Any, synchronous: str) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    # WAL is a property of the file; setting it needs a moment's exclusive lock, and while another
    # connection opening at the same time recovers the WAL SQLite answers "locked" without waiting, so
    # only switch when needed and retry for a while.
    for attempt in range(100):
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError:
            if attempt == 99:
                raise
            time.sleep(0.05)
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@dataclass
class _Pending:
    fn: UnitOfWork[Any]
    future: asyncio.Future[Any]
    outcome: tuple[bool, Any] = field(default=(False, None))


class SqliteDatabase:
    """Reads on a small pool of reader threads; writes on one writer thread that commits whole batches.

    Each unit runs entirely inside its thread on the plain sqlite3 driver: one hop from the event loop per
    unit. (aiosqlite hops once per statement, which measured ~5x slower for a history page; see
    docs/benchmarks.md.) WAL lets the readers run while the writer commits.
    """

    dialect = "sqlite"

    def __init__(self, url: str, *, synchronous: str = "FULL", max_batch: int = 256) -> None:
        path = sqlite_file_of(url)
        if path is not None:
            # Created 0600 before SQLite opens it (its -wal and -shm files take the same mode).
            create_private_file(path)
        sync_url = make_url(url).set(drivername="sqlite")
        self._max_batch = max_batch
        self._reader = create_engine(sync_url, poolclass=QueuePool, pool_size=READER_THREADS, max_overflow=0)
        self._read_pool = ThreadPoolExecutor(max_workers=READER_THREADS, thread_name_prefix="parley-sqlite-read")
        self._writer_engine = create_engine(sync_url, poolclass=NullPool)

        @event.listens_for(self._reader, "connect")
        def _on_read_connect(dbapi_connection: Any, _record: Any) -> None:
            _configure_sqlite(dbapi_connection, synchronous)

        @event.listens_for(self._writer_engine, "connect")
        def _on_write_connect(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling breaks SAVEPOINT; we issue BEGIN ourselves.
            dbapi_connection.isolation_level = None
            _configure_sqlite(dbapi_connection, synchronous)

        @event.listens_for(self._writer_engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run_writer, name="parley-sqlite-writer", daemon=True)
        self._thread.start()

    async def read(self, fn: UnitOfWork[T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._read_pool, self._run_read, fn)

    def _run_read(self, fn: UnitOfWork[T]) -> T:
        with self._reader.connect() as conn:
            return fn(conn)

    async def write(self, fn: UnitOfWork[T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put(_Pending(fn, future))
        return await future

    def _run_writer(self) -> None:
        try:
            conn = self._writer_engine.connect()
        except Exception as error:  # nothing can be written: every waiting and later write gets this error
            log.exception("sqlite writer could not open the database")
            self._fail_forever(error)
            return
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                while len(batch) < self._max_batch:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        self._queue.put(None)  # finish this batch, then stop
                        break
                    batch.append(item)
                try:
                    self._commit_batch(conn, batch)
                except BaseException:  # the writer must outlive any one batch, or every later write waits forever
                    log.exception("sqlite writer: a batch failed outside its units")
        finally:
            log.info("sqlite writer stopped")
            conn.close()

    def _fail_forever(self, error: Exception) -> None:
        while (pending := self._queue.get()) is not None:
            pending.outcome = (False, error)
            _resolve_all([pending])

    def _commit_batch(self, conn: Connection, batch: list[_Pending]) -> None:
        try:
            with conn.begin():
                # Each unit's savepoint on the driver's cursor: through SQLAlchemy a SAVEPOINT and its RELEASE cost
                # ~61 µs per unit, on the cursor ~1 µs (the same statements on the same connection).
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                for pending in batch:
                    cursor.execute("SAVEPOINT unit")
                    try:
                        result = pending.fn(conn)
                    except BaseException as error:  # the unit's own failure goes back to its caller only
                        cursor.execute("ROLLBACK TO SAVEPOINT unit")
                        cursor.execute("RELEASE SAVEPOINT unit")
                        pending.outcome = (False, error)
                    else:
                        cursor.execute("RELEASE SAVEPOINT unit")
                        pending.outcome = (True, result)
        except BaseException as error:  # the commit itself failed: nothing in the batch happened
            log.exception("sqlite batch commit failed")
            for pending in batch:
                pending.outcome = (False, error)
        _resolve_all(batch)

    async def close(self) -> None:
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)
        self._writer_engine.dispose()
        self._read_pool.shutdown(wait=True)
        self._reader.dispose()


def _resolve_all(batch: list[_Pending]) -> None:
    """Hand every outcome back to its waiting request, one loop wake-up per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
    for pending in batch:
        by_loop.setdefault(pending.future.get_loop(), []).append(pending)
    for loop, items in by_loop.items():
        # A closed loop means nobody waits for these answers any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_set_outcomes, items)


def _set_outcomes(items: list[_Pending]) -> None:
    for pending in items:
        if pending.future.done():
            continue
        ok, value = pending.outcome
        if ok:
            pending.future.set_result(value)
        else:
            pending.future.set_exception(value)


class PostgresDatabase:
    """Each unit is its own transaction; a unit that lost a uniqueness race is run again once."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self._engine = create_async_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)

    async def read(self, fn: UnitOfWork[T]) -> T:
        async with self._engine.connect() as conn:
            return await conn.run_sync(fn)

    async def write(self, fn: UnitOfWork[T]) -> T:
        for attempt in range(3):
            try:
                async with self._engine.begin() as conn:
                    return await conn.run_sync(fn)
            except exc.IntegrityError:
                # Two units raced to create the same row (a chat, an idempotent message): the
                # second sees the first's row when it runs again.
                if attempt == 2:
                    raise
            except exc.DBAPIError as error:
                if "deadlock" not in str(error).lower() or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self._engine.dispose()
