"""Catalog routes: Meta's catalog, product, batch, product set and commerce settings paths on the Graph API, and the
client API's read of a catalog for people. (`GET/POST/DELETE /{product_id}` go through business's `/{object_id}`.)"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from parley.http import (
    ERROR_RESPONSES,
    ContainerDep,
    GraphScopeDep,
    PrincipalDep,
    graph_params,
    graph_router,
    with_next_page,
)
from parley.kit.errors import NotFoundError

router = graph_router("commerce")
client_router = APIRouter(prefix="/client/v1", tags=["commerce"], responses=ERROR_RESPONSES)

LimitQuery = Annotated[int | None, Query(description="page size, 1 to 100")]
AfterQuery = Annotated[str | None, Query(max_length=128, description="paging.cursors.after of the previous page")]
FieldsQuery = Annotated[str | None, Query(max_length=1000)]


def _json_body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"requestBody": {"content": {"application/json": {"schema": schema}}}}


_TEXT = {"type": "string"}
_PRICE = {
    "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "example": "14.99 USD"}],
    "description": "minor units with `currency` (1499 = 14.99), or the feed form '14.99 USD'",
}
_PRODUCT = {
    "retailer_id": {"type": "string", "maxLength": 100},
    "name": {"type": "string", "maxLength": 200},
    "description": {"type": "string", "maxLength": 9999},
    "price": _PRICE,
    "currency": {"type": "string", "example": "USD"},
    "sale_price": _PRICE,
    "sale_price_start_date": {"type": "string", "example": "2025-01-01T00:00+00:00"},
    "sale_price_end_date": {"type": "string", "example": "2025-02-01T00:00+00:00"},
    "availability": {"type": "string", "enum": ["in stock", "out of stock", "preorder", "available for order"]},
    "condition": {"type": "string", "enum": ["new", "refurbished", "used"]},
    "image_url": {"type": "string", "format": "uri"},
    "image_media_id": {"type": "string", "description": "Parley: an image uploaded with POST /{phone_number_id}/media"},
    "url": {"type": "string", "format": "uri"},
    "brand": {"type": "string", "maxLength": 100},
    "retailer_product_group_id": {"type": "string", "maxLength": 100},
    "inventory": {"type": "integer", "minimum": 0},
    "visibility": {"type": "string", "enum": ["published", "staging"]},
}
_CATALOG_BODY = _json_body({"name": {"type": "string", "maxLength": 200}}, ["name"])
_PRODUCT_BODY = _json_body(_PRODUCT, ["retailer_id", "name", "price"])
_BATCH_BODY = _json_body(
    {
        "item_type": {"type": "string", "enum": ["PRODUCT_ITEM"]},
        "allow_upsert": {"type": "boolean"},
        "requests": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "method": {"type": "string", "enum": ["CREATE", "UPDATE", "DELETE"]},
                    "data": {"type": "object", "description": "Meta's feed fields: id, title, price ('14 GBP'), ..."},
                },
                "required": ["method", "data"],
            },
        },
    },
    ["item_type", "requests"],
)
_SET_BODY = _json_body(
    {
        "name": {"type": "string", "maxLength": 200},
        "filter": {"type": "object", "example": {"retailer_id": {"is_any": ["sku-1", "sku-2"]}}},
        "retailer_id": _TEXT,
    },
    ["name", "filter"],
)


@router.post(
    "/{waba_id}/product_catalogs",
    summary="Create the business account's catalog (one per account)",
    openapi_extra=_CATALOG_BODY,
)
async def create_catalog(waba_id: str, request: Request, c: ContainerDep, scope: GraphScopeDep) -> dict[str, str]:
    return await c.catalogs.create_catalog(scope, waba_id, await graph_params(request))


@router.get("/{waba_id}/product_catalogs", summary="The catalog connected to a business account")
async def list_catalogs(waba_id: str, c: ContainerDep, scope: GraphScopeDep) -> dict[str, Any]:
    return await c.catalogs.list_catalogs(scope, waba_id)


@router.get(
    "/{catalog_id}/products", summary="A catalog's product items, or a product set's (`/{product_set_id}/products`)"
)
async def list_products(
    catalog_id: str,
    request: Request,
    c: ContainerDep,
    scope: GraphScopeDep,
    fields: FieldsQuery = None,
    limit: LimitQuery = None,
    after: AfterQuery = None,
) -> dict[str, Any]:
    page, next_after = await c.catalogs.products_edge(scope, catalog_id, fields, limit, after)
    return with_next_page(request, page, next_after)


@router.post("/{catalog_id}/products", summary="Create a product item", openapi_extra=_PRODUCT_BODY)
async def create_product(catalog_id: str, request: Request, c: ContainerDep, scope: GraphScopeDep) -> dict[str, str]:
    return await c.catalogs.create_product(scope, catalog_id, await graph_params(request))


@router.post(
    "/{catalog_id}/items_batch",
    summary="Create, update and delete product items in one call",
    openapi_extra=_BATCH_BODY,
)
async def items_batch(catalog_id: str, request: Request, c: ContainerDep, scope: GraphScopeDep) -> dict[str, Any]:
    return await c.catalogs.items_batch(scope, catalog_id, await graph_params(request))


@router.get("/{catalog_id}/check_batch_request_status", summary="The outcome of an items_batch call")
async def check_batch(
    catalog_id: str,
    c: ContainerDep,
    scope: GraphScopeDep,
    handle: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    return await c.catalogs.batch_status(scope, catalog_id, handle)


@router.post(
    "/{catalog_id}/product_sets", summary="Create a product set (a filter over the catalog)", openapi_extra=_SET_BODY
)
async def create_product_set(
    catalog_id: str, request: Request, c: ContainerDep, scope: GraphScopeDep
) -> dict[str, str]:
    return await c.catalogs.create_product_set(scope, catalog_id, await graph_params(request))


@router.get("/{catalog_id}/product_sets", summary="A catalog's product sets")
async def list_product_sets(
    catalog_id: str,
    request: Request,
    c: ContainerDep,
    scope: GraphScopeDep,
    limit: LimitQuery = None,
    after: AfterQuery = None,
) -> dict[str, Any]:
    page, next_after = await c.catalogs.list_product_sets(scope, catalog_id, limit, after)
    return with_next_page(request, page, next_after)


@router.get("/{phone_number_id}/whatsapp_commerce_settings", summary="A number's commerce settings")
async def get_commerce_settings(
    phone_number_id: str, c: ContainerDep, scope: GraphScopeDep, fields: FieldsQuery = None
) -> dict[str, Any]:
    return await c.catalogs.commerce_settings(scope, phone_number_id, fields)


@router.post(
    "/{phone_number_id}/whatsapp_commerce_settings",
    summary="Set a number's commerce settings (is_cart_enabled, is_catalog_visible: 'true' or 'false')",
)
async def set_commerce_settings(
    phone_number_id: str,
    request: Request,
    c: ContainerDep,
    scope: GraphScopeDep,
    is_cart_enabled: Annotated[str | None, Query(max_length=8)] = None,
    is_catalog_visible: Annotated[str | None, Query(max_length=8)] = None,
) -> dict[str, bool]:
    del is_cart_enabled, is_catalog_visible  # documented here; read with the body by graph_params
    return await c.catalogs.update_commerce_settings(scope, phone_number_id, await graph_params(request))


# --- for people --------------------------------------------------------------------------------------------------


@client_router.get("/catalogs/{catalog_id}/products", summary="Products of a catalog (by retailer id, or browse)")
async def catalog_products(
    catalog_id: str,
    _me: PrincipalDep,
    c: ContainerDep,
    retailer_ids: Annotated[str | None, Query(max_length=3100, description="comma-separated, at most 30")] = None,
    limit: Annotated[int, Query()] = 25,
    after: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    wanted = None
    if retailer_ids is not None:
        wanted = [r.strip() for r in retailer_ids.split(",") if r.strip()][:30]
    return await c.catalogs.products_for_people(catalog_id, wanted, limit, after)


@client_router.get("/businesses/{business_id}/catalog", summary="A business's catalog, when its number shows it")
async def business_catalog(
    business_id: str,
    _me: PrincipalDep,
    c: ContainerDep,
    limit: Annotated[int, Query()] = 25,
    after: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    return await c.catalogs.business_catalog(business_id, limit, after)


@client_router.get(
    "/products/{product_id}/image",
    summary="A product's uploaded image (public, like the catalog)",
    response_class=FileResponse,
)
async def product_image(product_id: str, c: ContainerDep) -> FileResponse:
    item = await c.catalogs.product_image(product_id)
    if item is None:
        raise NotFoundError("this product has no uploaded image")
    return FileResponse(item.path, media_type=item.mime_type, headers={"Cache-Control": "public, max-age=300"})
