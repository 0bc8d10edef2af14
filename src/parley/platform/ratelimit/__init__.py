"""The rate-limit seam: fixed-window counters, per process in memory or shared through Redis."""

from __future__ import annotations

from typing import Protocol

from parley.kit.clock import Clock


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_s: int) -> int | None:
        """Count one hit; return None when allowed, else the seconds until the window resets."""
        ...


class MemoryRateLimiter:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, limit: int, window_s: int) -> int | None:
        now = self._clock.now_ms() // 1000
        window_start = now - now % window_s
        start, count = self._windows.get(key, (window_start, 0))
        if start != window_start:
            start, count = window_start, 0
        if count >= limit:
            return start + window_s - now
        self._windows[key] = (start, count + 1)
        if len(self._windows) > 100_000:  # forget finished windows now and then
            self._windows = {k: v for k, v in self._windows.items() if v[0] >= window_start - 3600}
        return None
