"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when asked) and a live server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from parley.app import create_app
from parley.config import Settings, WebhookSettings
from parley.container import Container
from parley.kit.clock import OffsetClock
from parley.serving import protocol_for
from tests.backends import PG_URL, REDIS_URL, PostgresTemplate, SqliteTemplate, require_service


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate | None]:
    if PG_URL is None:
        yield None
        return
    template = PostgresTemplate(PG_URL)
    try:
        template.create()
    except OSError as error:
        require_service(False, f"PostgreSQL at {PG_URL} ({error})")
    yield template
    template.drop()


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: SqliteTemplate, postgres_template: PostgresTemplate | None) -> str:
    if postgres_template is not None:
        postgres_template.truncate()
        return postgres_template.url
    return sqlite_template.fresh(tmp_path / "var")


@pytest.fixture
def redis_url() -> str | None:
    if REDIS_URL is None:
        return None
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL)
        client.flushdb()  # rate-limit windows from an earlier test must not leak into this one
        client.close()
    except redis.RedisError as error:
        require_service(False, f"Redis at {REDIS_URL} ({error})")
    return REDIS_URL


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str | None) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        redis_url=redis_url,
        dev_show_codes=True,
        secret_key="test-secret",
        # The tests' webhook receivers listen on loopback, which callbacks may not reach by default.
        webhooks=WebhookSettings(allowed_networks=LOOPBACK_NETWORKS),
    )


LOOPBACK_NETWORKS: list[Any] = ["127.0.0.0/8", "::1/128"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class User:
    user_id: str
    phone: str
    token: str
    name: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class LiveServer:
    """A real uvicorn server in the test's event loop, with the container exposed for time travel."""

    def __init__(self, settings: Settings, clock: OffsetClock) -> None:
        self.settings = settings
        self.clock = clock
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/client/v1/stream"
        self.app = create_app(settings, clock)
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="on",
                ws_ping_interval=None,
                timeout_graceful_shutdown=1,
                http=protocol_for(settings.server),  # as `parley serve` runs it
            )
        )
        self._task: asyncio.Task[None] | None = None
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=20, verify=False)  # no TLS: skip its setup
        self._phones = 0

    @property
    def container(self) -> Container:
        container: Container = self.app.state.container
        return container

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        await self.http.aclose()
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def next_phone(self) -> str:
        self._phones += 1
        return f"+1415555{1000 + self._phones:04d}"

    async def user(self, name: str = "", phone: str | None = None) -> User:
        """An account with a device token (the operator path: no one-time code)."""
        phone = phone or self.next_phone()
        session = await self.container.accounts.create_user_with_token(phone, name or f"User {phone[-4:]}")
        return User(str(session.user_id), phone, session.token, name)

    async def send_text(
        self, sender: User, body: str, *, to: User | None = None, group_id: str | None = None
    ) -> dict[str, Any]:
        target: dict[str, Any] = {"to": to.phone} if to is not None else {"group_id": group_id}
        response = await self.http.post(
            "/client/v1/messages",
            headers=sender.headers,
            json={**target, "type": "text", "text": {"body": body}, "client_id": uuid.uuid4().hex},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


@contextlib.asynccontextmanager
async def running_server(settings: Settings) -> AsyncIterator[LiveServer]:
    live = LiveServer(settings, OffsetClock())
    await live.start()
    try:
        yield live
    finally:
        await live.stop()


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    async with running_server(settings) as live:
        yield live
