"""A bearer-token cache that forgets revoked tokens at once, whichever process revoked them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")
RevocationCounter = Callable[[], "int | None"]
_UNSEEN = -1


class TokenCache(Generic[V]):
    """Token hash -> what the token authenticates, for `ttl_s`.

    Revocations reach it two ways. One published on the bus (this process, or any process sharing Redis) evicts its
    token hash. One committed by a process the bus does not reach (the CLI beside a SQLite server) moves the
    revocation counter in the database: `get` reads that counter through `counter` at most once per `recheck_s`
    and forgets everything when it moved. `counter` answers None when it could not read; that forgets too.
    Why not on every call: under a stream of sends the read costs ~60 µs beside the writer's commits (6 % of a
    send), and a revocation from another process taking effect within 50 ms is as good as at once.
    """

    def __init__(
        self,
        counter: RevocationCounter | None,
        ttl_s: float = 60.0,
        max_entries: int = 100_000,
        *,
        recheck_s: float = 0.05,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._counter = counter
        self._ttl_s, self._max_entries = ttl_s, max_entries
        self._recheck_s, self._monotonic = recheck_s, monotonic
        self._next_check = 0.0
        self._entries: dict[str, tuple[V, float]] = {}
        self._seen = _UNSEEN
        self._generation = 0  # moves on every eviction, so a lookup racing a revocation is not cached

    def get(self, token_hash: str) -> V | None:
        now = self._monotonic()
        if self._counter is not None and now >= self._next_check:
            self._next_check = now + self._recheck_s
            current = self._counter()
            if current is None or current != self._seen:
                self._seen = _UNSEEN if current is None else current
                self.clear()
                return None
        entry = self._entries.get(token_hash)
        if entry is None or entry[1] <= now:
            return None
        return entry[0]

    @property
    def generation(self) -> int:
        """Take before reading a token from the database; hand to `put` after."""
        return self._generation

    def put(self, token_hash: str, value: V, generation: int) -> None:
        """Cache a token read from the database, unless a revocation landed while it was being read."""
        if generation != self._generation:
            return
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[token_hash] = (value, self._monotonic() + self._ttl_s)

    def evict(self, token_hash: str) -> None:
        self._generation += 1
        self._entries.pop(token_hash, None)

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()
