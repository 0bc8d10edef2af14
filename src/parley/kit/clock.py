"""The injected clock: everything time-dependent asks it, so tests travel in time without sleeping."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Unix time in milliseconds."""
        ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, start_ms: int = 1_790_000_000_000) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def advance(self, *, seconds: float = 0, minutes: float = 0, hours: float = 0) -> None:
        self._now += int((seconds + minutes * 60 + hours * 3600) * 1000)


class OffsetClock:
    """Real time plus an offset that tests can push forward (ids and ordering stay realistic)."""

    def __init__(self) -> None:
        self._offset_ms = 0

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self._offset_ms

    def advance(self, *, seconds: float = 0, minutes: float = 0, hours: float = 0) -> None:
        self._offset_ms += int((seconds + minutes * 60 + hours * 3600) * 1000)
