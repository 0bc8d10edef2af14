"""64-bit, time-ordered ids (Snowflake layout): 41 bits of milliseconds, 10 of node, 12 of sequence."""

from __future__ import annotations

import os
import threading

from parley.kit.clock import Clock

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
_NODE_BITS = 10
_SEQ_BITS = 12
_SEQ_MASK = (1 << _SEQ_BITS) - 1


class IdGenerator:
    """Thread-safe; ids from one generator strictly increase even if the clock stalls."""

    def __init__(self, clock: Clock, node: int | None = None) -> None:
        self._clock = clock
        # Processes sharing a database get different nodes, so their ids never collide.
        self._node = (os.getpid() if node is None else node) & ((1 << _NODE_BITS) - 1)
        self._last = 0
        self._lock = threading.Lock()

    def next_id(self) -> int:
        with self._lock:
            candidate = ((self._clock.now_ms() - EPOCH_MS) << (_NODE_BITS + _SEQ_BITS)) | (self._node << _SEQ_BITS)
            if candidate <= self._last:
                # Same millisecond (or a clock that went back): bump the sequence,
                # borrowing the next millisecond when it overflows.
                candidate = self._last + 1
                if candidate & _SEQ_MASK == 0:
                    # The carry went into the node bits: move to the next millisecond, same node.
                    next_ms = (self._last >> (_NODE_BITS + _SEQ_BITS)) + 1
                    candidate = (next_ms << (_NODE_BITS + _SEQ_BITS)) | (self._node << _SEQ_BITS)
            self._last = candidate
            return candidate


MAX_ID = (1 << 63) - 1  # what a signed BIGINT column holds


def parse_id(raw: str) -> int | None:
    """The id written as `raw` (ASCII decimal digits that fit a BIGINT), or None if it cannot be one."""
    # str.isdigit alone lets through '²' (int() refuses it) and numbers the database cannot bind.
    if not raw or len(raw) > 19 or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def first_id_at(timestamp_ms: int) -> int:
    """The smallest id any generator can give at `timestamp_ms` (ids given later are never below it)."""
    return max(timestamp_ms - EPOCH_MS, 0) << (_NODE_BITS + _SEQ_BITS)


def timestamp_ms_of(id_: int) -> int:
    """The creation time encoded in an id."""
    return (id_ >> (_NODE_BITS + _SEQ_BITS)) + EPOCH_MS
