"""Argon2 off the event loop: a few threads hash and verify passwords, and a full queue is refused at once."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from parley.kit.errors import RateLimitedError

T = TypeVar("T")


def _lower_priority() -> None:
    # Linux keeps a nice value per thread (and argon2's lane threads inherit it): under a flood the event loop,
    # which answers everything else, wins the CPU over hashing. Elsewhere this is a no-op.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, 0, 10)


class PasswordPool:
    """argon2-cffi releases the GIL while it hashes, so threads keep the loop free; `threads + queue` jobs at most."""

    def __init__(self, threads: int, queue: int) -> None:
        self._hasher = PasswordHasher()
        self._executor = ThreadPoolExecutor(threads, "parley-argon2", initializer=_lower_priority)
        self._capacity = threads + queue
        self._in_flight = 0
        self._dummy_hash: str | None = None

    async def warm(self) -> None:
        """Make the stand-in hash before the first sign-in, so that sign-in costs what the others do."""
        if self._dummy_hash is None:
            self._dummy_hash = await self._run(self._hasher.hash, "no such account")

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when the password matches; a missing hash costs the same as a wrong password (no account oracle)."""
        await self.warm()
        assert self._dummy_hash is not None
        matched = await self._run(self._check, password_hash or self._dummy_hash, password)
        return matched and password_hash is not None

    def _check(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _run(self, fn: Callable[..., T], *args: str) -> T:
        if self._in_flight >= self._capacity:
            raise RateLimitedError("The server is busy signing people in; try again in a moment.", retry_after_s=1)
        loop = asyncio.get_running_loop()
        job = self._executor.submit(fn, *args)
        self._in_flight += 1
        # Counted until the thread is done with it, even if the caller went away: a hash already running keeps
        # its place, so clients that hang up cannot push more work into the pool than it admits.
        job.add_done_callback(lambda _: self._release_from_thread(loop))
        return await asyncio.wrap_future(job)

    def _release_from_thread(self, loop: asyncio.AbstractEventLoop) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed while a hash finished: nothing left to count
            loop.call_soon_threadsafe(self._release)

    def _release(self) -> None:
        self._in_flight -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
