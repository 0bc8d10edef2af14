"""Client API of subscriptions: plans of channels and groups, subscribing from the wallet, cancel / resume, the
person's list, and the creator's removals and refunds. Amounts are decimal strings ("49.90"), never floats."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from parley.http import ERROR_RESPONSES, ContainerDep, GraphScopeDep, PrincipalDep, graph_params, graph_router
from parley.kit.errors import InvalidInputError
from parley.kit.money import format_amount, minor_units
from parley.subscriptions.repository import ChargeRow, PlanRow, PriceRow, SubscriptionRow
from parley.subscriptions.service import (
    Offer,
    PlanChange,
    PlanIn,
    PlanView,
    PriceIn,
    SubscriptionService,
    SubscriptionView,
    price_label,
)

router = APIRouter(prefix="/client/v1", tags=["subscriptions"], responses=ERROR_RESPONSES)
graph = graph_router("subscriptions")
KeyHeader = Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)]


class PriceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    market: StrictStr = Field(max_length=10, description='ISO country of the subscriber\'s number, or "*"')
    amount: StrictStr = Field(max_length=40)
    currency: StrictStr = Field(min_length=3, max_length=3)


class PlanBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: StrictStr = Field(max_length=200)
    description: StrictStr = Field(default="", max_length=1000)
    billing: Literal["monthly", "one_off"] = "monthly"
    prices: list[PriceBody] = Field(max_length=250)


class PlanChangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: StrictStr | None = Field(default=None, max_length=200)
    description: StrictStr | None = Field(default=None, max_length=1000)
    prices: list[PriceBody] | None = Field(default=None, max_length=250)
    active: StrictBool | None = None


class SubscribeBody(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    pin: StrictStr = Field(max_length=12)


class RefundBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prorated: StrictBool = True


def _amount(micros: int, currency: str) -> str:
    return format_amount(micros, minor_units(currency))


def _price(price: PriceRow) -> dict[str, Any]:
    return {"market": price.market, "amount": _amount(price.amount, price.currency), "currency": price.currency}


def plan_view(plan: PlanRow, prices: list[PriceRow] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": str(plan.id),
        "target": {"kind": plan.target_kind, "id": str(plan.target_id)},
        "billing": plan.billing,
        "name": plan.name,
        "description": plan.description,
        "active": plan.active,
    }
    if prices is not None:
        found["prices"] = [_price(p) for p in prices]
    return found


def subscription_view(sub: SubscriptionRow, plan: PlanRow | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": str(sub.id),
        "plan_id": str(sub.plan_id),
        "status": sub.status,
        "price": {"amount": _amount(sub.amount, sub.currency), "currency": sub.currency},
        "current_period_start": sub.current_period_start,
        "current_period_end": sub.current_period_end,
        "cancel_at_period_end": sub.cancel_at_period_end,
        "grace_until": sub.grace_until,
        "ended_at": sub.ended_at,
    }
    if plan is not None:
        found["plan"] = plan_view(plan)
    return found


def _charge(charge: ChargeRow) -> dict[str, Any]:
    return {
        "kind": charge.kind,
        "status": charge.status,
        "period": charge.period,
        "amount": _amount(charge.amount, charge.currency),
        "currency": charge.currency,
        "created_at": charge.created_at,
    }


def _full(view: SubscriptionView) -> dict[str, Any]:
    return subscription_view(view.subscription, view.plan) | {"charges": [_charge(c) for c in view.charges]}


def offer_view(offer: Offer) -> dict[str, Any]:
    found: dict[str, Any] = {
        "plan": plan_view(offer.plan),
        "price": None if offer.price is None else _price(offer.price),
        "price_label": None if offer.price is None else price_label(offer.price, offer.plan.billing),
        "subscription": None if offer.subscription is None else subscription_view(offer.subscription),
        "manages": offer.manages,
    }
    if offer.manages:
        found.update(_managed(offer))
    return found


def _managed(offer: Offer) -> dict[str, Any]:
    """What the creator and admins (or the business) see of a plan: prices, live subscribers, earnings."""
    return {
        "prices": [_price(p) for p in offer.prices],
        "subscribers": offer.subscribers,
        "earnings": [
            {
                "currency": e.currency,
                "gross": _amount(e.gross, e.currency),
                "platform_cut": _amount(e.cut, e.currency),
                "net": _amount(e.net, e.currency),
            }
            for e in offer.earnings
        ],
    }


def _prices(bodies: list[PriceBody]) -> list[PriceIn]:
    return [PriceIn(b.market, b.amount, b.currency) for b in bodies]


def _plan_answer(view: PlanView) -> dict[str, Any]:
    return plan_view(view.plan, view.prices)


@router.post("/channels/{channel_id}/plan", summary="Sell a monthly subscription to a channel")
async def create_channel_plan(channel_id: str, body: PlanBody, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return await _create_plan(c.subscriptions, "channel", channel_id, body, me.user_id)


@router.post("/groups/{group_id}/plan", summary="Make a group paid: monthly or one-off access")
async def create_group_plan(group_id: str, body: PlanBody, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return await _create_plan(c.subscriptions, "group", group_id, body, me.user_id)


async def _create_plan(
    service: SubscriptionService, kind: str, target_id: str, body: PlanBody, user_id: int
) -> dict[str, Any]:
    plan = PlanIn(body.name, body.description, body.billing, _prices(body.prices))
    return _plan_answer(await service.create_plan(user_id, kind, target_id, plan))


@router.get("/channels/{channel_id}/plan", summary="A channel's subscription, as the caller sees it")
async def channel_offer(channel_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return offer_view(await c.subscriptions.offer(me.user_id, "channel", channel_id))


@router.get("/groups/{group_id}/plan", summary="A paid group's plan, as the caller sees it")
async def group_offer(group_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return offer_view(await c.subscriptions.offer(me.user_id, "group", group_id))


@router.get("/invites/{code}/plan", summary="The group an invite link leads into, and its plan if it is paid")
async def invite_offer(code: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    group_id, found = await c.subscriptions.offer_of_invite(me.user_id, code)
    return {"group_id": group_id, "offer": None if found is None else offer_view(found)}


@router.patch("/plans/{plan_id}", summary="Rename, reprice (from each next renewal) or (de)activate a plan")
async def change_plan(plan_id: str, body: PlanChangeBody, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    change = PlanChange(body.name, body.description, None if body.prices is None else _prices(body.prices), body.active)
    return _plan_answer(await c.subscriptions.change_plan(me.user_id, plan_id, change))


@router.post("/plans/{plan_id}/end", summary="End a plan now: every subscriber refunded pro rata")
async def end_plan(plan_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return {"ended": await c.subscriptions.end_plan_now(me.user_id, plan_id)}


@router.get("/plans/{plan_id}/subscribers", summary="A plan's live subscriptions (its creator and admins)")
async def subscribers(plan_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return {"subscriptions": [subscription_view(s) for s in await c.subscriptions.subscribers(me.user_id, plan_id)]}


@router.post(
    "/plans/{plan_id}/subscribe",
    summary="Subscribe: pay the first period from the wallet (payment PIN, Idempotency-Key)",
    responses={402: {"description": "Not enough money in the wallet: top it up; nothing moved"}},
)
async def subscribe(
    plan_id: str, body: SubscribeBody, me: PrincipalDep, c: ContainerDep, key: KeyHeader = None
) -> dict[str, Any]:
    return _full(await c.subscriptions.subscribe(me.user_id, plan_id, body.pin, key))


@router.get("/subscriptions", summary="The caller's subscriptions, live and ended")
async def mine(me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return {"subscriptions": [_full(v) for v in await c.subscriptions.mine(me.user_id)]}


@router.post("/subscriptions/{subscription_id}/cancel", summary="Cancel at the end of the paid period")
async def cancel(subscription_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return _full(await c.subscriptions.cancel(me.user_id, subscription_id))


@router.post("/subscriptions/{subscription_id}/resume", summary="Undo a cancellation before the period ends")
async def resume(subscription_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return _full(await c.subscriptions.resume(me.user_id, subscription_id))


@router.post("/subscriptions/{subscription_id}/refund", summary="The creator ends a subscription with a refund")
async def refund(subscription_id: str, body: RefundBody, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return _full(await c.subscriptions.refund(me.user_id, subscription_id, prorated=body.prorated))


# --- Business API: a business's channel sells subscriptions (Parley extension, the WABA token) ---------------


class GraphPlanBody(BaseModel):
    """Graph parameters come as JSON or form fields: `prices` may be a JSON-encoded string, `active` "true"."""

    model_config = ConfigDict(extra="forbid")
    name: StrictStr | None = Field(default=None, max_length=200)
    description: StrictStr | None = Field(default=None, max_length=1000)
    billing: StrictStr | None = Field(default=None, max_length=20)
    prices: list[PriceBody] | None = Field(default=None, max_length=250)
    active: bool | None = None


def _graph_plan(params: dict[str, Any]) -> PlanChange:
    if isinstance(params.get("prices"), str):
        try:
            params = params | {"prices": orjson.loads(params["prices"])}
        except orjson.JSONDecodeError:
            raise InvalidInputError('prices: a JSON list of {"market", "amount", "currency"}') from None
    try:
        body = GraphPlanBody.model_validate(params)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInputError(f"{where}: {first.get('msg')}" if where else str(first.get("msg"))) from None
    if body.billing not in (None, "monthly"):
        raise InvalidInputError("a channel subscription is monthly")
    return PlanChange(body.name, body.description, None if body.prices is None else _prices(body.prices), body.active)


def _business_view(offer: Offer) -> dict[str, Any]:
    return plan_view(offer.plan) | _managed(offer)


@graph.get("/{channel_id}/subscription_plan", summary="The business's channel's plan, subscribers count and earnings")
async def business_plan(channel_id: str, c: ContainerDep, scope: GraphScopeDep) -> dict[str, Any]:
    return _business_view(await c.subscriptions.business_plan(scope, channel_id))


@graph.post("/{channel_id}/subscription_plan", summary="Create or change the business's channel's monthly plan")
async def business_save_plan(
    channel_id: str, request: Request, c: ContainerDep, scope: GraphScopeDep
) -> dict[str, Any]:
    change = _graph_plan(await graph_params(request))
    return _business_view(await c.subscriptions.business_save_plan(scope, channel_id, change))
