"""The business's webhook events as outbox rows, written inside the caller's unit, and the wake-up after commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from parley import webhooks
from parley.kit.ids import IdGenerator, parse_id


class BusinessOutbox:
    """Every business service writes its webhooks through here: one id source, one delivery loop to wake."""

    def __init__(self, ids: IdGenerator) -> None:
        self._ids = ids
        self._notify: Callable[[], None] = lambda: None

    def after_write(self, notify: Callable[[], None]) -> None:
        """Called after a unit that wrote webhook events committed (wakes the delivery loop)."""
        self._notify = notify

    def wake(self) -> None:
        self._notify()

    def enqueue_in(
        self,
        conn: Connection,
        waba_id: int,
        field: str,
        value: dict[str, Any],
        phone_number_id: int | None,
        *,
        order_key: int | None = None,
    ) -> None:
        webhooks.enqueue(
            conn,
            waba_id=waba_id,
            field=field,
            value=value,
            phone_number_id=phone_number_id,
            event_id=self._ids.next_id(),
            order_key=order_key,
        )

    def enqueue_contact_change_in(self, conn: Connection, waba_id: int, change: str, contact: dict[str, Any]) -> None:
        """A `parley_contacts` webhook (a Parley extension): a CRM hears contacts created and edited."""
        value = {"messaging_product": "whatsapp", "event": change, "contact": contact}
        # A contact's changes go out in order (`created` before `updated`), like a message's statuses.
        self.enqueue_in(conn, waba_id, "parley_contacts", value, None, order_key=parse_id(str(contact.get("id"))))
