"""Templates by (business, name, language) in memory for the send path, forgotten on any template change."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Connection

from parley.kit.clock import Clock
from parley.platform.bus import Bus
from parley.templates import repository as repo

TEMPLATE_CHANGES_TOPIC = "templates:changes"
_TTL_MS = 60_000
_MAX_ENTRIES = 50_000
# After a change, lookups read the database and cache nothing for this long: the change is announced from inside
# its unit, before the commit, and a lookup in between would otherwise cache the old row.
_CHANGE_SETTLE_MS = 1_000


class TemplateCache:
    """What `find_template` answers, remembered for 60 s at most.

    Any change of any template (status, content, quality, pause, resume, edit, delete, creation) forgets everything:
    changes are rare beside sends, and forgetting all needs no knowledge of which key a change touched. A change in
    this process is forgotten at once (the repository tells every started cache); other processes hear it on the bus.
    """

    def __init__(self, bus: Bus, clock: Clock) -> None:
        self._bus, self._clock = bus, clock
        self._entries: dict[tuple[int, str, str], tuple[repo.TemplateRow, int]] = {}
        self._generation = 0  # moves on every change, so a lookup racing a change is not cached
        self._unsettled_until = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._publishing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._bus.subscribe(TEMPLATE_CHANGES_TOPIC, self._on_changed)
        repo.CHANGE_LISTENERS.add(self)

    async def close(self) -> None:
        repo.CHANGE_LISTENERS.discard(self)

    def find_in(self, conn: Connection, waba_id: int, name: str, language: str) -> repo.TemplateRow | None:
        key = (waba_id, name, language)
        now = self._clock.now_ms()
        cached = self._entries.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        generation = self._generation
        row = repo.find_template(conn, waba_id, name, language)
        if row is not None and generation == self._generation and now >= self._unsettled_until:
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (row, now + _TTL_MS)
        return row

    def changed_in(self) -> None:
        """A unit is changing a template: forget here now, and in the other processes over the bus (called from
        inside the unit, the writer thread on SQLite, so the publication is handed to the event loop)."""
        self._forget()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._publish)

    def _publish(self) -> None:
        task = asyncio.ensure_future(self._bus.publish(TEMPLATE_CHANGES_TOPIC, {"changed": True}))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    def _on_changed(self, _event: dict[str, Any]) -> None:
        self._forget()

    def _forget(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._unsettled_until = self._clock.now_ms() + _CHANGE_SETTLE_MS
