"""Catalogs over the Graph API (catalogs, product items, batches, product sets, commerce settings), product
messages checked against them, and the catalog as people see it.

A business account (WABA) has one catalog. Every change to a product bumps its `version` and tells the product
observers inside the same write unit, so carts notice price changes, items going out of stock or away.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from parley import media
from parley.business import BusinessNumbers
from parley.commerce import repository as repo
from parley.commerce import schemas
from parley.graph import GraphError, GraphScope, graph_page, object_not_found, parse_fields
from parley.kit.clock import Clock
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.kit.ids import IdGenerator, parse_id
from parley.kit.money import format_amount, minor_units
from parley.kit.pagination import decode_cursor, encode_cursor
from parley.platform.db import Database

MAX_PAGE, DEFAULT_PAGE = 100, 25
MAX_BATCH_REQUESTS = 5000  # Meta's cap on one items_batch call
PRODUCT_FIELDS = (
    "id", "retailer_id", "name", "description", "price", "currency", "sale_price", "sale_price_start_date",
    "sale_price_end_date", "availability", "condition", "image_url", "url", "brand", "retailer_product_group_id",
    "inventory", "visibility", "version",
)  # fmt: skip
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
_MEDIA_URL = re.compile(r"/v\d+\.0/media_download/(\d{1,19})(?:\?|$)")


class ProductObserver(Protocol):
    """Told, inside the write unit, which of a catalog's products changed (any field, archived or deleted)."""

    def products_changed(self, conn: Connection, catalog_id: int, retailer_ids: Sequence[str]) -> None: ...


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _amount(micros: int, currency: str) -> str:
    return format_amount(micros, minor_units(currency))


def _columns(product: repo.ProductRow) -> dict[str, Any]:
    return dict(product.__dict__)


def _graph_id(raw: str) -> int:
    value = parse_id(raw)
    if value is None:
        raise object_not_found(raw)
    return value


def _limit(raw: int | None) -> int:
    if raw is None:
        return DEFAULT_PAGE
    if not 1 <= raw <= MAX_PAGE:
        raise GraphError(100, f"Param limit must be between 1 and {MAX_PAGE}")
    return raw


def _wanted(fields: str | None, allowed: Sequence[str], node: str) -> list[str]:
    names = [spec.name for spec in parse_fields(fields)] or list(allowed)
    for name in names:
        if name not in allowed:
            raise GraphError(100, f"Tried accessing nonexisting field ({name}) on node type ({node})")
    return names


class Catalogs:
    """The one catalog of each business account and its products, sets and commerce settings."""

    def __init__(self, db: Database, clock: Clock, ids: IdGenerator, numbers: BusinessNumbers, public_url: str) -> None:
        self._db, self._clock, self._ids = db, clock, ids
        self._numbers = numbers
        self._public_url = public_url.rstrip("/")
        self._observers: list[ProductObserver] = []

    def add_observer(self, observer: ProductObserver) -> None:
        self._observers.append(observer)

    def _changed_in(self, conn: Connection, catalog_id: int, retailer_ids: Sequence[str]) -> None:
        if retailer_ids:
            for observer in self._observers:
                observer.products_changed(conn, catalog_id, retailer_ids)

    # --- views -----------------------------------------------------------------------------------------------------

    def image_url(self, product: repo.ProductRow) -> str | None:
        """Where the product's image is: its own URL, or Parley's (public) route for an uploaded image."""
        if product.image_media_id is not None:
            return f"{self._public_url}/client/v1/products/{product.id}/image?v={product.image_media_id}"
        return product.image_url

    def graph_product(self, product: repo.ProductRow) -> dict[str, Any]:
        """A product item as the Graph API shows it (prices as Meta's feed writes them: "14.99 USD")."""
        view: dict[str, Any] = {
            "id": str(product.id),
            "retailer_id": product.retailer_id,
            "name": product.title,
            "description": product.description,
            "price": f"{_amount(product.price, product.currency)} {product.currency}",
            "currency": product.currency,
            "availability": product.availability,
            "condition": product.condition,
            "visibility": "published" if product.status == repo.ACTIVE else "staging",
            "version": product.version,
        }
        if product.sale_price is not None:
            view["sale_price"] = f"{_amount(product.sale_price, product.currency)} {product.currency}"
        optional = {
            "sale_price_start_date": _iso(product.sale_starts_at),
            "sale_price_end_date": _iso(product.sale_ends_at),
            "image_url": self.image_url(product),
            "url": product.link,
            "brand": product.brand,
            "retailer_product_group_id": product.item_group_id,
            "inventory": product.stock,
        }
        view.update({k: v for k, v in optional.items() if v is not None})
        return view

    def person_product(self, product: repo.ProductRow, now_ms: int) -> dict[str, Any]:
        """A product as people see it on every client route (a catalog, a business's catalog, the shop in a chat, a
        cart's lines): amounts in micros of `currency`; `sale_price` only while the sale runs, `unit_price` what one
        unit costs now, `orderable` whether it can go in a cart."""
        unit = product.unit_price(now_ms)
        sale = product.sale_price if product.sale_price is not None and unit == product.sale_price else None
        return {
            "id": str(product.id),
            "catalog_id": str(product.catalog_id),
            "retailer_id": product.retailer_id,
            "title": product.title,
            "description": product.description,
            "currency": product.currency,
            "price": product.price,
            "sale_price": sale,
            "unit_price": unit,
            "on_sale": sale is not None,
            "availability": product.availability,
            "status": product.status,
            "orderable": product.orderable,
            "stock": product.stock,
            "image_url": self.image_url(product),
            "link": product.link,
            "brand": product.brand,
            "item_group_id": product.item_group_id,
            "version": product.version,
        }

    # --- catalogs ------------------------------------------------------------------------------------------------

    def _own_waba(self, scope: GraphScope, raw_waba_id: str) -> int:
        waba_id = parse_id(raw_waba_id)
        if waba_id is None or waba_id != scope.waba_id:
            raise object_not_found(raw_waba_id)
        return waba_id

    async def catalog_of_waba(self, waba_id: int) -> repo.CatalogRow | None:
        return await self._db.read(lambda c: repo.catalog_of_waba(c, waba_id))

    async def active_products_of_waba(self, waba_id: int, limit: int) -> list[repo.ProductRow]:
        """The first `limit` active products of the business's catalog (none without one), oldest first: what an
        affiliate can pick a link for."""

        def read(conn: Connection) -> list[repo.ProductRow]:
            catalog = repo.catalog_of_waba(conn, waba_id)
            return [] if catalog is None else repo.active_products_page(conn, catalog.id, after_id=None, limit=limit)

        return await self._db.read(read)

    @staticmethod
    def active_product_in(conn: Connection, waba_id: int, retailer_id: str) -> repo.ProductRow | None:
        """The business's active catalog product with this retailer id, read in the caller's unit."""
        catalog = repo.catalog_of_waba(conn, waba_id)
        if catalog is None:
            return None
        found = repo.products_by_retailer_ids(conn, catalog.id, [retailer_id]).get(retailer_id)
        return found if found is not None and found.status == repo.ACTIVE else None

    async def create_catalog(self, scope: GraphScope, raw_waba_id: str, params: Mapping[str, Any]) -> dict[str, str]:
        """`POST /{waba_id}/product_catalogs`: the business account's one catalog (a retry answers the same one)."""
        waba_id = self._own_waba(scope, raw_waba_id)
        unknown = sorted(set(params) - {"name", "vertical", "access_token"})
        if unknown:
            raise GraphError(100, f"Param {unknown[0]} is not a catalog field")
        if "name" not in params:
            raise GraphError(100, "The parameter name is required")
        name = schemas.text_field("name", params["name"], schemas.MAX_TITLE, required=True)
        vertical = params.get("vertical", "commerce")
        if vertical != "commerce":
            raise GraphError(100, "Param vertical must be 'commerce': WhatsApp catalogs hold products")
        row = repo.CatalogRow(self._ids.next_id(), waba_id, name, self._clock.now_ms())

        def unit(conn: Connection) -> repo.CatalogRow:
            return repo.insert_catalog(conn, row)

        stored = await self._db.write("commerce.create_catalog", unit)
        if stored.name != name:
            raise GraphError(
                100,
                f"This business account already has a catalog ({stored.id}, '{stored.name}'); "
                "WhatsApp connects one catalog to a business account",
            )
        return {"id": str(stored.id)}

    async def list_catalogs(self, scope: GraphScope, raw_waba_id: str) -> dict[str, Any]:
        waba_id = self._own_waba(scope, raw_waba_id)
        found = await self.catalog_of_waba(waba_id)
        return {"data": [] if found is None else [{"id": str(found.id), "name": found.name}]}

    async def _catalog_in_scope(self, scope: GraphScope, raw_catalog_id: str) -> repo.CatalogRow:
        catalog_id = parse_id(raw_catalog_id)
        found = None if catalog_id is None else await self._db.read(lambda c: repo.catalog(c, catalog_id))
        if found is None or found.waba_id != scope.waba_id:
            raise object_not_found(raw_catalog_id)
        return found

    async def _owners(self, waba_id: int) -> set[int]:
        """The Parley accounts of the business's numbers: the media they uploaded can be product images."""
        owners = set()
        for number_id in await self._numbers.ids_of_waba(waba_id):
            number = await self._numbers.get(number_id)
            if number is not None:
                owners.add(number.user_id)
        return owners

    # --- products ------------------------------------------------------------------------------------------------

    async def products_edge(
        self, scope: GraphScope, raw_id: str, fields: str | None, limit: int | None, after: str | None
    ) -> tuple[dict[str, Any], str | None]:
        """`GET /{id}/products`: a catalog's items, or a product set's (Graph names both edges the same)."""
        some_id = _graph_id(raw_id)
        if await self._db.read(lambda c: repo.catalog(c, some_id)) is not None:
            return await self.list_products(scope, raw_id, fields, limit, after)
        return await self.product_set_products(scope, raw_id, fields, limit, after)

    async def list_products(
        self, scope: GraphScope, raw_catalog_id: str, fields: str | None, limit: int | None, after: str | None
    ) -> tuple[dict[str, Any], str | None]:
        """`GET /{catalog_id}/products`: a page and the cursor of the next one (None on the last page)."""
        catalog = await self._catalog_in_scope(scope, raw_catalog_id)
        wanted = _wanted(fields, PRODUCT_FIELDS, "ProductItem")
        size, after_id = _limit(limit), decode_cursor(after)
        rows = await self._db.read(lambda c: repo.products_page(c, catalog.id, after_id=after_id, limit=size + 1))
        more = len(rows) > size
        rows = rows[:size]
        data = [{k: v for k, v in self.graph_product(p).items() if k in wanted or k == "id"} for p in rows]
        page = graph_page(data, rows[0].id if rows else None, rows[-1].id if rows else None, None)
        return page, encode_cursor(rows[-1].id) if more and rows else None

    async def create_product(self, scope: GraphScope, raw_catalog_id: str, params: Mapping[str, Any]) -> dict[str, str]:
        """`POST /{catalog_id}/products`: one new item (its retailer id unused in the catalog)."""
        catalog = await self._catalog_in_scope(scope, raw_catalog_id)
        fields = self._with_parley_image(schemas.parse_product(_without_token(params), feed=False))
        owners = await self._owners(scope.waba_id) if fields.values.get("image_media_id") is not None else set()
        now = self._clock.now_ms()

        def unit(conn: Connection) -> int:
            assert fields.retailer_id is not None
            if repo.products_by_retailer_ids(conn, catalog.id, [fields.retailer_id]):
                raise GraphError(
                    100, f"A product with retailer_id '{fields.retailer_id}' already exists in this catalog"
                )
            return self._create_in(conn, catalog.id, fields, owners, now)

        return {"id": str(await self._db.write("commerce.create_product", unit))}

    def _with_parley_image(self, fields: schemas.ProductInput) -> schemas.ProductInput:
        """An `image_url` pointing at this server's media download route is the uploaded image itself."""
        url = fields.values.get("image_url")
        if not isinstance(url, str) or not url.startswith(self._public_url + "/"):
            return fields
        match = _MEDIA_URL.search(url[len(self._public_url) :])
        if match is None:
            return fields
        return replace(fields, values={**fields.values, "image_url": None, "image_media_id": int(match.group(1))})

    def _check_image_in(
        self, conn: Connection, media_id: int, owners: set[int], now: int, *, write: bool = True
    ) -> None:
        item = media.get_media(conn, media_id)
        if item is None or item.owner_id not in owners:
            raise GraphError(100, f"Param image_media_id: no media {media_id} this business uploaded", subcode=33)
        if item.mime_type not in _IMAGE_TYPES:
            raise GraphError(100, f"Param image_media_id: media {media_id} is {item.mime_type}, not JPEG or PNG")
        if write:
            media.mark_media_used(conn, media_id, now)  # kept while the catalog shows it, like a profile picture

    def _create_in(
        self, conn: Connection, catalog_id: int, fields: schemas.ProductInput, owners: set[int], now: int
    ) -> int:
        assert fields.retailer_id is not None
        values = fields.values
        if values.get("image_media_id") is not None:
            self._check_image_in(conn, values["image_media_id"], owners, now)
        row = repo.ProductRow(
            id=self._ids.next_id(),
            catalog_id=catalog_id,
            retailer_id=fields.retailer_id,
            title=values["title"],
            description=values.get("description", ""),
            price=values["price"],
            currency=values["currency"],
            sale_price=values.get("sale_price"),
            sale_starts_at=values.get("sale_starts_at"),
            sale_ends_at=values.get("sale_ends_at"),
            availability=values.get("availability", repo.IN_STOCK),
            condition=values.get("condition", "new"),
            image_media_id=values.get("image_media_id"),
            image_url=values.get("image_url"),
            link=values.get("link"),
            brand=values.get("brand"),
            item_group_id=values.get("item_group_id"),
            status=values.get("status", repo.ACTIVE),
            stock=values.get("stock"),
            version=1,
            created_at=now,
            updated_at=now,
        )
        if not repo.insert_new_product(conn, row):
            raise GraphError(100, f"A product with retailer_id '{row.retailer_id}' already exists in this catalog")
        return row.id

    def _update_in(
        self,
        conn: Connection,
        product: repo.ProductRow,
        fields: schemas.ProductInput,
        owners: set[int],
        now: int,
        *,
        write: bool = True,
    ) -> bool:
        """Whether the fields change the product; `write` False checks them and writes nothing (a preview)."""
        values = fields.values
        if values.get("image_media_id") is not None and values["image_media_id"] != product.image_media_id:
            self._check_image_in(conn, values["image_media_id"], owners, now, write=write)
        changed = {k: v for k, v in values.items() if getattr(product, k) != v}
        if changed and write:
            repo.update_product(conn, product.id, changed, now_ms=now)
            self._changed_in(conn, product.catalog_id, [product.retailer_id])
        return bool(changed)

    async def _product_in_scope(self, scope: GraphScope, product_id: int) -> tuple[repo.ProductRow, int] | None:
        def unit(conn: Connection) -> tuple[repo.ProductRow, int] | None:
            product = repo.product(conn, product_id)
            if product is None:
                return None
            catalog = repo.catalog(conn, product.catalog_id)
            return None if catalog is None else (product, catalog.waba_id)

        found = await self._db.read(unit)
        if found is None:
            return None
        if found[1] != scope.waba_id:
            raise object_not_found(product_id)  # another business's item: as if it did not exist
        return found

    async def graph_object(self, scope: GraphScope, object_id: int, fields: str | None) -> dict[str, Any] | None:
        """`GET /{id}` for a product item, the catalog or a product set; None when the id is none of them."""
        found = await self._product_in_scope(scope, object_id)
        if found is not None:
            wanted = _wanted(fields, PRODUCT_FIELDS, "ProductItem")
            return {k: v for k, v in self.graph_product(found[0]).items() if k in wanted or k == "id"}

        def unit(conn: Connection) -> tuple[int, dict[str, Any]] | None:
            catalog = repo.catalog(conn, object_id)
            if catalog is not None:
                return catalog.waba_id, {"id": str(catalog.id), "name": catalog.name, "vertical": "commerce"}
            found_set = repo.product_set(conn, object_id)
            owner = None if found_set is None else repo.catalog(conn, found_set.catalog_id)
            if found_set is None or owner is None:
                return None
            return owner.waba_id, self._set_view(found_set)

        other = await self._db.read(unit)
        if other is None:
            return None
        if other[0] != scope.waba_id:
            raise object_not_found(object_id)
        return other[1]

    async def update_graph_object(
        self, scope: GraphScope, object_id: int, params: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """`POST /{product_id}`: a partial update (fields left out keep their values); None when not a product."""
        found = await self._product_in_scope(scope, object_id)
        if found is None:
            return None
        raw = _without_token(params)
        names_image = "image_media_id" in raw or "image_url" in raw or "image_link" in raw
        owners = await self._owners(scope.waba_id) if names_image else set()
        now = self._clock.now_ms()

        def unit(conn: Connection) -> None:
            current = repo.product(conn, object_id)
            if current is None:
                raise object_not_found(object_id)
            # checked against the product as this unit reads it (a sale price below the current price, ...)
            fields = self._with_parley_image(schemas.parse_product(raw, feed=False, current=_columns(current)))
            self._update_in(conn, current, fields, owners, now)

        await self._db.write("commerce.update_product", unit)
        return {"success": True}

    async def delete_graph_object(self, scope: GraphScope, object_id: int) -> dict[str, Any] | None:
        """`DELETE /{product_id}`; None when the id is not a product."""
        found = await self._product_in_scope(scope, object_id)
        if found is None:
            return None
        product = found[0]

        def unit(conn: Connection) -> None:
            repo.delete_product(conn, product.id)
            self._changed_in(conn, product.catalog_id, [product.retailer_id])

        await self._db.write("commerce.delete_product", unit)
        return {"success": True}

    # --- batches -------------------------------------------------------------------------------------------------

    async def items_batch(self, scope: GraphScope, raw_catalog_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /{catalog_id}/items_batch`: applied at once; a bad item is reported, the good ones applied."""
        catalog = await self._catalog_in_scope(scope, raw_catalog_id)
        item_type = params.get("item_type")
        if item_type != "PRODUCT_ITEM":
            raise GraphError(100, "Param item_type must be PRODUCT_ITEM (the only item type of a WhatsApp catalog)")
        requests = params.get("requests")
        if isinstance(requests, str):  # form-encoded: a JSON string, as Meta's examples send it
            try:
                requests = json.loads(requests)
            except ValueError:
                raise GraphError(100, "Param requests must be a JSON list") from None
        if not isinstance(requests, list) or not requests:
            raise GraphError(100, "Param requests must be a non-empty list of {method, data}")
        if len(requests) > MAX_BATCH_REQUESTS:
            raise GraphError(100, f"Param requests takes at most {MAX_BATCH_REQUESTS} items (got {len(requests)})")
        upsert = schemas.string_bool("allow_upsert", params.get("allow_upsert", True))
        return await self.apply_batch(catalog.id, scope.waba_id, requests, allow_upsert=upsert)

    async def apply_batch(
        self, catalog_id: int, waba_id: int, requests: Sequence[object], *, allow_upsert: bool = True
    ) -> dict[str, Any]:
        """Apply Meta's batch `requests` ([{method: CREATE|UPDATE|DELETE, data: {id, title, price: "14 GBP", ...}}])
        to the catalog in one unit; answers Meta's `handles` and `validation_status`."""
        owners = await self._owners(waba_id)
        now = self._clock.now_ms()
        handle = self._ids.next_id()

        def unit(conn: Connection) -> list[dict[str, Any]]:
            results = self._batch_in(conn, catalog_id, requests, allow_upsert, owners, now)
            stored = json.dumps(results, separators=(",", ":"))
            repo.insert_batch(conn, repo.BatchRow(handle, catalog_id, "finished", stored, now))
            return results

        results = await self._db.write("commerce.items_batch", unit)
        status = [
            {"retailer_id": r["retailer_id"], "errors": r["errors"], "warnings": r["warnings"]}
            for r in results
            if r["errors"] or r["warnings"]
        ]
        return {"handles": [str(handle)], "validation_status": status}

    def _batch_in(
        self,
        conn: Connection,
        catalog_id: int,
        requests: Sequence[object],
        allow_upsert: bool,
        owners: set[int],
        now: int,
    ) -> list[dict[str, Any]]:
        ids: list[str | None] = []
        for item in requests:
            data = item.get("data") if isinstance(item, dict) else None
            raw_id = data.get("id", data.get("retailer_id")) if isinstance(data, dict) else None
            ids.append(raw_id.strip() if isinstance(raw_id, str) else None)
        seen: dict[str, int] = {}
        for rid in ids:
            if rid:
                seen[rid] = seen.get(rid, 0) + 1
        existing = repo.products_by_retailer_ids(conn, catalog_id, [rid for rid in ids if rid])
        results: list[dict[str, Any]] = []
        changed: list[str] = []
        for index, (item, rid) in enumerate(zip(requests, ids, strict=True)):
            result: dict[str, Any] = {"line": index, "retailer_id": rid, "errors": [], "warnings": []}
            results.append(result)
            try:
                if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
                    raise GraphError(100, "each request must be {method, data: {...}}")
                method = str(item.get("method", "")).upper()
                if method not in ("CREATE", "UPDATE", "DELETE"):
                    raise GraphError(100, "method must be CREATE, UPDATE or DELETE")
                if not rid:
                    raise GraphError(100, "data.id (the retailer id) is required")
                if seen[rid] > 1:
                    raise GraphError(100, f"id '{rid}' appears {seen[rid]} times in this batch: every copy is ignored")
                current = existing.get(rid)
                if method == "DELETE":
                    if current is None:
                        raise GraphError(100, f"no item with id '{rid}' to delete")
                    repo.delete_product(conn, current.id)
                    existing.pop(rid)
                    changed.append(rid)
                    continue
                if current is None and method == "UPDATE" and not allow_upsert:
                    raise GraphError(100, f"no item with id '{rid}' to update")
                if current is not None and method == "CREATE" and not allow_upsert:
                    raise GraphError(100, f"an item with id '{rid}' already exists")
                data = item["data"]
                fields = self._with_parley_image(
                    schemas.parse_product(
                        data, feed=True, current=None if current is None else _columns(current), strict=False
                    )
                )
                result["warnings"] = [{"message": w} for w in fields.warnings]
                if current is None:
                    self._create_in(conn, catalog_id, fields, owners, now)
                else:
                    self._update_in(conn, current, fields, owners, now)
            except GraphError as error:
                result["errors"] = [{"message": error.details}]
        self._changed_in(conn, catalog_id, changed)
        return results

    async def import_items(
        self, waba_id: int, items: Sequence[schemas.ProductInput], *, apply: bool, catalog_name: str
    ) -> tuple[repo.CatalogRow | None, list[tuple[str, str | None]]]:
        """Whole items (every field given, as the inbox's CSV feed gives them) against the business account's catalog:
        each one's outcome (created, updated, unchanged; or refused and why). With `apply` they are written in one
        unit, connecting a catalog to the account first when it has none; without, nothing is written (a preview)."""
        owners = await self._owners(waba_id)
        now = self._clock.now_ms()
        fresh = repo.CatalogRow(self._ids.next_id(), waba_id, catalog_name[:200] or "Catalog", now)

        def unit(conn: Connection) -> tuple[repo.CatalogRow | None, list[tuple[str, str | None]]]:
            catalog = repo.catalog_of_waba(conn, waba_id)
            if catalog is None and apply and items:
                catalog = repo.insert_catalog(conn, fresh)  # a racing import's catalog wins; both use it
            wanted = [i.retailer_id for i in items if i.retailer_id]
            existing = {} if catalog is None else repo.products_by_retailer_ids(conn, catalog.id, wanted)
            outcomes: list[tuple[str, str | None]] = []
            for item in items:
                fields = self._with_parley_image(item)
                current = existing.get(str(fields.retailer_id))
                try:
                    if current is not None:
                        changed = self._update_in(conn, current, fields, owners, now, write=apply)
                        outcomes.append(("updated" if changed else "unchanged", None))
                    elif apply and catalog is not None:
                        self._create_in(conn, catalog.id, fields, owners, now)
                        outcomes.append(("created", None))
                    else:
                        if fields.values.get("image_media_id") is not None:
                            self._check_image_in(conn, fields.values["image_media_id"], owners, now, write=False)
                        outcomes.append(("created", None))
                except GraphError as error:
                    outcomes.append(("refused", error.details))
            return catalog, outcomes

        if apply:
            return await self._db.write("commerce.import_feed", unit)
        return await self._db.read(unit)

    async def batch_status(self, scope: GraphScope, raw_catalog_id: str, raw_handle: str | None) -> dict[str, Any]:
        """`GET /{catalog_id}/check_batch_request_status?handle=...` in Meta's shape."""
        catalog = await self._catalog_in_scope(scope, raw_catalog_id)
        handle = None if raw_handle is None else parse_id(raw_handle)
        if handle is None:
            raise GraphError(100, "Param handle must be a handle an items_batch call answered")
        found = await self._db.read(lambda c: repo.batch(c, handle))
        if found is None or found.catalog_id != catalog.id:
            raise GraphError(100, f"Param handle: no batch {raw_handle} for this catalog")
        results = json.loads(found.results)
        errors = [
            {"line": r["line"], "id": r["retailer_id"], "message": e["message"]} for r in results for e in r["errors"]
        ]
        warnings = [
            {"line": r["line"], "id": r["retailer_id"], "message": w["message"]} for r in results for w in r["warnings"]
        ]
        return {
            "data": [
                {
                    "handle": str(found.id),
                    "status": found.status,
                    "errors_total_count": len(errors),
                    "warnings_total_count": len(warnings),
                    "errors": errors,
                    "warnings": warnings,
                    "ids_of_invalid_requests": sorted({str(e["id"]) for e in errors if e["id"]}),
                }
            ]
        }

    # --- product sets --------------------------------------------------------------------------------------------

    def _set_view(self, row: repo.ProductSetRow) -> dict[str, Any]:
        view: dict[str, Any] = {"id": str(row.id), "name": row.name, "filter": row.filter}
        if row.retailer_id is not None:
            view["retailer_id"] = row.retailer_id
        return view

    async def create_product_set(
        self, scope: GraphScope, raw_catalog_id: str, params: Mapping[str, Any]
    ) -> dict[str, str]:
        catalog = await self._catalog_in_scope(scope, raw_catalog_id)
        unknown = sorted(
            set(params) - {"name", "filter", "retailer_id", "metadata", "publish_to_shops", "access_token"}
        )
        if unknown:
            raise GraphError(100, f"Param {unknown[0]} is not a product set field")
        name = schemas.text_field("name", params.get("name", ""), schemas.MAX_SET_NAME, required=True)
        rule = params.get("filter")
        if rule is None:
            raise GraphError(100, 'The parameter filter is required, e.g. {"retailer_id": {"is_any": ["sku-1"]}}')
        if isinstance(rule, str):
            if len(rule) > schemas.MAX_FILTER_CHARS:
                raise GraphError(100, "Param filter is over 500 KiB")
            try:
                rule = json.loads(rule)
            except ValueError:
                raise GraphError(100, "Param filter must be a JSON object") from None
        schemas.check_filter(rule)
        retailer_id = params.get("retailer_id")
        if retailer_id is not None:
            retailer_id = schemas.text_field("retailer_id", retailer_id, schemas.MAX_RETAILER_ID)
        row = repo.ProductSetRow(
            self._ids.next_id(), catalog.id, name, json.dumps(rule), retailer_id or None, self._clock.now_ms()
        )
        await self._db.write("commerce.create_product_set", lambda c: repo.insert_product_set(c, row))
        return {"id": str(row.id)}

    async def list_product_sets(
        self, scope: GraphScope, raw_catalog_id: str, limit: int | None, after: str | None
    ) -> tuple[dict[str, Any], str | None]:
        catalog = await self._catalog_in_scope(scope, raw_catalog_id)
        size, after_id = _limit(limit), decode_cursor(after)
        rows = await self._db.read(lambda c: repo.product_sets_page(c, catalog.id, after_id=after_id, limit=size + 1))
        more = len(rows) > size
        rows = rows[:size]
        page = graph_page(
            [self._set_view(r) for r in rows], rows[0].id if rows else None, rows[-1].id if rows else None, None
        )
        return page, encode_cursor(rows[-1].id) if more and rows else None

    async def product_set_products(
        self, scope: GraphScope, raw_set_id: str, fields: str | None, limit: int | None, after: str | None
    ) -> tuple[dict[str, Any], str | None]:
        """`GET /{product_set_id}/products`: the catalog's items that pass the set's filter, a page at a time."""
        set_id = _graph_id(raw_set_id)

        def owner(conn: Connection) -> tuple[repo.ProductSetRow, repo.CatalogRow] | None:
            found = repo.product_set(conn, set_id)
            catalog = None if found is None else repo.catalog(conn, found.catalog_id)
            return None if found is None or catalog is None else (found, catalog)

        found = await self._db.read(owner)
        if found is None or found[1].waba_id != scope.waba_id:
            raise object_not_found(raw_set_id)
        product_set, catalog = found
        rule = json.loads(product_set.filter)
        wanted = _wanted(fields, PRODUCT_FIELDS, "ProductItem")
        size, after_id = _limit(limit), decode_cursor(after)

        def unit(conn: Connection) -> tuple[list[repo.ProductRow], bool]:
            picked: list[repo.ProductRow] = []
            cursor = after_id
            while True:
                chunk = repo.products_page(conn, catalog.id, after_id=cursor, limit=500)
                for product in chunk:
                    if schemas.matches(rule, _columns(product)):
                        if len(picked) == size:
                            return picked, True
                        picked.append(product)
                if len(chunk) < 500:
                    return picked, False
                cursor = chunk[-1].id

        rows, more = await self._db.read(unit)
        data = [{k: v for k, v in self.graph_product(p).items() if k in wanted or k == "id"} for p in rows]
        page = graph_page(data, rows[0].id if rows else None, rows[-1].id if rows else None, None)
        return page, encode_cursor(rows[-1].id) if more and rows else None

    # --- commerce settings ---------------------------------------------------------------------------------------

    async def commerce_settings(self, scope: GraphScope, raw_number_id: str, fields: str | None) -> dict[str, Any]:
        """`GET /{phone_number_id}/whatsapp_commerce_settings`; `id` is the connected catalog's (pywa reads it as
        `catalog_id`), the number's own id while no catalog is connected."""
        number = await self._numbers.in_scope(scope, raw_number_id)
        # pywa asks for `catalog_id` (its own name for `id`, which is always answered)
        allowed = ("id", "is_cart_enabled", "is_catalog_visible", "catalog_id")
        wanted = _wanted(fields, allowed, "WhatsAppCommerceSettings")

        def unit(conn: Connection) -> dict[str, Any]:
            settings = repo.settings_of(conn, number.id)
            catalog = repo.catalog_of_waba(conn, number.waba_id)
            return {
                "id": str(catalog.id if catalog is not None else number.id),
                "is_cart_enabled": settings.is_cart_enabled,
                "is_catalog_visible": settings.is_catalog_visible,
            }

        item = await self._db.read(unit)
        return {"data": [{k: v for k, v in item.items() if k in wanted or k == "id"}]}

    async def update_commerce_settings(
        self, scope: GraphScope, raw_number_id: str, params: Mapping[str, Any]
    ) -> dict[str, bool]:
        """`POST /{phone_number_id}/whatsapp_commerce_settings?is_cart_enabled=true&is_catalog_visible=false`."""
        number = await self._numbers.in_scope(scope, raw_number_id)
        unknown = sorted(set(params) - {"is_cart_enabled", "is_catalog_visible", "access_token"})
        if unknown:
            raise GraphError(100, f"Param {unknown[0]} is not a commerce setting")
        changes = {
            name: schemas.string_bool(name, params[name])
            for name in ("is_cart_enabled", "is_catalog_visible")
            if name in params
        }
        if not changes:
            raise GraphError(100, "Send is_cart_enabled and/or is_catalog_visible (true or false)")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> None:
            current = repo.settings_of(conn, number.id)
            repo.save_settings(conn, replace(current, **changes), now_ms=now)

        await self._db.write("commerce.update_settings", unit)
        return {"success": True}

    # --- product messages (business.ProductMessageCheck) --------------------------------------------------------

    def check_product_message_in(
        self, conn: Connection, waba_id: int, kind: str, action: dict[str, Any]
    ) -> dict[str, Any] | None:
        """A product message names this business's catalog and products that exist in it (Meta's 131009 if not)."""
        if kind == "catalog_message":
            catalog = repo.catalog_of_waba(conn, waba_id)
            if catalog is None or not repo.has_active_product(conn, catalog.id):
                raise GraphError(
                    131009,
                    "A catalog message needs a catalog connected to this business account with at least one product",
                )
            parameters = action.get("parameters") or {}
            thumbnail = parameters.get("thumbnail_product_retailer_id") if isinstance(parameters, dict) else None
            if thumbnail is not None:
                self._active_products_in(conn, catalog, [str(thumbnail)], "thumbnail_product_retailer_id", every=True)
            return None
        if kind == "product":
            catalog = self._message_catalog_in(conn, waba_id, action.get("catalog_id"))
            self._active_products_in(
                conn, catalog, [str(action.get("product_retailer_id"))], "product_retailer_id", every=True
            )
            return None
        if kind == "carousel":
            cards = action.get("cards", [])
            catalog = self._message_catalog_in(conn, waba_id, cards[0]["action"]["catalog_id"] if cards else None)
            skus = [str(card["action"]["product_retailer_id"]) for card in cards]
            self._active_products_in(conn, catalog, skus, "product_retailer_id", every=True)
            return None
        if kind == "product_list":
            catalog = self._message_catalog_in(conn, waba_id, action.get("catalog_id"))
            sections = action.get("sections", [])
            skus = [str(i["product_retailer_id"]) for s in sections for i in s.get("product_items", [])]
            known = self._active_products_in(conn, catalog, skus, "product_retailer_id", every=False)
            if len(known) == len(set(skus)):
                return None
            kept = []
            for section in sections:
                items = [i for i in section.get("product_items", []) if i["product_retailer_id"] in known]
                if items:
                    kept.append({**section, "product_items": items})
            return {**action, "sections": kept}
        return None

    def _message_catalog_in(self, conn: Connection, waba_id: int, raw: object) -> repo.CatalogRow:
        catalog_id = parse_id(str(raw)) if raw is not None else None
        catalog = None if catalog_id is None else repo.catalog(conn, catalog_id)
        if catalog is None or catalog.waba_id != waba_id:
            raise GraphError(
                131009, f"catalog_id {str(raw)[:32]!r} is not the catalog connected to this business account"
            )
        return catalog

    def _active_products_in(
        self, conn: Connection, catalog: repo.CatalogRow, skus: list[str], param: str, *, every: bool
    ) -> set[str]:
        found = repo.products_by_retailer_ids(conn, catalog.id, skus)
        known = {sku for sku, p in found.items() if p.status == repo.ACTIVE}
        missing = [sku for sku in dict.fromkeys(skus) if sku not in known]
        if (every and missing) or not known:
            raise GraphError(
                131009,
                f"Param {param}: no active product '{missing[0][:100]}' in catalog {catalog.id}"
                + ("" if every else " (none of the products of this list exist)"),
            )
        return known

    # --- for people (the client API) -----------------------------------------------------------------------------

    async def products_for_people(
        self, raw_catalog_id: str, retailer_ids: list[str] | None, limit: int, after: str | None
    ) -> dict[str, Any]:
        """Products of a catalog by retailer id (what a product message names), or, when the catalog is visible on
        one of the business's numbers, a page of its active products."""
        catalog_id = parse_id(raw_catalog_id)
        if catalog_id is None:
            raise NotFoundError("no such catalog")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE}")
        after_id = decode_cursor(after)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> tuple[repo.CatalogRow | None, list[repo.ProductRow], bool]:
            catalog = repo.catalog(conn, catalog_id)
            if catalog is None:
                return None, [], False
            if retailer_ids is not None:
                found = repo.products_by_retailer_ids(conn, catalog.id, retailer_ids)
                return catalog, [found[r] for r in dict.fromkeys(retailer_ids) if r in found], False
            return catalog, *self._visible_page_in(conn, catalog, after_id, limit)

        catalog, rows, more = await self._db.read(unit)
        if catalog is None:
            raise NotFoundError("no such catalog")
        if retailer_ids is None:
            visible = await self._visible(catalog.waba_id)
            if not visible:
                raise NotFoundError("this catalog is not shown to people: ask for products by retailer_ids")
        return {
            "catalog_id": str(catalog.id),
            "products": [self.person_product(p, now) for p in rows],
            "next_cursor": encode_cursor(rows[-1].id) if more and rows else None,
        }

    def _visible_page_in(
        self, conn: Connection, catalog: repo.CatalogRow, after_id: int | None, limit: int
    ) -> tuple[list[repo.ProductRow], bool]:
        rows = repo.active_products_page(conn, catalog.id, after_id=after_id, limit=limit + 1)
        return rows[:limit], len(rows) > limit

    async def _visible(self, waba_id: int) -> bool:
        number_ids = await self._numbers.ids_of_waba(waba_id)
        settings = await self._db.read(lambda c: [repo.settings_of(c, n) for n in number_ids])
        return any(s.is_catalog_visible for s in settings)

    async def business_catalog(self, raw_id: str, limit: int, after: str | None) -> dict[str, Any]:
        """`GET /client/v1/businesses/{user_id or phone_number_id}/catalog`: the number's catalog when it shows it."""
        some_id = parse_id(raw_id)
        if some_id is None:
            raise NotFoundError("no such business")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE}")
        number = await self._numbers.get(some_id)
        if number is None:
            number = await self._db.read(lambda c: self._numbers.number_of_user_in(c, some_id))
        if number is None:
            raise NotFoundError("no such business")
        after_id = decode_cursor(after)
        now = self._clock.now_ms()
        found = number

        def unit(
            conn: Connection,
        ) -> tuple[repo.CommerceSettingsRow, repo.CatalogRow | None, list[repo.ProductRow], bool]:
            settings = repo.settings_of(conn, found.id)
            catalog = repo.catalog_of_waba(conn, found.waba_id)
            if catalog is None or not settings.is_catalog_visible:
                return settings, catalog, [], False
            rows, more = self._visible_page_in(conn, catalog, after_id, limit)
            return settings, catalog, rows, more

        settings, catalog, rows, more = await self._db.read(unit)
        if catalog is None or not settings.is_catalog_visible:
            raise NotFoundError("this business shows no catalog")
        return {
            "catalog_id": str(catalog.id),
            "business_user_id": str(number.user_id),
            "phone_number_id": str(number.id),
            "name": catalog.name,
            "is_cart_enabled": settings.is_cart_enabled,
            "products": [self.person_product(p, now) for p in rows],
            "next_cursor": encode_cursor(rows[-1].id) if more and rows else None,
        }

    async def product_image(self, raw_product_id: str) -> media.MediaRow | None:
        """A product's uploaded image (public, like the catalog it belongs to and a profile picture)."""
        product_id = parse_id(raw_product_id)
        if product_id is None:
            return None

        def unit(conn: Connection) -> media.MediaRow | None:
            product = repo.product(conn, product_id)
            if product is None or product.image_media_id is None:
                return None
            return media.get_media(conn, product.image_media_id)

        return await self._db.read(unit)


def _without_token(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "access_token"}
