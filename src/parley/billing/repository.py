"""SQL of billing: profiles, rate cards, charge rows, volume counters, CBP conversations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from parley.billing.models import (
    CHARGED,
    billing_charges,
    billing_conversations,
    billing_profiles,
    billing_rate_cards,
    billing_volume,
)


@dataclass(frozen=True)
class ProfileRow:
    waba_id: int
    price_list: str
    currency: str
    timezone: str
    home_calling_code: str | None
    auth_international: bool
    created_at: int


@dataclass(frozen=True)
class StoredCardRow:
    id: int
    price_list: str
    csv: str
    markup_bps: int
    currency: str | None
    pricing_model: str | None
    effective: str | None
    source: str
    loaded_at: int


@dataclass(frozen=True)
class ChargeRow:
    message_id: int
    waba_id: int
    phone_number_id: int
    person_id: int
    country: str
    market: str
    send_category: str
    pricing_model: str | None
    category: str | None
    pricing_type: str | None
    billable: bool | None
    state: str
    held: int
    amount: int
    list_rate: int
    tier: str | None
    hold_id: int | None
    transfer_id: int | None
    conversation_id: int | None
    sent_at: int
    settled_at: int | None
    day: str | None


def get_profile(conn: Connection, waba_id: int) -> ProfileRow | None:
    row = conn.execute(select(billing_profiles).where(billing_profiles.c.waba_id == waba_id)).first()
    return None if row is None else ProfileRow(**row._mapping)


def insert_profile(conn: Connection, row: ProfileRow) -> None:
    conn.execute(insert(billing_profiles).values(**row.__dict__))


def update_profile(conn: Connection, waba_id: int, **values: Any) -> None:
    conn.execute(update(billing_profiles).where(billing_profiles.c.waba_id == waba_id).values(**values))


def insert_card(conn: Connection, row: StoredCardRow) -> None:
    conn.execute(insert(billing_rate_cards).values(**row.__dict__))


def stored_cards(conn: Connection) -> list[StoredCardRow]:
    rows = conn.execute(select(billing_rate_cards).order_by(billing_rate_cards.c.id))
    return [StoredCardRow(**r._mapping) for r in rows]


# Prebuilt: every business message delivered runs these.
_GET_CHARGE = select(billing_charges).where(billing_charges.c.message_id == bindparam("charge_id"))
_INSERT_CHARGE = insert(billing_charges)
_UPDATE_CHARGE = update(billing_charges).where(billing_charges.c.message_id == bindparam("charge_id"))


def get_charge(conn: Connection, message_id: int) -> ChargeRow | None:
    row = conn.execute(_GET_CHARGE, {"charge_id": message_id}).first()
    return None if row is None else ChargeRow(**row._mapping)


def insert_charge(conn: Connection, row: ChargeRow) -> None:
    conn.execute(_INSERT_CHARGE, row.__dict__)


def update_charge(conn: Connection, message_id: int, **values: Any) -> None:
    conn.execute(_UPDATE_CHARGE, {**values, "charge_id": message_id})


def held_charges_sent_before(conn: Connection, before: int, limit: int) -> list[ChargeRow]:
    c = billing_charges.c
    rows = conn.execute(
        select(billing_charges).where(c.state == "held", c.sent_at < before).order_by(c.sent_at).limit(limit)
    )
    return [ChargeRow(**r._mapping) for r in rows]


def bump_volume(conn: Connection, waba_id: int, month: str, market: str, category: str) -> int:
    """Count one more charged message and return its position in the month (1-based)."""
    key = {"waba_id": waba_id, "month": month, "market": market, "category": category}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(billing_volume)
        .values(**key, count=1)
        .on_conflict_do_update(index_elements=list(key), set_={"count": billing_volume.c.count + 1})
        .returning(billing_volume.c.count)
    )
    return int(conn.execute(statement).scalar_one())


def volume(conn: Connection, waba_id: int, month: str, market: str, category: str) -> int:
    v = billing_volume.c
    found = conn.execute(
        select(v.count).where(v.waba_id == waba_id, v.month == month, v.market == market, v.category == category)
    ).scalar()
    return int(found or 0)


def open_conversation(conn: Connection, phone_number_id: int, person_id: int, category: str, at: int) -> int | None:
    c = billing_conversations.c
    found = conn.execute(
        select(c.id)
        .where(
            and_(c.phone_number_id == phone_number_id, c.person_id == person_id, c.category == category),
            c.opened_at <= at,
            c.expires_at > at,
        )
        .limit(1)
    ).scalar()
    return None if found is None else int(found)


def insert_conversation(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(billing_conversations).values(**values))


@dataclass(frozen=True)
class SpendRow:
    day: str  # YYYY-MM-DD, the delivery day in the business's time zone
    category: str  # what it was billed as
    market: str
    messages: int
    amount: int  # micros


def spend_between(conn: Connection, waba_id: int, start_ms: int, end_ms: int) -> list[SpendRow]:
    """Charged messages settled in [start, end), summed by delivery day, billed category and market."""
    c = billing_charges.c
    rows = conn.execute(
        select(c.day, c.category, c.market, func.count().label("messages"), func.sum(c.amount).label("amount"))
        .where(c.waba_id == waba_id, c.settled_at >= start_ms, c.settled_at < end_ms, c.state == CHARGED)
        .group_by(c.day, c.category, c.market)
        .order_by(c.day, c.category, c.market)
    )
    return [SpendRow(r.day, r.category, r.market, int(r.messages), int(r.amount or 0)) for r in rows]
