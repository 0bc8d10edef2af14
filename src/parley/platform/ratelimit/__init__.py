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
        # A window opens at a key's first hit (as with Redis INCR + EXPIRE NX), not at a multiple of
        # window_s: otherwise a hit just before a boundary and one just after both pass.
        start, count = self._windows.get(key, (now, 0))
        if now >= start + window_s:
            start, count = now, 0
        if count >= limit:
            return start + window_s - now
        self._windows[key] = (start, count + 1)
        if len(self._windows) > 100_000:  # forget finished windows now and then
            self._windows = {k: v for k, v in self._windows.items() if v[0] >= now - 3600}
        return None
