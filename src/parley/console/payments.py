"""The console's Parley Pay orders: the business's paid orders (what each line cost, what was refunded) and a
refund of one line or an amount, through the same service as Graph's `payments_refund`. Owners and admins only."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header
from pydantic import BaseModel, ConfigDict, StrictStr

from parley import payments
from parley.console.access import ConsoleDep
from parley.http import ContainerDep
from parley.kit.errors import InvalidInputError
from parley.kit.money import MICROS, format_amount, parse_amount

router = APIRouter(prefix="/inbox/api/console/payments", tags=["business console"])


class RefundIn(BaseModel):
    """One line of the order (`retailer_id`: its amount × quantity) or an `amount` typed as a decimal ("12.50")."""

    model_config = ConfigDict(extra="forbid")
    retailer_id: StrictStr | None = None
    amount: StrictStr | None = None


def _money(micros: int) -> str:
    return format_amount(micros, 2)


def order_view(order: payments.OrderRow) -> dict[str, Any]:
    """A paid order as the console lists it: amounts as decimal strings in the order's currency."""
    lines = []
    for item in orjson.loads(order.items):
        unit = item.get("sale_amount") or item["amount"]
        micros = unit["value"] * MICROS // unit["offset"] * item["quantity"]
        lines.append(
            {
                "retailer_id": item.get("retailer_id"),
                "name": item["name"],
                "quantity": item["quantity"],
                "amount": _money(micros),
            }
        )
    return {
        "id": str(order.id),
        "reference_id": order.reference_id,
        "currency": order.currency,
        "total": _money(order.total),
        "fee": format_amount(order.fee),
        "refunded": _money(order.refunded),
        "refundable": _money(order.total - order.refunded),
        "status": order.status,
        "captured_at": order.captured_at,
        "lines": lines,
    }


@router.get("/orders", summary="Orders paid through Parley Pay, the latest first, with what was refunded")
async def paid_orders(ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    return {"data": [order_view(o) for o in await container.merchant_payments.paid_orders(ctx.waba_id)]}


@router.post(
    "/orders/{order_id}/refunds",
    status_code=201,
    summary="Refund one line or an amount of a paid order (the fee comes back in proportion)",
)
async def refund_order(
    order_id: str,
    body: RefundIn,
    ctx: ConsoleDep,
    container: ContainerDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> dict[str, Any]:
    await container.merchant_payments.business_order(ctx.waba_id, order_id)  # another business's order: 404 first
    if not idempotency_key:
        raise InvalidInputError("a refund needs an Idempotency-Key header (any unique string per refund)")
    amount = None
    if body.amount is not None:
        try:
            amount = parse_amount(body.amount.strip())
        except ValueError as exc:
            raise InvalidInputError(f"amount: {exc}") from exc
    refund = await container.merchant_payments.refund_order(
        ctx.waba_id, order_id, amount, body.retailer_id, idempotency_key
    )
    order = await container.merchant_payments.business_order(ctx.waba_id, order_id)
    return {
        "id": str(refund.id),
        "status": refund.status,
        "amount": _money(refund.amount),
        "fee_returned": format_amount(refund.fee_refund),
        "currency": refund.currency,
        "order": order_view(order),
    }
