"""Real `parley serve` processes: started, migrated and killed the way an operator would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from tests.backends import PG_URL, REDIS_URL, PostgresTemplate, require_service
from tests.conftest import free_port
from tests.e2e.page_checks import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e


@contextmanager
def shared_services_env() -> Iterator[dict[str, str]]:
    """Environment for server processes sharing a fresh PostgreSQL database and the test Redis (dropped after)."""
    require_service(
        PG_URL is not None and REDIS_URL is not None,
        "PostgreSQL and Redis (PARLEY_TEST_DATABASE_URL, PARLEY_TEST_REDIS_URL)",
    )
    assert PG_URL is not None and REDIS_URL is not None
    database = PostgresTemplate(PG_URL)
    database.create()
    try:
        yield {"PARLEY_DATABASE_URL": database.url, "PARLEY_REDIS_URL": REDIS_URL}
    finally:
        database.drop()


class ServerProcess:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/client/v1/stream"
        self.env = {
            **os.environ,
            "PARLEY_DATA_DIR": str(data_dir),
            "PARLEY_DEV_SHOW_CODES": "true",
            "PARLEY_SECRET_KEY": "e2e-secret",
            "PARLEY_PUBLIC_URL": self.base_url,
            # The tests' webhook receivers listen on loopback, which callbacks may not reach by default.
            "PARLEY_WEBHOOKS__ALLOWED_NETWORKS": '["127.0.0.0/8", "::1/128"]',
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / f"server-{self.port}.log"

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "parley", *args], env=self.env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def create_user(self, phone: str, name: str) -> dict[str, Any]:
        return dict(json.loads(self.cli("user", "create", "--phone", phone, "--name", name, "--json")))

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cli("db", "upgrade")
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "parley", "serve", "--port", str(self.port)], env=self.env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start in 30 s")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush: what a crash looks like."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra environment for `live_server` (a module overrides this fixture to change a setting)."""
    return {}


@pytest.fixture
def live_server(tmp_path: Path, server_env: dict[str, str]) -> Iterator[ServerProcess]:
    """A `parley serve` process on the embedded SQLite default, with developer codes shown."""
    server = ServerProcess(tmp_path / "var", env=server_env or None)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, through Playwright's async API (a module may define its own `browser`)."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()
