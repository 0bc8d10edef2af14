"""The inbox's catalog, product sends, CSV feed import and payment requests (`/inbox/api/catalog/...`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request

from parley.commerce import MAX_FEED_BYTES
from parley.http import ContainerDep
from parley.inbox.endpoints import AgentDep, BodyDep
from parley.kit.errors import PayloadTooLargeError

router = APIRouter(prefix="/inbox/api", tags=["team inbox"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]


@router.get("/catalog/products")
async def catalog_products(
    ctx: AgentDep,
    container: ContainerDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query()] = 24,
) -> dict[str, Any]:
    """The business's catalog and a page of its active products matching `q` (title, retailer id or brand)."""
    return await container.inbox_commerce.products(ctx, q, cursor, limit)


@router.post("/catalog/import")
async def import_catalog(
    request: Request, ctx: AgentDep, container: ContainerDep, apply: Annotated[bool, Query()] = False
) -> dict[str, Any]:
    """A CSV feed in Meta's columns as the body: checked line by line, written (good lines only) with `apply=true`.
    Owners and admins only."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_FEED_BYTES:
            raise PayloadTooLargeError(f"the file is larger than {MAX_FEED_BYTES // (1024 * 1024)} MB")
    return await container.inbox_commerce.import_feed(ctx, bytes(data), apply=apply)


@router.post("/conversations/{conversation_id}/products", status_code=201)
async def send_products(
    conversation_id: str, ctx: AgentDep, container: ContainerDep, body: BodyDep, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """`{"retailer_ids": [...]}` (one: a product message; several: a product list, or `sections`), or
    `{"type": "catalog_message"}`; sent like an agent's reply."""
    return await container.inbox_commerce.send_products(ctx, conversation_id, body, idempotency_key)


@router.post("/conversations/{conversation_id}/payment-request", status_code=201)
async def request_payment(
    conversation_id: str, ctx: AgentDep, container: ContainerDep, body: BodyDep, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """An `order_details` message: order lines or a free amount, tax, shipping, discount, how to pay."""
    return await container.inbox_commerce.request_payment(ctx, conversation_id, body, idempotency_key)


@router.post("/conversations/{conversation_id}/order-status", status_code=201)
async def set_order_status(
    conversation_id: str, ctx: AgentDep, container: ContainerDep, body: BodyDep, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """An `order_status` message: `{"reference_id", "status": processing|shipped|completed|canceled,
    "description"}`; a transition Meta refuses (a final order, canceling a paid one) is a 409 saying why."""
    return await container.inbox_commerce.set_order_status(ctx, conversation_id, body, idempotency_key)
