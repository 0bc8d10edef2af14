"""SQL of carts, their items, and the orders sent from them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from parley.commerce.cart_models import cart_items, cart_order_lines, cart_orders, carts


@dataclass(frozen=True)
class CartRow:
    id: int
    user_id: int
    chat_id: int
    phone_number_id: int
    catalog_id: int
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class CartItemRow:
    retailer_id: str
    quantity: int
    added_at: int


@dataclass(frozen=True)
class OrderLineRow:
    retailer_id: str
    title: str
    quantity: int
    unit_price: int  # micros


@dataclass(frozen=True)
class OrderRow:
    message_id: int
    user_id: int
    chat_id: int
    phone_number_id: int
    catalog_id: int
    currency: str
    total: int  # micros
    text: str
    created_at: int
    lines: tuple[OrderLineRow, ...]


def _insert(conn: Connection) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


def cart_of(conn: Connection, user_id: int, chat_id: int) -> CartRow | None:
    row = conn.execute(select(carts).where(carts.c.user_id == user_id, carts.c.chat_id == chat_id)).first()
    return None if row is None else CartRow(**row._mapping)


def ensure_cart(conn: Connection, row: CartRow) -> CartRow:
    """The person's cart in this chat: this new one, or the one a racing unit made first."""
    conn.execute(_insert(conn)(carts).values(**row.__dict__).on_conflict_do_nothing())
    stored = cart_of(conn, row.user_id, row.chat_id)
    assert stored is not None
    return stored


def retarget(conn: Connection, cart_id: int, catalog_id: int, now_ms: int) -> None:
    """The business connected another catalog: the cart starts over on it (the old items mean nothing there)."""
    conn.execute(cart_items.delete().where(cart_items.c.cart_id == cart_id))
    conn.execute(update(carts).where(carts.c.id == cart_id).values(catalog_id=catalog_id, updated_at=now_ms))


def touch_cart(conn: Connection, cart_id: int, now_ms: int) -> None:
    conn.execute(update(carts).where(carts.c.id == cart_id).values(updated_at=now_ms))


def items_of(conn: Connection, cart_id: int) -> list[CartItemRow]:
    i = cart_items.c
    query = select(i.retailer_id, i.quantity, i.added_at).where(i.cart_id == cart_id)
    return [
        CartItemRow(r.retailer_id, r.quantity, r.added_at)
        for r in conn.execute(query.order_by(i.added_at, i.retailer_id))
    ]


def set_item(conn: Connection, cart_id: int, retailer_id: str, quantity: int, now_ms: int) -> None:
    """Put `quantity` units of the product in the cart (an item already there keeps its place in the list)."""
    statement = _insert(conn)(cart_items).values(
        cart_id=cart_id, retailer_id=retailer_id, quantity=quantity, added_at=now_ms
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[cart_items.c.cart_id, cart_items.c.retailer_id], set_={"quantity": quantity}
        )
    )


def remove_items(conn: Connection, cart_id: int, retailer_ids: Iterable[str]) -> None:
    ids = list(retailer_ids)
    if ids:
        conn.execute(cart_items.delete().where(cart_items.c.cart_id == cart_id, cart_items.c.retailer_id.in_(ids)))


def clear(conn: Connection, cart_id: int) -> None:
    conn.execute(cart_items.delete().where(cart_items.c.cart_id == cart_id))


def insert_order(conn: Connection, order: OrderRow) -> None:
    values = {k: v for k, v in order.__dict__.items() if k != "lines"}
    conn.execute(cart_orders.insert().values(**values))
    conn.execute(
        cart_order_lines.insert(),
        [{"message_id": order.message_id, "line": n, **line.__dict__} for n, line in enumerate(order.lines, start=1)],
    )


def order_of(conn: Connection, message_id: int) -> OrderRow | None:
    row = conn.execute(select(cart_orders).where(cart_orders.c.message_id == message_id)).first()
    if row is None:
        return None
    line = cart_order_lines.c
    lines = conn.execute(
        select(line.retailer_id, line.title, line.quantity, line.unit_price)
        .where(line.message_id == message_id)
        .order_by(line.line)
    )
    return OrderRow(**row._mapping, lines=tuple(OrderLineRow(**r._mapping) for r in lines))
