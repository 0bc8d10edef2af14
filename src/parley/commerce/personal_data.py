"""A person's carts and orders, for their export and their erasure (`parley.rights`)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from parley.commerce.cart_models import cart_items, cart_order_lines, cart_orders, carts
from parley.kit.rows import Rows, rows_of


def personal_data_in(conn: Connection, user_id: int) -> dict[str, Rows]:
    """Their open carts and the orders they sent, line by line."""
    theirs = select(carts.c.id).where(carts.c.user_id == user_id)
    ordered = select(cart_orders.c.message_id).where(cart_orders.c.user_id == user_id)
    return {
        "carts": rows_of(conn, carts, carts.c.user_id == user_id),
        "cart_items": rows_of(conn, cart_items, cart_items.c.cart_id.in_(theirs)),
        "orders": rows_of(conn, cart_orders, cart_orders.c.user_id == user_id),
        "order_lines": rows_of(conn, cart_order_lines, cart_order_lines.c.message_id.in_(ordered)),
    }


def erase_person_in(conn: Connection, user_id: int) -> None:
    """Open carts go; orders sent stay with the merchant (their sales record, under the pseudonymous id)."""
    conn.execute(
        delete(cart_items).where(cart_items.c.cart_id.in_(select(carts.c.id).where(carts.c.user_id == user_id)))
    )
    conn.execute(delete(carts).where(carts.c.user_id == user_id))
