"""When each Cloud API access token was last used, kept off the send path's writes.

Writing `last_used_at` on every authenticated call would put a write (SQLite's one writer, a PostgreSQL row lock
on a busy token's row) on every send. A console shows "last used" to the minute, so a call only notes the time
in a dict (a few hundred ns); a periodic flush writes what was noted, at most once a minute per token, in one
statement. Readers merge what is not written yet, so this process's own uses show at once.
"""

from __future__ import annotations


class TokenUses:
    def __init__(self) -> None:
        self._unwritten: dict[int, int] = {}  # token id -> latest use (ms) not yet written

    def note(self, token_id: int, now_ms: int) -> None:
        self._unwritten[token_id] = now_ms

    def take(self) -> dict[int, int]:
        """Everything noted since the last take, to write now."""
        taken, self._unwritten = self._unwritten, {}
        return taken

    def give_back(self, taken: dict[int, int]) -> None:
        """A write that failed: keep its uses for the next flush (later uses noted meanwhile win)."""
        for token_id, at in taken.items():
            if self._unwritten.get(token_id, 0) < at:
                self._unwritten[token_id] = at

    def unwritten(self, token_id: int) -> int | None:
        return self._unwritten.get(token_id)
