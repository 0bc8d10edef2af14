"""Tables of carts: one cart per person per chat with a business, its items, and the orders people sent from them."""

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from parley.kit.db import Id, metadata

carts = Table(
    "carts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, nullable=False),  # the person
    Column("chat_id", Id, nullable=False),  # their direct chat with the business number
    Column("phone_number_id", Id, nullable=False),
    Column("catalog_id", Id, nullable=False),  # the business's catalog: every item comes from it
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
Index("ux_carts_user_chat", carts.c.user_id, carts.c.chat_id, unique=True)

cart_items = Table(
    "cart_items",
    metadata,
    Column("cart_id", Id, ForeignKey("carts.id"), primary_key=True),
    Column("retailer_id", String(100), primary_key=True),
    Column("quantity", Integer, nullable=False),  # 1..99
    Column("added_at", BigInteger, nullable=False),  # the cart lists items in the order they were added
)

cart_orders = Table(
    "cart_orders",
    metadata,
    Column("message_id", Id, primary_key=True),  # the person's `order` message
    Column("user_id", Id, nullable=False),
    Column("chat_id", Id, nullable=False),
    Column("phone_number_id", Id, nullable=False),
    Column("catalog_id", Id, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", BigInteger, nullable=False),  # micros: Σ quantity × unit price at send time
    Column("text", Text, nullable=False, server_default=""),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_cart_orders_number", cart_orders.c.phone_number_id, cart_orders.c.created_at)

cart_order_lines = Table(
    "cart_order_lines",
    metadata,
    Column("message_id", Id, ForeignKey("cart_orders.message_id"), primary_key=True),
    Column("line", Integer, primary_key=True),
    Column("retailer_id", String(100), nullable=False),
    Column("title", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", BigInteger, nullable=False),  # micros, as charged at send time (sale price in its dates)
)
