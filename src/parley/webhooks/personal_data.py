"""The copies of a person's number and name in webhook events (payloads businesses receive or received), for
their erasure (`parley.rights`)."""

from __future__ import annotations

import orjson
from sqlalchemy import Connection, func, update

from parley.webhooks.models import webhook_events


def erase_person_in(conn: Connection, phone: str, name: str, pseudonym: str) -> int:
    """In every event that names `phone` (with or without its `+`), replace it, and `name` as JSON writes it, by
    `pseudonym`; events still to deliver carry the pseudonym too. The events read; the number of events changed.

    Events have no index by person: this reads the whole table, once per erasure (rare, and never on a hot path)."""
    digits = phone.lstrip("+")
    if not digits:
        return 0
    value = webhook_events.c.value
    scrubbed = func.replace(func.replace(value, f"+{digits}", pseudonym), digits, pseudonym)
    if name:
        scrubbed = func.replace(scrubbed, orjson.dumps(name).decode()[1:-1], pseudonym)
    return int(conn.execute(update(webhook_events).where(value.contains(digits)).values(value=scrubbed)).rowcount)
