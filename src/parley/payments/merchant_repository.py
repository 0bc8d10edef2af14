"""SQL of merchant payments: orders, the messages that carry them, payment attempts, refunds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from parley.payments.merchant_models import (
    merchant_order_attempts,
    merchant_order_messages,
    merchant_orders,
    merchant_refunds,
)
from parley.payments.models import payments
from parley.payments.repository import PaymentRow


@dataclass(frozen=True)
class OrderRow:
    id: int
    waba_id: int
    phone_number_id: int
    reference_id: str
    person_id: int
    message_id: int
    wamid: str
    business_phone: str
    person_phone: str
    market: str
    merchant_category: str | None
    currency: str
    total: int
    subtotal: int | None
    tax: int | None
    shipping: int | None
    discount: int | None
    items: str
    settings_kind: str
    payment_configuration: str
    gateway: str | None
    echo: str
    body_hash: str
    status: str
    status_description: str | None
    expires_at: int | None
    expiration_description: str | None
    payment_state: str
    payment_id: int | None
    fee: int
    refunded: int
    fee_refunded: int
    created_at: int
    updated_at: int
    captured_at: int | None


@dataclass(frozen=True)
class RefundRow:
    id: int
    order_id: int
    amount: int
    fee_refund: int
    currency: str
    speed: str
    status: str
    idempotency_key: str
    created_at: int


def order(conn: Connection, order_id: int) -> OrderRow | None:
    row = conn.execute(select(merchant_orders).where(merchant_orders.c.id == order_id)).first()
    return None if row is None else OrderRow(**row._mapping)


def order_by_reference(conn: Connection, waba_id: int, reference_id: str) -> OrderRow | None:
    o = merchant_orders.c
    row = conn.execute(select(merchant_orders).where(o.waba_id == waba_id, o.reference_id == reference_id)).first()
    return None if row is None else OrderRow(**row._mapping)


def captured_orders(conn: Connection, waba_id: int, limit: int) -> list[OrderRow]:
    o = merchant_orders.c
    rows = conn.execute(
        select(merchant_orders)
        .where(o.waba_id == waba_id, o.payment_state == "captured")
        .order_by(o.captured_at.desc(), o.id.desc())
        .limit(limit)
    )
    return [OrderRow(**r._mapping) for r in rows]


def order_of_message(conn: Connection, message_id: int) -> OrderRow | None:
    m = merchant_order_messages.c
    row = conn.execute(
        select(merchant_orders)
        .join(merchant_order_messages, m.order_id == merchant_orders.c.id)
        .where(m.message_id == message_id)
    ).first()
    return None if row is None else OrderRow(**row._mapping)


def _insert_ignoring_conflict(conn: Connection, table: Any, values: dict[str, Any]) -> bool:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return conn.execute(dialect.insert(table).values(**values).on_conflict_do_nothing()).rowcount == 1


def insert_order(conn: Connection, values: dict[str, Any]) -> bool:
    """Insert an order unless its business already used the reference id (False: the caller compares bodies)."""
    return _insert_ignoring_conflict(conn, merchant_orders, values)


def link_message(conn: Connection, message_id: int, order_id: int) -> None:
    _insert_ignoring_conflict(conn, merchant_order_messages, {"message_id": message_id, "order_id": order_id})


def add_attempt(conn: Connection, order_id: int, payment_id: int, now: int) -> None:
    _insert_ignoring_conflict(
        conn, merchant_order_attempts, {"order_id": order_id, "payment_id": payment_id, "created_at": now}
    )


def insert_refund(conn: Connection, refund: RefundRow) -> None:
    conn.execute(insert(merchant_refunds).values(**refund.__dict__))


def set_order(conn: Connection, order_id: int, where: dict[str, Any], **values: Any) -> bool:
    """Change an order only if it still is as the caller saw it (`where`); False when another unit changed it."""
    condition = [merchant_orders.c.id == order_id, *(merchant_orders.c[k] == v for k, v in where.items())]
    return conn.execute(update(merchant_orders).where(*condition).values(**values)).rowcount == 1


def refunds_of(conn: Connection, order_id: int) -> list[RefundRow]:
    rows = conn.execute(
        select(merchant_refunds).where(merchant_refunds.c.order_id == order_id).order_by(merchant_refunds.c.id)
    )
    return [RefundRow(**r._mapping) for r in rows]


def attempts_of(conn: Connection, order_id: int) -> list[PaymentRow]:
    a = merchant_order_attempts.c
    rows = conn.execute(
        select(payments)
        .join(merchant_order_attempts, a.payment_id == payments.c.id)
        .where(a.order_id == order_id)
        .order_by(payments.c.id)
    )
    return [PaymentRow(**r._mapping) for r in rows]


def payment(conn: Connection, payment_id: int) -> PaymentRow | None:
    row = conn.execute(select(payments).where(payments.c.id == payment_id)).first()
    return None if row is None else PaymentRow(**row._mapping)


def orders_processing_before(conn: Connection, updated_before: int, limit: int) -> list[OrderRow]:
    """Orders still claimed by a payment (`processing`) since before `updated_before`: the recovery sweep's work."""
    o = merchant_orders.c
    rows = conn.execute(
        select(merchant_orders)
        .where(o.payment_state == "processing", o.updated_at <= updated_before)
        .order_by(o.id)
        .limit(limit)
    )
    return [OrderRow(**r._mapping) for r in rows]
