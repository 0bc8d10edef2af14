"""Business numbers as the hot paths need them: by id (cached), and whether a Parley account is a business number."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Connection

from parley.business import repository as repo
from parley.graph import GraphError, GraphScope, object_not_found
from parley.kit.clock import Clock
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.kit.ids import first_id_at, parse_id
from parley.platform.bus import Bus
from parley.platform.db import Database

NUMBERS_TOPIC = "business:numbers"
NUMBER_CHANGES_TOPIC = "business:number-changes"
_NUMBER_CACHE_TTL_MS = 30_000
# A number changed inside a unit is read from the database, never cached, for this long: the change is announced
# before its unit commits, and a read in between would otherwise cache the old row.
_CHANGE_SETTLE_MS = 1_000
_MAX_CACHED_NUMBERS = 100_000
# Accounts created this long before the set was loaded are checked once anyway: a number whose id was drawn
# just before the load may commit just after it.
_LOAD_MARGIN_MS = 60_000
_MAX_YOUNG_PEOPLE = 200_000


class BusinessNumbers:
    """Which accounts are business numbers, known in memory so a message between two people costs a set lookup.

    The set is loaded at start and grows when a number is created: at once in the creating process, over the bus
    in the others. A process the bus does not reach (the CLI beside a SQLite server) is covered by the ids being
    time-ordered: an account younger than the load is read once from the database, and its answer remembered.
    Numbers are never removed, and an account never becomes a business number later (a business needs a phone
    number that has no Parley account yet), so a remembered answer stays true.
    """

    def __init__(self, db: Database, bus: Bus, clock: Clock) -> None:
        self._db, self._bus, self._clock = db, bus, clock
        self._by_id: dict[int, tuple[repo.NumberRow, int]] = {}
        self._unsettled: dict[int, int] = {}  # number id -> until when (clock ms) it is not cached
        self._generation = 0  # moves on every change, so a read racing a change is not cached
        self._loop: asyncio.AbstractEventLoop | None = None
        self._publishing: set[asyncio.Task[None]] = set()
        self._business_users: set[int] = set()
        self._young_people: set[int] = set()
        self._settled_below = 0  # ids below it are known: before the load, none is

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._bus.subscribe(NUMBERS_TOPIC, self._on_created)
        self._bus.subscribe(NUMBER_CHANGES_TOPIC, self._on_changed)
        settled_below = first_id_at(self._clock.now_ms() - _LOAD_MARGIN_MS)
        self._business_users |= await self._db.read(repo.business_user_ids)
        self._settled_below = settled_below

    def is_business_user_in(self, conn: Connection, user_id: int) -> bool:
        """Whether the account is a business number; reads the database only for an account younger than the load
        that was never asked about (inside the caller's unit)."""
        if user_id in self._business_users:
            return True
        if user_id < self._settled_below or user_id in self._young_people:
            return False
        if repo.numbers_of_users(conn, [user_id]):
            self._business_users.add(user_id)
            return True
        if len(self._young_people) >= _MAX_YOUNG_PEOPLE:
            self._young_people.clear()  # only costs a read per person again
        self._young_people.add(user_id)
        return False

    def number_of_user_in(self, conn: Connection, user_id: int) -> repo.NumberRow | None:
        """The number behind an account, read only when the account is one."""
        if not self.is_business_user_in(conn, user_id):
            return None
        return repo.numbers_of_users(conn, [user_id]).get(user_id)

    async def created(self, number: repo.NumberRow) -> None:
        """A number was committed: known at once here, and in every process the bus reaches."""
        self._business_users.add(number.user_id)
        self._young_people.discard(number.user_id)
        await self._bus.publish(NUMBERS_TOPIC, {"user_id": number.user_id})

    def _on_created(self, event: dict[str, Any]) -> None:
        user_id = parse_id(str(event.get("user_id")))
        if user_id is not None:
            self._business_users.add(user_id)
            self._young_people.discard(user_id)

    async def get(self, number_id: int) -> repo.NumberRow | None:
        """A number by id, from memory for 30 s at most; a change (quality, status, throughput) evicts it at once
        here and, over the bus, in every other process."""
        cached = self._cached(number_id)
        if cached is not None:
            return cached
        generation = self._generation
        number = await self._db.read(lambda c: repo.get_number(c, number_id))
        self._remember(number_id, number, generation)
        return number

    def get_in(self, conn: Connection, number_id: int) -> repo.NumberRow | None:
        """`get` inside the caller's unit (the ack and read path)."""
        cached = self._cached(number_id)
        if cached is not None:
            return cached
        generation = self._generation
        number = repo.get_number(conn, number_id)
        self._remember(number_id, number, generation)
        return number

    def _cached(self, number_id: int) -> repo.NumberRow | None:
        cached = self._by_id.get(number_id)
        return cached[0] if cached is not None and cached[1] > self._clock.now_ms() else None

    def _remember(self, number_id: int, number: repo.NumberRow | None, generation: int) -> None:
        now = self._clock.now_ms()
        if number is not None and generation == self._generation and self._settled(number_id, now):
            if len(self._by_id) >= _MAX_CACHED_NUMBERS:
                self._by_id.clear()
            self._by_id[number_id] = (number, now + _NUMBER_CACHE_TTL_MS)

    def changed_in(self, number_id: int) -> None:
        """A unit is changing this number's row: forget it here now, and in the other processes over the bus.

        Called from inside the unit (the writer thread on SQLite), so the publication is handed to the event loop.
        """
        self._forget(number_id)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._publish_change, number_id)

    def _publish_change(self, number_id: int) -> None:
        task = asyncio.ensure_future(self._bus.publish(NUMBER_CHANGES_TOPIC, {"number_id": number_id}))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    def _on_changed(self, event: dict[str, Any]) -> None:
        number_id = parse_id(str(event.get("number_id")))
        if number_id is not None:
            self._forget(number_id)

    def _forget(self, number_id: int) -> None:
        self._generation += 1
        self._by_id.pop(number_id, None)
        if len(self._unsettled) >= _MAX_CACHED_NUMBERS:
            self._unsettled.clear()
        self._unsettled[number_id] = self._clock.now_ms() + _CHANGE_SETTLE_MS

    def _settled(self, number_id: int, now: int) -> bool:
        until = self._unsettled.get(number_id)
        if until is None:
            return True
        if until > now:
            return False
        del self._unsettled[number_id]
        return True

    async def in_scope(self, scope: GraphScope, raw_id: str | int) -> repo.NumberRow:
        """The business's number `raw_id` (Meta's "object not found" for any other)."""
        number_id = raw_id if isinstance(raw_id, int) else parse_id(raw_id)
        number = None if number_id is None else await self.get(number_id)
        if number is None or number.waba_id != scope.waba_id:
            raise object_not_found(raw_id)
        return number

    async def of_user(self, user_id: int) -> repo.NumberRow:
        number = await self._db.read(lambda c: repo.numbers_of_users(c, [user_id]).get(user_id))
        if number is None:
            raise GraphError(100, f"user {user_id} is not a business number")
        return number

    async def ids_of_waba(self, waba_id: int) -> list[int]:
        return [n.id for n in await self._db.read(lambda c: repo.numbers_of_waba(c, waba_id))]

    async def inbox_number(self, waba_id: int, raw_number_id: object) -> int:
        """The business's number `raw_number_id` as the inbox names it (400 when missing, 404 when not one of its
        numbers)."""
        if raw_number_id in (None, ""):
            raise InvalidInputError("number_id is required: one of the business's phone number ids")
        valid = isinstance(raw_number_id, str | int) and not isinstance(raw_number_id, bool)
        number_id = parse_id(str(raw_number_id)) if valid else None
        if number_id is None:
            raise InvalidInputError("number_id must be a phone number id (a string of digits)")
        if number_id not in await self.ids_of_waba(waba_id):
            raise NotFoundError("this business has no such number")
        return number_id
