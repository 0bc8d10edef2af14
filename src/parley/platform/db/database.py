"""Database implementations: SQLite (group-commit writer thread) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, QueuePool

from parley.kit.errors import OverloadedError
from parley.kit.files import create_private_file

T = TypeVar("T")
UnitOfWork = Callable[[Connection], T]

log = logging.getLogger(__name__)
READER_THREADS = 4


class Database(Protocol):
    dialect: str

    async def read(self, fn: UnitOfWork[T]) -> T: ...

    async def write(self, name: str, fn: UnitOfWork[T], *, urgent: bool = False) -> T: ...

    async def close(self) -> None: ...


def create_database(
    url: str,
    *,
    sqlite_synchronous: str = "FULL",
    max_batch: int = 256,
    max_waiting: int = 2048,
    slow_unit_ms: float = 100.0,
    retry_after_s: int = 1,
) -> Database:
    if url.startswith("sqlite"):
        return SqliteDatabase(
            url,
            synchronous=sqlite_synchronous,
            max_batch=max_batch,
            max_waiting=max_waiting,
            slow_unit_ms=slow_unit_ms,
            retry_after_s=retry_after_s,
        )
    if url.startswith("postgresql"):
        return PostgresDatabase(url, max_waiting=max_waiting, slow_unit_ms=slow_unit_ms, retry_after_s=retry_after_s)
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


@dataclass(slots=True)
class _Pending:
    name: str
    fn: UnitOfWork[Any]
    future: asyncio.Future[Any]
    outcome: tuple[bool, Any] = (False, None)


class SqliteDatabase:
    """Reads on a small pool of reader threads; writes on one writer thread that commits whole batches.

    Each unit runs entirely inside its thread on the plain sqlite3 driver: one hop from the event loop per
    unit. (aiosqlite hops once per statement, which measured ~5x slower for a history page; see
    docs/benchmarks.md.) WAL lets the readers run while the writer commits.

    Units wait in two lanes: urgent ones (acks, reads, webhook claims and results) are taken first and never
    refused; the others are refused with OverloadedError once `max_waiting` of them wait, so a flood of sends
    is answered at once instead of queueing for seconds.
    """

    dialect = "sqlite"

    def __init__(
        self,
        url: str,
        *,
        synchronous: str = "FULL",
        max_batch: int = 256,
        max_waiting: int = 2048,
        slow_unit_ms: float = 100.0,
        retry_after_s: int = 1,
    ) -> None:
        path = sqlite_file_of(url)
        if path is not None:
            # Created 0600 before SQLite opens it (its -wal and -shm files take the same mode).
            create_private_file(path)
        sync_url = make_url(url).set(drivername="sqlite")
        self._max_batch = max_batch
        self._max_waiting = max_waiting
        self._slow_s = slow_unit_ms / 1000
        self._retry_after_s = retry_after_s
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

        # deque append/popleft are atomic, so the lanes need no lock; the bell only wakes the writer (one ring
        # per unit, None to stop), and the writer looks at the lanes, not the rings, to know what is waiting.
        self._urgent: deque[_Pending] = deque()
        self._normal: deque[_Pending] = deque()
        self._bell: queue.SimpleQueue[bool | None] = queue.SimpleQueue()
        self._closing = False
        self._thread = threading.Thread(target=self._run_writer, name="parley-sqlite-writer", daemon=True)
        self._thread.start()

    async def read(self, fn: UnitOfWork[T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._read_pool, self._run_read, fn)

    def _run_read(self, fn: UnitOfWork[T]) -> T:
        with self._reader.connect() as conn:
            return fn(conn)

    async def write(self, name: str, fn: UnitOfWork[T], *, urgent: bool = False) -> T:
        if urgent:
            lane = self._urgent
        else:
            lane = self._normal
            if len(lane) >= self._max_waiting:
                raise OverloadedError(retry_after_s=self._retry_after_s)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        lane.append(_Pending(name, fn, future))
        self._bell.put(True)
        return await future

    def _take_batch(self) -> list[_Pending]:
        """Urgent units first, then the others, up to one batch; the rings of units taken are consumed."""
        batch: list[_Pending] = []
        limit = self._max_batch
        for lane in (self._urgent, self._normal):
            while lane and len(batch) < limit:
                batch.append(lane.popleft())
        for _ in range(len(batch) - 1):
            try:
                if self._bell.get_nowait() is None:
                    self._closing = True
            except queue.Empty:  # a unit was appended and its ring is on the way: one spare wake-up later
                break
        return batch

    def _run_writer(self) -> None:
        try:
            conn = self._writer_engine.connect()
        except Exception as error:  # nothing can be written: every waiting and later write gets this error
            log.exception("sqlite writer could not open the database")
            self._fail_forever(error)
            return
        try:
            while True:
                if not self._urgent and not self._normal:
                    if self._closing:
                        return
                    if self._bell.get() is None:
                        self._closing = True  # finish what is waiting, then stop
                    continue
                batch = self._take_batch()
                try:
                    self._commit_batch(conn, batch)
                except BaseException:  # the writer must outlive any one batch, or every later write waits forever
                    log.exception("sqlite writer: a batch failed outside its units")
        finally:
            log.info("sqlite writer stopped")
            conn.close()

    def _fail_forever(self, error: Exception) -> None:
        while True:
            for lane in (self._urgent, self._normal):
                while lane:
                    pending = lane.popleft()
                    pending.outcome = (False, error)
                    _resolve_all([pending])
            if self._closing:
                return
            if self._bell.get() is None:
                self._closing = True

    def _commit_batch(self, conn: Connection, batch: list[_Pending]) -> None:
        try:
            with conn.begin():
                # Savepoints straight on the driver: ~1 µs a pair against ~60 µs through SQLAlchemy's
                # begin_nested, and still one failing unit undoes only its own statements.
                raw = conn.connection.dbapi_connection
                assert raw is not None
                slow_s = self._slow_s
                for pending in batch:
                    started = time.perf_counter()
                    raw.execute("SAVEPOINT unit")
                    try:
                        result = pending.fn(conn)
                    except BaseException as error:  # the unit's own failure goes back to its caller only
                        raw.execute("ROLLBACK TO unit")
                        raw.execute("RELEASE unit")
                        error.add_note(f"in write unit {pending.name!r}")
                        pending.outcome = (False, error)
                    else:
                        raw.execute("RELEASE unit")
                        pending.outcome = (True, result)
                    if (elapsed := time.perf_counter() - started) > slow_s:
                        log.warning("slow write unit %r: %.0f ms", pending.name, elapsed * 1000)
        except BaseException as error:  # the commit itself failed: nothing in the batch happened
            log.exception("sqlite batch commit failed (%d units: %s)", len(batch), _names(batch))
            for pending in batch:
                pending.outcome = (False, error)
        _resolve_all(batch)

    async def close(self) -> None:
        self._bell.put(None)
        await asyncio.to_thread(self._thread.join)
        self._writer_engine.dispose()
        self._read_pool.shutdown(wait=True)
        self._reader.dispose()


def _names(batch: list[_Pending], most: int = 5) -> str:
    names = ", ".join(sorted({pending.name for pending in batch})[:most])
    return names if len(batch) <= most else names + ", ..."


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
    """Each unit is its own transaction; a unit that lost a uniqueness race is run again once.

    Units beyond the pool's connections wait for one; once `max_waiting` wait, `write` refuses with
    OverloadedError. Urgent units (acks, reads, webhook claims and results) have a small pool of their own, so
    they never wait behind a queue of sends, and are never refused.
    """

    dialect = "postgresql"
    POOL_SIZE, MAX_OVERFLOW = 20, 20
    URGENT_POOL_SIZE, URGENT_MAX_OVERFLOW = 2, 2

    def __init__(
        self,
        url: str,
        *,
        max_waiting: int = 2048,
        slow_unit_ms: float = 100.0,
        retry_after_s: int = 1,
        pool_size: int = POOL_SIZE,
        max_overflow: int = MAX_OVERFLOW,
    ) -> None:
        self._engine = create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)
        self._urgent_engine = create_async_engine(
            url, pool_size=self.URGENT_POOL_SIZE, max_overflow=self.URGENT_MAX_OVERFLOW, pool_pre_ping=True
        )
        # Units running or waiting for a connection; the pool runs pool_size + max_overflow at once.
        self._admitted = 0
        self._max_admitted = pool_size + max_overflow + max_waiting
        self._slow_s = slow_unit_ms / 1000
        self._retry_after_s = retry_after_s

    async def read(self, fn: UnitOfWork[T]) -> T:
        async with self._engine.connect() as conn:
            return await conn.run_sync(fn)

    async def write(self, name: str, fn: UnitOfWork[T], *, urgent: bool = False) -> T:
        try:
            if urgent:
                return await self._run(name, fn, self._urgent_engine)
            if self._admitted >= self._max_admitted:
                raise OverloadedError(retry_after_s=self._retry_after_s)
            self._admitted += 1
            try:
                return await self._run(name, fn, self._engine)
            finally:
                self._admitted -= 1
        except OverloadedError:
            raise
        except BaseException as error:
            error.add_note(f"in write unit {name!r}")
            raise

    async def _run(self, name: str, fn: UnitOfWork[T], engine: AsyncEngine) -> T:
        for attempt in range(3):
            try:
                async with engine.begin() as conn:
                    started = time.perf_counter()
                    result = await conn.run_sync(fn)
                if (elapsed := time.perf_counter() - started) > self._slow_s:
                    log.warning("slow write unit %r: %.0f ms", name, elapsed * 1000)
                return result
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
        await self._urgent_engine.dispose()
