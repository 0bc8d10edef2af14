"""One helper for periodic background work (a sweep every N seconds), like Synapse's `clock.looping_call`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from parley.kit.errors import OverloadedError

log = logging.getLogger(__name__)


class PeriodicTask:
    """Runs `fn` every `interval_s` seconds once started; 0 never runs it (tests call `fn` themselves).

    A failing run is logged and tried again at the next interval."""

    def __init__(self, name: str, interval_s: float, fn: Callable[[], Awaitable[object]]) -> None:
        self._name, self._interval_s, self._fn = name, interval_s, fn
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._interval_s > 0 and self._task is None:
            self._task = asyncio.create_task(self._forever(), name=f"parley-{self._name}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self._fn()
            except OverloadedError:  # the process is refusing work it cannot finish promptly: no fault here
                log.warning("%s put off by overload; retried in %s s", self._name, self._interval_s)
            except Exception:
                log.exception("%s failed; retried in %s s", self._name, self._interval_s)
