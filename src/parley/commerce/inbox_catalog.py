"""The catalog as the team inbox sees it: browse and search products, read them by retailer id, import a CSV feed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from parley.commerce import repository as repo
from parley.commerce.feed import Feed, FeedError, parse_feed
from parley.kit.clock import Clock
from parley.kit.errors import InvalidInputError
from parley.kit.ids import IdGenerator, parse_id
from parley.kit.money import format_amount, minor_units
from parley.platform.db import Database

_FIELDS = (
    "title",
    "description",
    "price",
    "currency",
    "sale_price",
    "sale_starts_at",
    "sale_ends_at",
    "availability",
    "condition",
    "image_url",
    "link",
    "brand",
    "item_group_id",
    "status",
    "stock",
)


class InboxCatalog:
    """Reads and bulk writes of one business account's catalog, in the shapes the inbox's pages use."""

    def __init__(self, db: Database, clock: Clock, ids: IdGenerator) -> None:
        self._db, self._clock, self._ids = db, clock, ids

    async def catalog_of(self, waba_id: int) -> dict[str, Any] | None:
        """The business account's catalog (`id`, `name`, `currency`: its first product's), or None without one."""

        def unit(conn: Connection) -> dict[str, Any] | None:
            row = repo.catalog_of_waba(conn, waba_id)
            if row is None:
                return None
            first = repo.products_page(conn, row.id, after_id=None, limit=1)
            return {"id": str(row.id), "name": row.name, "currency": first[0].currency if first else None}

        return await self._db.read(unit)

    async def browse(
        self, waba_id: int, text: str | None, cursor: str | None, limit: int
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]], str | None]:
        """The catalog, a page of its active products matching `text` (title, retailer id, brand), the next cursor."""
        after = None
        if cursor:
            after = parse_id(cursor)
            if after is None:
                raise InvalidInputError("cursor is not one this API gave out")
        limit = max(1, min(limit, 100))
        search = (text or "").strip()[:100] or None
        now = self._clock.now_ms()

        def unit(conn: Connection) -> tuple[dict[str, Any] | None, list[dict[str, Any]], str | None]:
            catalog = repo.catalog_of_waba(conn, waba_id)
            if catalog is None:
                return None, [], None
            rows = repo.search_products(conn, catalog.id, search, after_id=after, limit=limit + 1)
            more = len(rows) > limit
            rows = rows[:limit]
            views = [product_view(r, now) for r in rows]
            return {"id": str(catalog.id), "name": catalog.name}, views, str(rows[-1].id) if more else None

        return await self._db.read(unit)

    async def by_retailer_ids(self, waba_id: int, retailer_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The catalog's products among `retailer_ids` (absent ones are missing), by retailer id."""
        now = self._clock.now_ms()

        def unit(conn: Connection) -> dict[str, dict[str, Any]]:
            catalog = repo.catalog_of_waba(conn, waba_id)
            if catalog is None:
                return {}
            found = repo.products_by_retailer_ids(conn, catalog.id, retailer_ids)
            return {k: product_view(v, now) for k, v in found.items()}

        return await self._db.read(unit)

    async def import_feed(self, waba_id: int, data: bytes, *, apply: bool, catalog_name: str) -> dict[str, Any]:
        """Check a CSV feed (each line new, changed, unchanged or refused) and, with `apply`, write its good lines
        in one unit, connecting a catalog to the account first when it has none. Bad lines never stop good ones."""
        try:
            feed = parse_feed(data)
        except FeedError as exc:
            raise InvalidInputError(str(exc)) from exc
        now = self._clock.now_ms()

        def unit(conn: Connection) -> dict[str, Any]:
            catalog = repo.catalog_of_waba(conn, waba_id)
            if catalog is None and apply and feed.items:
                fresh = repo.CatalogRow(self._ids.next_id(), waba_id, catalog_name[:200] or "Catalog", now)
                catalog = repo.insert_catalog(conn, fresh)
            existing = {} if catalog is None else repo.products_by_retailer_ids(conn, catalog.id, _ids_of(feed))
            lines = []
            counts = {"created": 0, "updated": 0, "unchanged": 0}
            for item in feed.items:
                known = existing.get(item.retailer_id)
                if known is None:
                    outcome = "created"
                    if apply and catalog is not None:
                        product = _new_product(self._ids.next_id(), catalog.id, item.retailer_id, item.values, now)
                        repo.insert_product(conn, product)
                else:
                    changed = {k: v for k, v in item.values.items() if getattr(known, k) != v}
                    outcome = "updated" if changed else "unchanged"
                    if apply and changed:
                        repo.update_product(conn, known.id, changed, now_ms=now)
                counts[outcome] += 1
                lines.append(
                    {"line": item.line, "id": item.retailer_id, "outcome": outcome, "title": item.values["title"]}
                )
            return {
                "applied": apply,
                "catalog": None if catalog is None else {"id": str(catalog.id), "name": catalog.name},
                "counts": {**counts, "refused": len(feed.errors)},
                "lines": lines,
                "errors": [{"line": e.line, "id": e.retailer_id, "message": e.message} for e in feed.errors],
                "ignored_columns": feed.ignored_columns,
            }

        if apply:
            return await self._db.write("commerce.import_feed", unit)
        return await self._db.read(unit)


def _ids_of(feed: Feed) -> list[str]:
    return [i.retailer_id for i in feed.items]


def _new_product(
    product_id: int, catalog_id: int, retailer_id: str, values: dict[str, Any], now: int
) -> repo.ProductRow:
    blank = repo.ProductRow(
        id=product_id,
        catalog_id=catalog_id,
        retailer_id="",
        title="",
        description="",
        price=0,
        currency="",
        sale_price=None,
        sale_starts_at=None,
        sale_ends_at=None,
        availability=repo.IN_STOCK,
        condition="new",
        image_media_id=None,
        image_url=None,
        link=None,
        brand=None,
        item_group_id=None,
        status=repo.ACTIVE,
        stock=None,
        version=1,
        created_at=now,
        updated_at=now,
    )
    return replace(blank, retailer_id=retailer_id, **{k: values[k] for k in _FIELDS})


def money_text(micros: int, currency: str) -> str:
    """An amount as people read it in its currency ("14.99 BRL")."""
    try:
        places = minor_units(currency)
    except ValueError:
        places = 2
    return f"{format_amount(micros, places)} {currency}"


def product_view(row: repo.ProductRow, now_ms: int) -> dict[str, Any]:
    unit = row.unit_price(now_ms)
    return {
        "id": str(row.id),
        "retailer_id": row.retailer_id,
        "title": row.title,
        "description": row.description,
        "currency": row.currency,
        "price": money_text(row.price, row.currency),
        "price_micros": row.price,
        "unit_price": money_text(unit, row.currency),
        "unit_price_micros": unit,
        "on_sale": unit != row.price,
        "availability": row.availability,
        "status": row.status,
        "orderable": row.orderable,
        "image_url": row.image_url,
        "image_media_id": None if row.image_media_id is None else str(row.image_media_id),
        "link": row.link,
        "brand": row.brand,
        "stock": row.stock,
    }
