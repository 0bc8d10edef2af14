"""Routes of merchant payments: the business's lookup and refunds (Graph), the person's order and payment (client)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

from parley.http import ERROR_RESPONSES, ContainerDep, GraphScopeDep, PrincipalDep, graph_json_body, graph_router
from parley.kit.errors import InvalidInputError
from parley.payments.provider import checked_card

graph = graph_router("payments")
client = APIRouter(prefix="/client/v1", tags=["payments"], responses=ERROR_RESPONSES)


class CardIn(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    number: StrictStr
    exp_month: StrictInt
    exp_year: StrictInt
    cvc: StrictStr


class OrderPayIn(BaseModel):
    """Pay an order: `{"method": "card", "card": {number, exp_month, exp_year, cvc}}` (the sandbox's test cards),
    or `{"method": "wallet", "pin": "1234"}` (the person's Parley Pay balance, spent only with their payment PIN)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    method: Literal["card", "wallet"]
    card: CardIn | None = None
    pin: StrictStr | None = None


@graph.get(
    "/{phone_number_id}/payments/{payment_configuration}/{reference_id}",
    summary="Look up the payment of an order_details message by its reference id",
)
async def lookup_payment(
    phone_number_id: str,
    payment_configuration: str,
    reference_id: str,
    container: ContainerDep,
    scope: GraphScopeDep,
) -> Any:
    return await container.merchant_payments.lookup(scope, phone_number_id, payment_configuration, reference_id)


@graph.post("/{phone_number_id}/payments_refund", summary="Refund all or part of a captured order payment")
async def refund_payment(
    phone_number_id: str,
    request: Request,
    container: ContainerDep,
    scope: GraphScopeDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> dict[str, Any]:
    body = await graph_json_body(request)
    return await container.merchant_payments.refund(scope, phone_number_id, body, idempotency_key)


@client.get("/messages/{message_id}/order", summary="The order an order_details message carries")
async def order_of_message(message_id: str, me: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    return await container.merchant_payments.order_of_message(me.user_id, message_id)


@client.get("/orders/{order_id}", summary="An order sent to you")
async def get_order(order_id: str, me: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    return await container.merchant_payments.order(me.user_id, order_id)


@client.post(
    "/orders/{order_id}/pay",
    summary="Pay an order by card or from the wallet; a retry with the same Idempotency-Key charges nothing again",
    responses={
        402: {"description": "The card was declined (the reason is the message), or the wallet cannot cover it"},
        403: {"description": "A wallet payment with a wrong payment PIN"},
        409: {"description": "The order is paid, being paid, expired or closed"},
    },
)
async def pay_order(
    order_id: str,
    body: OrderPayIn,
    me: PrincipalDep,
    container: ContainerDep,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> dict[str, Any]:
    if not idempotency_key:
        raise InvalidInputError("paying needs an Idempotency-Key header (any unique string per payment)")
    if body.method == "wallet":
        if body.card is not None:
            raise InvalidInputError("a wallet payment takes no card")
        if body.pin is None:
            raise InvalidInputError('a wallet payment needs the payment PIN: {"method": "wallet", "pin": …}')
        await container.merchant_payments.order(me.user_id, order_id)  # someone else's order: 404, no guess counted
        # The wallet's money leaves only with the PIN, as for a payment in a chat; wrong guesses lock both.
        await container.person_payments.check_spending_pin(me.user_id, body.pin)
        return await container.merchant_payments.pay_from_wallet(me.user_id, order_id, idempotency_key)
    if body.card is None:
        raise InvalidInputError("a card payment needs the card: {number, exp_month, exp_year, cvc}")
    card = checked_card(body.card.number, body.card.exp_month, body.card.exp_year, body.card.cvc)
    return await container.merchant_payments.pay_with_card(me.user_id, order_id, card, idempotency_key)
