"""Which database and Redis the suite runs on: SQLite by default, PostgreSQL/Redis when asked."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from parley.kit.db import metadata
from parley.migrations import upgrade

PG_URL = os.environ.get("PARLEY_TEST_DATABASE_URL") or None
REDIS_URL = os.environ.get("PARLEY_TEST_REDIS_URL") or None
IN_CI = bool(os.environ.get("CI"))


def require_service(ok: bool, what: str) -> None:
    """In CI a missing service fails the run; on a laptop it skips the test."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not reachable", pytrace=False)
    pytest.skip(f"{what} not reachable")


class PostgresTemplate:
    """One migrated database per test session; tables are emptied between tests."""

    def __init__(self, base_url: str) -> None:
        self.name = f"parley_test_{uuid.uuid4().hex[:10]}"
        self.admin_url = make_url(base_url)
        self.url = str(self.admin_url.set(database=self.name).render_as_string(hide_password=False))

    def create(self) -> None:
        _execute(self.admin_url.set(database="postgres"), f'CREATE DATABASE "{self.name}"')
        upgrade(self.url)

    def truncate(self) -> None:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        _execute(make_url(self.url), f"TRUNCATE {names} CASCADE")

    def drop(self) -> None:
        _execute(self.admin_url.set(database="postgres"), f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _execute(url: URL, statement: str) -> None:
    """Run one statement on its own connection (CREATE/DROP DATABASE cannot run in a transaction)."""
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


class SqliteTemplate:
    """Migrate once, copy the file for each test (much faster than migrating every time)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"
        upgrade(f"sqlite+aiosqlite:///{self.path}")
        # Fold the WAL into the main file so one copy holds everything.
        engine = create_engine(f"sqlite:///{self.path}")
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        engine.dispose()

    def fresh(self, directory: Path) -> str:
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / "parley.db"
        shutil.copyfile(self.path, target)
        return f"sqlite+aiosqlite:///{target}"
