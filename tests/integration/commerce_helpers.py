"""Shared steps of the commerce tests: a business's catalog and products, written through the repository."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from parley.commerce import CatalogRow, CommerceSettingsRow, ProductRow
from parley.commerce import repository as catalog_repo
from tests.conftest import LiveServer
from tests.integration.business_helpers import Biz

MICROS = 1_000_000


async def catalog_of(server: LiveServer, biz: Biz, name: str = "Shop") -> str:
    """The business's catalog (created when it has none); its id as the APIs write it."""
    c = server.container
    row = CatalogRow(c.ids.next_id(), int(biz.waba_id), name, c.clock.now_ms())
    stored = await c.db.write("tests.catalog", lambda conn: catalog_repo.insert_catalog(conn, row))
    return str(stored.id)


async def add_product(
    server: LiveServer, catalog_id: str, retailer_id: str, title: str, price: int, **fields: Any
) -> None:
    """A product of the catalog; `price` (and `sale_price`) in micros."""
    c = server.container
    now = c.clock.now_ms()
    values: dict[str, Any] = {
        "id": c.ids.next_id(),
        "catalog_id": int(catalog_id),
        "retailer_id": retailer_id,
        "title": title,
        "description": "",
        "price": price,
        "currency": "USD",
        "sale_price": None,
        "sale_starts_at": None,
        "sale_ends_at": None,
        "availability": "in stock",
        "condition": "new",
        "image_media_id": None,
        "image_url": None,
        "link": None,
        "brand": None,
        "item_group_id": None,
        "status": "active",
        "stock": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        **fields,
    }
    await c.db.write("tests.product", lambda conn: catalog_repo.insert_product(conn, ProductRow(**values)))


async def change_product(server: LiveServer, catalog_id: str, retailer_id: str, **values: Any) -> None:
    c = server.container

    def unit(conn: Connection) -> None:
        product = catalog_repo.products_by_retailer_ids(conn, int(catalog_id), [retailer_id])[retailer_id]
        catalog_repo.update_product(conn, product.id, values, now_ms=c.clock.now_ms())

    await c.db.write("tests.change_product", unit)


async def set_commerce(server: LiveServer, biz: Biz, *, cart: bool = True, visible: bool = True) -> None:
    c = server.container
    row = CommerceSettingsRow(int(biz.phone_number_id), is_cart_enabled=cart, is_catalog_visible=visible)
    await c.db.write("tests.settings", lambda conn: catalog_repo.save_settings(conn, row, now_ms=c.clock.now_ms()))
