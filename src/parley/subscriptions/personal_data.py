"""A person's subscriptions, for their export and their erasure (`parley.rights`)."""

from __future__ import annotations

from sqlalchemy import Connection, select, true, update

from parley.kit.rows import Rows, rows_of
from parley.subscriptions.models import subscription_charges, subscriptions


def personal_data_in(conn: Connection, user_id: int) -> dict[str, Rows]:
    """Their subscriptions to channels and paid groups, and every charge of them."""
    theirs = select(subscriptions.c.id).where(subscriptions.c.subscriber_id == user_id)
    return {
        "subscriptions": rows_of(conn, subscriptions, subscriptions.c.subscriber_id == user_id),
        "subscription_charges": rows_of(conn, subscription_charges, subscription_charges.c.subscription_id.in_(theirs)),
    }


def erase_person_in(conn: Connection, user_id: int, now: int) -> None:
    """Nothing renews any more: each running subscription ends with its paid period (charges stay, as money)."""
    conn.execute(
        update(subscriptions)
        .where(subscriptions.c.subscriber_id == user_id, subscriptions.c.status.in_(("active", "past_due")))
        .values(cancel_at_period_end=true(), updated_at=now)
    )
