"""Client API routes of a person's cart in their chat with a business, and of that business's shop."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from parley.http import ERROR_RESPONSES, ContainerDep, PrincipalDep

router = APIRouter(prefix="/client/v1", tags=["commerce"], responses=ERROR_RESPONSES)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CartItemIn(_Strict):
    catalog_id: str = Field(min_length=1, max_length=20)
    quantity: int = Field(ge=0, le=99)  # 0 takes the item out


class CartSendIn(_Strict):
    text: str = Field(default="", max_length=1000)  # a note to the business
    client_id: str = Field(min_length=1, max_length=64)


@router.get("/chats/{chat_id}/shop")
async def shop(chat_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """The business's commerce settings and active products, as seen from your chat with it (prices in micros)."""
    return await c.carts.shop(me.user_id, chat_id)


@router.get("/chats/{chat_id}/cart")
async def get_cart(chat_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """Your cart in this chat, priced now; items no longer available are dropped and `notice` says so."""
    return await c.carts.cart(me.user_id, chat_id)


@router.put("/chats/{chat_id}/cart/items/{retailer_id}")
async def put_item(
    chat_id: str, retailer_id: str, body: CartItemIn, me: PrincipalDep, c: ContainerDep
) -> dict[str, Any]:
    return await c.carts.set_item(me.user_id, chat_id, retailer_id, body.catalog_id, body.quantity)


@router.delete("/chats/{chat_id}/cart", status_code=204)
async def clear_cart(chat_id: str, me: PrincipalDep, c: ContainerDep) -> Response:
    await c.carts.clear(me.user_id, chat_id)
    return Response(status_code=204)


@router.post("/chats/{chat_id}/cart/send")
async def send_cart(chat_id: str, body: CartSendIn, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """Send the cart to the business as an `order` message and empty it (a retry of `client_id` sends nothing new)."""
    return await c.carts.send(me.user_id, chat_id, body.text, body.client_id)
