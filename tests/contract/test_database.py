"""The database seam on every backend: units commit whole or not at all, failures stay with their caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import Connection, func, insert, select

from parley.accounts.models import users
from parley.platform.db import Database, create_database


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
        *(db.write("tests.test_a_failing_unit_leaves_nothing_and_spoils_no_neighbour", u) for u in units),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 20 and all(isinstance(f, ValueError) for f in failures)
    assert await db.read(_count) == 40
    ids = await db.read(lambda c: set(c.execute(select(users.c.id)).scalars()))
    assert ids == {i for i in range(1, 61) if i % 3 != 0}


async def test_a_constraint_violation_is_reported_to_its_caller_only(db: Database) -> None:
    await db.write("tests.test_a_constraint_violation_is_reported_to_its_caller_only", _add_user(1, "+14155550001"))
    results = await asyncio.gather(
        db.write(
            "tests.test_a_constraint_violation_is_reported_to_its_caller_only", _add_user(2, "+14155550001")
        ),  # same phone: unique
        db.write("tests.test_a_constraint_violation_is_reported_to_its_caller_only", _add_user(3, "+14155550003")),
        return_exceptions=True,
    )
    assert isinstance(results[0], Exception)
    assert results[1] == 3
    assert await db.read(_count) == 2


async def test_written_data_is_visible_to_reads_after_write_returns(db: Database) -> None:
    for i in range(1, 11):
        await db.write(
            "tests.test_written_data_is_visible_to_reads_after_write_returns", _add_user(i, f"+1415556{i:04d}")
        )
        assert await db.read(_count) == i
