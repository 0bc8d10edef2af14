"""A real loopback webhook receiver for the webhook tests (no tests of its own).

It answers Meta's verification GET like pywa does (the challenge when the token matches, else 403) and
records every POST's raw bytes, headers and arrival time; its answers and delay can be scripted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.types import Receive, Scope, Send

from tests.conftest import free_port


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    arrived: float  # time.monotonic()
    path: str
    status: int = 0  # what the receiver answered

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def value(self) -> Any:
        return self.json["entry"][0]["changes"][0]["value"]


class Receiver:
    def __init__(self, verify_token: str = "vt-123", path: str = "/hook") -> None:
        self.verify_token = verify_token
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{path}"
        self.posts: list[Received] = []
        self.answered: list[Received] = []  # POSTs whose answer went out
        self.verifications: list[dict[str, str]] = []
        self.statuses: deque[int] = deque()  # scripted answers, then `default_status`
        self.default_status = 200
        self.delay_s = 0.0
        self.refuse: Callable[[bytes], bool] | None = None  # a firewall: bodies it matches get a 403
        self.challenge_override: str | None = None
        self.arrived = asyncio.Event()
        self._server = uvicorn.Server(
            uvicorn.Config(self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        if scope["method"] == "GET":
            query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
            self.verifications.append(query)
            if query.get("hub.verify_token") == self.verify_token:
                await _answer(send, 200, (self.challenge_override or query.get("hub.challenge", "")).encode())
            else:
                await _answer(send, 403, b"Forbidden")
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        received = Received(body, headers, time.monotonic(), scope["path"])
        self.posts.append(received)
        self.arrived.set()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        status = self.statuses.popleft() if self.statuses else self.default_status
        if self.refuse is not None and self.refuse(body):
            status = 403
        received.status = status
        self.answered.append(received)
        await _answer(send, status, b"ok" if status == 200 else b"nope")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        self._server.should_exit = True
        self._server.force_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.posts) < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"expected {count} POSTs, got {len(self.posts)}"
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), timeout=remaining)
        return self.posts


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def receiver(verify_token: str = "vt-123") -> AsyncIterator[Receiver]:
    rx = Receiver(verify_token)
    await rx.start()
    try:
        yield rx
    finally:
        await rx.stop()
