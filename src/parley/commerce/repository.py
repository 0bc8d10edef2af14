"""SQL of catalogs, products and commerce settings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from parley.commerce.models import catalog_batches, catalogs, commerce_settings, product_sets, products

IN_STOCK = "in stock"
ACTIVE = "active"


@dataclass(frozen=True)
class CatalogRow:
    id: int
    waba_id: int
    name: str
    created_at: int


@dataclass(frozen=True)
class ProductRow:
    id: int
    catalog_id: int
    retailer_id: str
    title: str
    description: str
    price: int  # micros of `currency`
    currency: str
    sale_price: int | None
    sale_starts_at: int | None
    sale_ends_at: int | None
    availability: str
    condition: str
    image_media_id: int | None
    image_url: str | None
    link: str | None
    brand: str | None
    item_group_id: str | None
    status: str
    stock: int | None
    version: int
    created_at: int
    updated_at: int

    def unit_price(self, now_ms: int) -> int:
        """What one unit costs at `now_ms`: the sale price inside its dates, else the price."""
        if self.sale_price is None:
            return self.price
        if self.sale_starts_at is not None and now_ms < self.sale_starts_at:
            return self.price
        if self.sale_ends_at is not None and now_ms >= self.sale_ends_at:
            return self.price
        return self.sale_price

    @property
    def orderable(self) -> bool:
        """Whether a person can put it in a cart: active, in stock, and not sold out."""
        return self.status == ACTIVE and self.availability == IN_STOCK and (self.stock is None or self.stock > 0)


@dataclass(frozen=True)
class ProductSetRow:
    id: int
    catalog_id: int
    name: str
    filter: str  # Meta's JSON rule
    retailer_id: str | None
    created_at: int


@dataclass(frozen=True)
class BatchRow:
    id: int  # the handle
    catalog_id: int
    status: str
    results: str  # JSON
    created_at: int


@dataclass(frozen=True)
class CommerceSettingsRow:
    phone_number_id: int
    is_cart_enabled: bool
    is_catalog_visible: bool


def _catalog(row: Any) -> CatalogRow:
    return CatalogRow(**row._mapping)


def _product(row: Any) -> ProductRow:
    return ProductRow(**row._mapping)


def _insert(conn: Connection) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


def catalog(conn: Connection, catalog_id: int) -> CatalogRow | None:
    row = conn.execute(select(catalogs).where(catalogs.c.id == catalog_id)).first()
    return None if row is None else _catalog(row)


def catalog_of_waba(conn: Connection, waba_id: int) -> CatalogRow | None:
    row = conn.execute(select(catalogs).where(catalogs.c.waba_id == waba_id)).first()
    return None if row is None else _catalog(row)


def insert_catalog(conn: Connection, row: CatalogRow) -> CatalogRow:
    """The WABA's catalog: this one, or the one a racing unit connected first."""
    conn.execute(_insert(conn)(catalogs).values(**row.__dict__).on_conflict_do_nothing())
    stored = catalog_of_waba(conn, row.waba_id)
    assert stored is not None
    return stored


def product(conn: Connection, product_id: int) -> ProductRow | None:
    row = conn.execute(select(products).where(products.c.id == product_id)).first()
    return None if row is None else _product(row)


def products_by_retailer_ids(conn: Connection, catalog_id: int, retailer_ids: Iterable[str]) -> dict[str, ProductRow]:
    """The catalog's products among `retailer_ids`, by retailer id (absent ids are simply missing)."""
    wanted = sorted(set(retailer_ids))
    if not wanted:
        return {}
    p = products.c
    rows = conn.execute(select(products).where(p.catalog_id == catalog_id, p.retailer_id.in_(wanted)))
    return {r.retailer_id: _product(r) for r in rows}


def products_page(conn: Connection, catalog_id: int, *, after_id: int | None, limit: int) -> list[ProductRow]:
    """A keyset page of the catalog's products, oldest first (archived ones included: callers filter)."""
    p = products.c
    query = select(products).where(p.catalog_id == catalog_id)
    if after_id is not None:
        query = query.where(p.id > after_id)
    return [_product(r) for r in conn.execute(query.order_by(p.id).limit(limit))]


def search_products(
    conn: Connection, catalog_id: int, text: str | None, *, after_id: int | None, limit: int
) -> list[ProductRow]:
    """A keyset page of the catalog's active products whose title, retailer id or brand contains `text`."""
    p = products.c
    query = select(products).where(p.catalog_id == catalog_id, p.status == ACTIVE)
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                p.title.ilike(pattern, escape="\\"),
                p.retailer_id.ilike(pattern, escape="\\"),
                p.brand.ilike(pattern, escape="\\"),
            )
        )
    if after_id is not None:
        query = query.where(p.id > after_id)
    return [_product(r) for r in conn.execute(query.order_by(p.id).limit(limit))]


def insert_product(conn: Connection, row: ProductRow) -> None:
    conn.execute(products.insert().values(**row.__dict__))


def update_product(conn: Connection, product_id: int, values: dict[str, Any], *, now_ms: int) -> None:
    """Change a product's fields; its version goes up so open carts and product views notice."""
    conn.execute(
        update(products)
        .where(products.c.id == product_id)
        .values(**values, version=products.c.version + 1, updated_at=now_ms)
    )


def delete_product(conn: Connection, product_id: int) -> None:
    conn.execute(products.delete().where(products.c.id == product_id))


def settings_of(conn: Connection, phone_number_id: int) -> CommerceSettingsRow:
    """A number's commerce settings; Meta's defaults (cart on, catalog hidden) until it sets them."""
    c = commerce_settings.c
    row = conn.execute(
        select(c.phone_number_id, c.is_cart_enabled, c.is_catalog_visible).where(c.phone_number_id == phone_number_id)
    ).first()
    if row is None:
        return CommerceSettingsRow(phone_number_id, is_cart_enabled=True, is_catalog_visible=False)
    return CommerceSettingsRow(row.phone_number_id, bool(row.is_cart_enabled), bool(row.is_catalog_visible))


def save_settings(conn: Connection, row: CommerceSettingsRow, *, now_ms: int) -> None:
    values = {**row.__dict__, "updated_at": now_ms}
    statement = _insert(conn)(commerce_settings).values(**values)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[commerce_settings.c.phone_number_id],
            set_={k: statement.excluded[k] for k in ("is_cart_enabled", "is_catalog_visible", "updated_at")},
        )
    )


# --- added for the catalog API (catalog.py) -------------------------------------------------------------------


def active_products_page(conn: Connection, catalog_id: int, *, after_id: int | None, limit: int) -> list[ProductRow]:
    """A keyset page of the catalog's active products (what people browse), oldest first."""
    p = products.c
    query = select(products).where(p.catalog_id == catalog_id, p.status == ACTIVE)
    if after_id is not None:
        query = query.where(p.id > after_id)
    return [_product(r) for r in conn.execute(query.order_by(p.id).limit(limit))]


def has_active_product(conn: Connection, catalog_id: int) -> bool:
    p = products.c
    query = select(p.id).where(p.catalog_id == catalog_id, p.status == ACTIVE).limit(1)
    return conn.execute(query).first() is not None


def insert_product_set(conn: Connection, row: ProductSetRow) -> None:
    conn.execute(product_sets.insert().values(**row.__dict__))


def product_set(conn: Connection, set_id: int) -> ProductSetRow | None:
    row = conn.execute(select(product_sets).where(product_sets.c.id == set_id)).first()
    return None if row is None else ProductSetRow(**row._mapping)


def product_sets_page(conn: Connection, catalog_id: int, *, after_id: int | None, limit: int) -> list[ProductSetRow]:
    s = product_sets.c
    query = select(product_sets).where(s.catalog_id == catalog_id)
    if after_id is not None:
        query = query.where(s.id > after_id)
    return [ProductSetRow(**r._mapping) for r in conn.execute(query.order_by(s.id).limit(limit))]


def insert_batch(conn: Connection, row: BatchRow) -> None:
    conn.execute(catalog_batches.insert().values(**row.__dict__))


def batch(conn: Connection, batch_id: int) -> BatchRow | None:
    row = conn.execute(select(catalog_batches).where(catalog_batches.c.id == batch_id)).first()
    return None if row is None else BatchRow(**row._mapping)


def insert_new_product(conn: Connection, row: ProductRow) -> bool:
    """Insert unless the catalog already has the retailer id (a racing unit's insert included): whether it did."""
    statement = _insert(conn)(products).values(**row.__dict__)
    index = [products.c.catalog_id, products.c.retailer_id]
    result = conn.execute(statement.on_conflict_do_nothing(index_elements=index))
    return bool(result.rowcount)
