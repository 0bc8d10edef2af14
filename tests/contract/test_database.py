"""The database seam on every backend: units commit whole or not at all, failures stay with their caller."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.engine import make_url

from parley.accounts.models import users
from parley.kit.errors import OverloadedError
from parley.platform.db import Database, create_database
from parley.platform.db.database import PostgresDatabase


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    instance = create_database(database_url)
    yield instance
    await instance.close()


def _add_user(user_id: int, phone: str, fail_after_insert: bool = False) -> Callable[[Connection], int]:
    def unit(conn: Connection) -> int:
        conn.execute(insert(users).values(id=user_id, phone=phone, name="", created_at=0))
        if fail_after_insert:
            raise ValueError("boom")
        return user_id

    return unit


def _count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


async def test_a_failing_unit_leaves_nothing_and_spoils_no_neighbour(db: Database) -> None:
    # Many concurrent units land in the same SQLite batch; the failing ones must roll back alone.
    units = [_add_user(i, f"+1415555{i:04d}", fail_after_insert=i % 3 == 0) for i in range(1, 61)]
    results = await asyncio.gather(
        *(db.write("tests.add_user", u) for u in units),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 20 and all(isinstance(f, ValueError) for f in failures)
    # A traceback says which unit failed.
    assert all("in write unit 'tests.add_user'" in f.__notes__ for f in failures)
    assert await db.read(_count) == 40
    ids = await db.read(lambda c: set(c.execute(select(users.c.id)).scalars()))
    assert ids == {i for i in range(1, 61) if i % 3 != 0}


async def test_a_constraint_violation_is_reported_to_its_caller_only(db: Database) -> None:
    await db.write("tests.add_user", _add_user(1, "+14155550001"))
    results = await asyncio.gather(
        db.write("tests.add_user", _add_user(2, "+14155550001")),  # same phone: unique
        db.write("tests.add_user", _add_user(3, "+14155550003")),
        return_exceptions=True,
    )
    assert isinstance(results[0], Exception)
    assert results[1] == 3
    assert await db.read(_count) == 2


async def test_written_data_is_visible_to_reads_after_write_returns(db: Database) -> None:
    for i in range(1, 11):
        await db.write("tests.add_user", _add_user(i, f"+1415556{i:04d}"))
        assert await db.read(_count) == i


class _Gate:
    """Holds write units at their first statement until opened: a writer (or connections) kept busy, so
    later units queue up behind it exactly as behind a flood of sends."""

    LOCK = 4242

    def __init__(self, dialect: str, url: str) -> None:
        self._dialect, self._url = dialect, url
        self._open = threading.Event()
        self.entered = threading.Event()
        self._holder: Any = None

    async def shut(self) -> None:
        if self._dialect == "postgresql":
            import asyncpg

            self._holder = await asyncpg.connect(
                make_url(self._url).set(drivername="postgresql").render_as_string(False)
            )
            await self._holder.execute(f"SELECT pg_advisory_lock({self.LOCK})")

    def wait_in(self, conn: Connection) -> None:
        self.entered.set()
        if self._dialect == "postgresql":  # blocks in the database, not on the event loop
            conn.execute(text(f"SELECT pg_advisory_xact_lock_shared({self.LOCK})"))
        else:
            assert self._open.wait(timeout=30)

    async def open(self) -> None:
        self._open.set()
        if self._holder is not None:
            await self._holder.close()


def _open_database(url: str, max_waiting: int) -> tuple[Database, int]:
    """A database that admits `max_waiting` waiting units, and how many units run at once beside them."""
    if url.startswith("postgresql"):
        return PostgresDatabase(url, max_waiting=max_waiting, pool_size=2, max_overflow=0), 2
    return create_database(url, max_waiting=max_waiting), 1


async def test_beyond_the_waiting_bound_writes_are_refused_and_urgent_ones_are_not(database_url: str) -> None:
    db, running = _open_database(database_url, max_waiting=3)
    gate = _Gate(db.dialect, database_url)
    ran: list[int] = []

    def held_unit(user_id: int) -> Callable[[Connection], int]:
        def unit(conn: Connection) -> int:
            ran.append(user_id)
            gate.wait_in(conn)
            return _add_user(user_id, f"+1415557{user_id:04d}")(conn)

        return unit

    def urgent_unit(conn: Connection) -> int:
        ran.append(99)
        return _add_user(99, "+14155570099")(conn)

    try:
        await gate.shut()
        first = asyncio.ensure_future(db.write("tests.held", held_unit(1)))
        await asyncio.to_thread(gate.entered.wait, 30)  # the writer (a connection) is now busy with it
        # running + 3 are admitted, the rest answered at once with Retry-After.
        later = [asyncio.ensure_future(db.write("tests.held", held_unit(i))) for i in range(2, running + 6)]
        await asyncio.sleep(0.05)
        refused = [t for t in later if t.done()]
        assert len(refused) == 2
        assert all(isinstance(t.exception(), OverloadedError) for t in refused)
        assert all(t.exception().retry_after_s >= 1 for t in refused)  # type: ignore[union-attr]
        # An urgent unit is never refused, however many wait.
        urgent = asyncio.ensure_future(db.write("tests.urgent", urgent_unit, urgent=True))
        if db.dialect == "postgresql":  # its own connections: done while the sends still wait
            assert await asyncio.wait_for(urgent, 30) == 99
    finally:
        await gate.open()
    accepted = [first, *(t for t in later if t not in refused)]
    assert [await t for t in accepted] == [1, *range(2, running + 4)]
    assert await urgent == 99
    if db.dialect == "sqlite":  # taken before the units that waited longer
        assert ran.index(99) == 1
    assert await db.read(_count) == running + 4
    await db.close()


async def test_a_slow_unit_is_logged_with_its_name(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    db = create_database(database_url, slow_unit_ms=1e-6)  # every unit is "slow"
    try:
        with caplog.at_level(logging.WARNING, logger="parley.platform.db.database"):
            await db.write("tests.add_user", _add_user(1, "+14155580001"))
    finally:
        await db.close()
    assert "slow write unit 'tests.add_user'" in caplog.text
