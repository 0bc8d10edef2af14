"""The periodic business sweep: quality ratings that recover as signals age, tier raises, throughput upgrades, and
messages whose reservation ran out undelivered."""

from __future__ import annotations

from sqlalchemy import Connection

from parley import accounts, billing
from parley.business import quality
from parley.business import repository as repo
from parley.business.identity import bsuid
from parley.business.models import ACCEPTED, FAILED, SENT
from parley.business.numbers import BusinessNumbers
from parley.business.observers import ConversationWrites
from parley.business.outbox import BusinessOutbox
from parley.config import BusinessSettings
from parley.graph import GraphError
from parley.kit.clock import Clock
from parley.kit.ids import IdGenerator
from parley.kit.periodic import PeriodicTask
from parley.platform.db import Database


class BusinessSweeps:
    """One pass over the businesses every `sweep_interval_s`, each business in a unit of its own."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        writes: ConversationWrites,
        outbox: BusinessOutbox,
        billing_service: billing.BillingService,
        settings: BusinessSettings,
        secret: bytes,
        numbers: BusinessNumbers,
    ) -> None:
        self._db, self._clock, self._ids = db, clock, ids
        self._numbers = numbers
        self._writes = writes
        self._outbox = outbox
        self._billing = billing_service
        self._settings = settings
        self._secret = secret
        self._tiers = tuple(settings.messaging_limit_tiers)
        self._sweeper = PeriodicTask("quality and limits sweep", settings.sweep_interval_s, self.sweep_now)

    async def start(self) -> None:
        self._sweeper.start()

    async def close(self) -> None:
        await self._sweeper.close()

    async def sweep_now(self) -> None:
        """Ratings that recover as signals age, tier raises, throughput upgrades: one pass over businesses."""
        window_ms = self._settings.quality_window_days * quality.DAY_MS
        changed = self._numbers.changed_in
        for waba in await self._db.read(repo.all_wabas):
            now = self._clock.now_ms()

            def unit(conn: Connection, waba_id: int = waba.id, now: int = now) -> None:
                for number in repo.numbers_of_waba(conn, waba_id):
                    if number.quality_rating != "GREEN":
                        quality.evaluate_number(
                            conn, number.id, window_ms, now, self._outbox.enqueue_in, self._ids.next_id, changed
                        )
                quality.evaluate_tier(conn, waba_id, now, self._outbox.enqueue_in, self._ids.next_id, self._tiers)
                quality.evaluate_throughput(conn, waba_id, now, self._outbox.enqueue_in, self._ids.next_id, changed)

            await self._db.write("business.sweep_now", unit)
        if self._billing.enabled:
            await self._db.write("business.sweep_now", self._expire_undelivered)

    def _expire_undelivered(self, conn: Connection) -> None:
        """Messages still undelivered when their reservation runs out fail, uncharged (WhatsApp drops them)."""
        now = self._clock.now_ms()
        for message_id in self._billing.expire_due_in(conn):
            row = repo.get_business_message(conn, message_id)
            if row is None or row.status not in (ACCEPTED, SENT):
                continue
            number = repo.get_number(conn, row.phone_number_id)
            person = accounts.get_users(conn, [row.person_id]).get(row.person_id)
            if number is None or person is None:
                continue
            repo.set_business_message_status(conn, message_id, FAILED, now)
            error = GraphError(
                131026,
                f"Message undeliverable: not delivered within {self._billing.settings.hold_ttl_days} days.",
            )
            person_bsuid = bsuid(self._secret, number.waba_id, person.id, person.phone)
            self._writes.enqueue_status_in(conn, number, row, person.phone, person_bsuid, error, now)
