"""The catalog as the team inbox sees it: browse and search products, read them by retailer id, import a CSV feed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from parley.commerce import repository as repo
from parley.commerce.catalog import Catalogs
from parley.commerce.feed import FeedError, LineError, line_message, parse_feed
from parley.kit.clock import Clock
from parley.kit.errors import InvalidInputError
from parley.kit.ids import parse_id
from parley.kit.money import format_amount, minor_units
from parley.platform.db import Database


class InboxCatalog:
    """Reads and bulk writes of one business account's catalog, in the shapes the inbox's pages use."""

    def __init__(self, db: Database, clock: Clock, catalogs: Catalogs) -> None:
        self._db, self._clock, self._catalogs = db, clock, catalogs

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
        in one unit through the catalog's write path, connecting a catalog to the account first when it has none.
        Bad lines never stop good ones."""
        try:
            feed = parse_feed(data)
        except FeedError as exc:
            raise InvalidInputError(str(exc)) from exc
        fields = [item.fields for item in feed.items]
        catalog, outcomes = await self._catalogs.import_items(waba_id, fields, apply=apply, catalog_name=catalog_name)
        errors = list(feed.errors)
        lines = []
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for item, (outcome, refusal) in zip(feed.items, outcomes, strict=True):
            if refusal is not None:
                errors.append(LineError(item.line, item.retailer_id, line_message(refusal)))
                continue
            counts[outcome] += 1
            lines.append(
                {"line": item.line, "id": item.retailer_id, "outcome": outcome, "title": item.fields.values["title"]}
            )
        errors.sort(key=lambda e: e.line)
        return {
            "applied": apply,
            "catalog": None if catalog is None else {"id": str(catalog.id), "name": catalog.name},
            "counts": {**counts, "refused": len(errors)},
            "lines": lines,
            "errors": [{"line": e.line, "id": e.retailer_id, "message": e.message} for e in errors],
            "ignored_columns": feed.ignored_columns,
        }


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
