"""SQL of payments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from parley.payments.models import payments


@dataclass(frozen=True)
class PaymentRow:
    id: int
    payer_kind: str
    payer_id: int
    purpose: str
    amount: int
    currency: str
    status: str
    provider: str
    provider_payment_id: str
    idempotency_key: str
    card_brand: str | None
    card_last4: str | None
    decline_code: str | None
    decline_reason: str | None
    created_by: int | None
    created_at: int
    completed_at: int | None


def get(conn: Connection, payment_id: int) -> PaymentRow | None:
    row = conn.execute(select(payments).where(payments.c.id == payment_id)).first()
    return None if row is None else PaymentRow(**row._mapping)


def by_key(conn: Connection, payer_kind: str, payer_id: int, key: str) -> PaymentRow | None:
    p = payments.c
    row = conn.execute(
        select(payments).where(p.payer_kind == payer_kind, p.payer_id == payer_id, p.idempotency_key == key)
    ).first()
    return None if row is None else PaymentRow(**row._mapping)


def insert_once(conn: Connection, row: PaymentRow) -> None:
    """Insert unless a payment with the same payer and key exists (a racing retry stored it first)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(payments).values(**row.__dict__).on_conflict_do_nothing())


def complete(conn: Connection, payment_id: int, **values: Any) -> bool:
    """Move a payment out of `requires_confirmation`; False when another unit did it first."""
    result = conn.execute(
        update(payments)
        .where(payments.c.id == payment_id, payments.c.status == "requires_confirmation")
        .values(**values)
    )
    return result.rowcount == 1


def recent(conn: Connection, payer_kind: str, payer_id: int, limit: int) -> list[PaymentRow]:
    p = payments.c
    rows = conn.execute(
        select(payments).where(p.payer_kind == payer_kind, p.payer_id == payer_id).order_by(p.id.desc()).limit(limit)
    )
    return [PaymentRow(**r._mapping) for r in rows]
