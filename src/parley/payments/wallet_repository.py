"""SQL of Parley Pay for people: PINs, person-to-person payments, wallet top-ups and withdrawals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from parley.payments.wallet_models import pay_profiles, person_payments, wallet_funding

# --- PIN ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PayProfileRow:
    user_id: int
    pin_hash: str
    pin_failures: int
    locked_until: int | None
    updated_at: int


def profile(conn: Connection, user_id: int, *, lock: bool = False) -> PayProfileRow | None:
    query = select(pay_profiles).where(pay_profiles.c.user_id == user_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()  # a payer's confirms queue up: the day and month caps count each other
    row = conn.execute(query).first()
    return None if row is None else PayProfileRow(**row._mapping)


def insert_profile(conn: Connection, user_id: int, pin_hash: str, now: int) -> bool:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    result = conn.execute(
        dialect.insert(pay_profiles)
        .values(user_id=user_id, pin_hash=pin_hash, pin_failures=0, locked_until=None, updated_at=now)
        .on_conflict_do_nothing()
    )
    return result.rowcount == 1


def update_profile(conn: Connection, user_id: int, **values: Any) -> None:
    conn.execute(update(pay_profiles).where(pay_profiles.c.user_id == user_id).values(**values))


def add_pin_failure(conn: Connection, user_id: int) -> int:
    """One more wrong guess, counted in the database (two racing guesses both count); the new count."""
    conn.execute(
        update(pay_profiles)
        .where(pay_profiles.c.user_id == user_id)
        .values(pin_failures=pay_profiles.c.pin_failures + 1)
    )
    return int(conn.execute(select(pay_profiles.c.pin_failures).where(pay_profiles.c.user_id == user_id)).scalar_one())


# --- person-to-person payments -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonPaymentRow:
    id: int
    payer_id: int
    payee_id: int
    chat_id: int
    amount: int
    currency: str
    note: str | None
    status: str
    market: str
    idempotency_key: str
    client_id: str
    request_hash: str
    message_id: int | None
    created_at: int
    completed_at: int | None


def person_payment(conn: Connection, payment_id: int) -> PersonPaymentRow | None:
    row = conn.execute(select(person_payments).where(person_payments.c.id == payment_id)).first()
    return None if row is None else PersonPaymentRow(**row._mapping)


def person_payment_by_key(conn: Connection, payer_id: int, key: str) -> PersonPaymentRow | None:
    p = person_payments.c
    row = conn.execute(select(person_payments).where(p.payer_id == payer_id, p.idempotency_key == key)).first()
    return None if row is None else PersonPaymentRow(**row._mapping)


def insert_person_payment_once(conn: Connection, row: PersonPaymentRow) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(person_payments).values(**row.__dict__).on_conflict_do_nothing())


def complete_person_payment(conn: Connection, payment_id: int, now: int) -> bool:
    """pending -> completed; False when another unit completed it first."""
    result = conn.execute(
        update(person_payments)
        .where(person_payments.c.id == payment_id, person_payments.c.status == "pending")
        .values(status="completed", completed_at=now)
    )
    return result.rowcount == 1


def set_payment_message(conn: Connection, payment_id: int, message_id: int) -> None:
    conn.execute(update(person_payments).where(person_payments.c.id == payment_id).values(message_id=message_id))


def sent_since(conn: Connection, payer_id: int, currency: str, since_ms: int) -> tuple[int, int]:
    """(count, total micros) of the payer's completed payments in `currency` since `since_ms`."""
    p = person_payments.c
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(p.amount), 0)).where(
            p.payer_id == payer_id, p.status == "completed", p.completed_at >= since_ms, p.currency == currency
        )
    ).one()
    return int(row[0]), int(row[1])


# --- top-ups and withdrawals ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FundingRow:
    id: int
    user_id: int
    direction: str
    method: str
    handle: str
    amount: int
    currency: str
    status: str
    provider: str
    provider_payment_id: str | None
    idempotency_key: str
    request_hash: str
    failure_code: str | None
    failure_reason: str | None
    created_at: int
    completed_at: int | None


OPEN = ("created", "requires_action", "processing")


def funding(conn: Connection, funding_id: int) -> FundingRow | None:
    row = conn.execute(select(wallet_funding).where(wallet_funding.c.id == funding_id)).first()
    return None if row is None else FundingRow(**row._mapping)


def funding_by_key(conn: Connection, user_id: int, direction: str, key: str) -> FundingRow | None:
    f = wallet_funding.c
    row = conn.execute(
        select(wallet_funding).where(f.user_id == user_id, f.direction == direction, f.idempotency_key == key)
    ).first()
    return None if row is None else FundingRow(**row._mapping)


def insert_funding_once(conn: Connection, row: FundingRow) -> bool:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    result = conn.execute(dialect.insert(wallet_funding).values(**row.__dict__).on_conflict_do_nothing())
    return result.rowcount == 1


def set_funding(conn: Connection, funding_id: int, *, only_open: bool = True, **values: Any) -> bool:
    """Change an open top-up or withdrawal; False when it already ended (another unit settled it)."""
    condition = wallet_funding.c.id == funding_id
    if only_open:
        condition = condition & wallet_funding.c.status.in_(OPEN)
    return conn.execute(update(wallet_funding).where(condition).values(**values)).rowcount == 1


def open_funding_before(conn: Connection, created_before: int, limit: int) -> list[FundingRow]:
    f = wallet_funding.c
    rows = conn.execute(
        select(wallet_funding)
        .where(f.status.in_(("created", "processing")), f.created_at <= created_before)
        .order_by(f.id)
        .limit(limit)
    )
    return [FundingRow(**r._mapping) for r in rows]


def recent_funding(conn: Connection, user_id: int, limit: int) -> list[FundingRow]:
    f = wallet_funding.c
    rows = conn.execute(select(wallet_funding).where(f.user_id == user_id).order_by(f.id.desc()).limit(limit))
    return [FundingRow(**r._mapping) for r in rows]
