"""The outbox insert every send, ack and read makes, as plain SQL per dialect on the unit's driver cursor."""

from __future__ import annotations

from parley.platform.db.driver import DriverCursor, insert_sql, numbered

_COLUMNS = (
    "id",
    "waba_id",
    "phone_number_id",
    "field",
    "order_key",
    "value",
    "created_at",
    "next_attempt_at",
    "retry_from",
    "state",
    "attempts",
)
# A retried unit enqueues the same id again: nothing happens (the update goes out once).
_ENQUEUE_SQLITE = insert_sql("webhook_events", _COLUMNS) + " ON CONFLICT (id) DO NOTHING"
_ENQUEUE_POSTGRESQL = numbered(_ENQUEUE_SQLITE)


def enqueue(
    cursor: DriverCursor,
    event_id: int,
    waba_id: int,
    phone_number_id: int | None,
    field: str,
    order_key: int | None,
    value: str,
    created_at: int,
    state: str,
) -> None:
    statement = _ENQUEUE_POSTGRESQL if cursor.dialect == "postgresql" else _ENQUEUE_SQLITE
    cursor.run(
        statement,
        (event_id, waba_id, phone_number_id, field, order_key, value, created_at, created_at, created_at, state, 0),
    )
