"""Client API routes of consent and signals: a person's consents per purpose (with the wording and its version),
the ledger of their consent events, and what the signals store holds of them."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from parley.graph import object_not_found
from parley.http import ERROR_RESPONSES, ContainerDep, GraphScopeDep, PrincipalDep, graph_router
from parley.signals import rules
from parley.signals.service import DAY_MS, ConsentView, Market

router = APIRouter(prefix="/client/v1", tags=["privacy"], responses=ERROR_RESPONSES)
graph = graph_router("signals")


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    granted: StrictBool = Field(description="true: give consent for this purpose; false: withdraw it")


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    purpose: str
    title: str
    granted: bool
    wording: str = Field(description="What the person agrees to, as shown beside the switch")
    wording_version: str = Field(description="The wording's version in force now (what a change records)")
    agreed_version: str | None = Field(description="The version the person's last choice was made under")
    updated_at: int | None
    uses: list[str] = Field(description="What is used for this purpose, and why")


class MarketOut(BaseModel):
    region: str = Field(description="The region of the person's number (ISO 3166), '' when unknown")
    eu_eea: bool
    notice: str | None = Field(description="For numbers in the EU/EEA: what the EU's rules mean for ads")


class ConsentsOut(BaseModel):
    purposes: list[ConsentOut]
    market: MarketOut
    never_used: list[str]


class ConsentEventOut(BaseModel):
    id: str
    purpose: str
    action: str = Field(description="given | withdrawn")
    wording_version: str
    created_at: int


class ConsentHistoryOut(BaseModel):
    events: list[ConsentEventOut]


class SignalDayOut(BaseModel):
    date: str
    messages_sent: int
    business_messages: int
    ad_clicks: int
    purchases: int


class SignalBusinessOut(BaseModel):
    category: str
    messages: int
    first_at: int
    last_at: int


class SignalsOut(BaseModel):
    window_days: int = Field(description="The counters below cover this many days, up to today (UTC)")
    messages_sent: int = Field(description="Messages you sent (1:1 and groups), never their content")
    active_days: int = Field(description="Days on which you sent at least one message")
    business_messages: int = Field(description="Of those, messages to businesses")
    ad_clicks: int = Field(description="Ads you opened into a chat")
    purchases: int = Field(description="Orders you paid in chats")
    categories: list[str] = Field(description="Categories of the businesses you wrote to")
    days: list[SignalDayOut]
    businesses: list[SignalBusinessOut]


def _consents_out(views: list[ConsentView], market: Market) -> ConsentsOut:
    return ConsentsOut(
        purposes=[ConsentOut.model_validate(v) for v in views],
        market=MarketOut(region=market.region, eu_eea=market.eu_eea, notice=rules.EU_NOTICE if market.eu_eea else None),
        never_used=list(rules.NEVER_USED),
    )


@router.get("/consents", response_model=ConsentsOut, summary="Your consents per purpose, and your number's market")
async def get_consents(me: PrincipalDep, c: ContainerDep) -> ConsentsOut:
    views, market = await c.consents.of_person(me.user_id)
    return _consents_out(views, market)


@router.put(
    "/consents/{purpose}",
    response_model=ConsentsOut,
    summary="Give or withdraw consent for one purpose (ads_personalisation, product_analytics); takes effect at once",
)
async def put_consent(
    body: ConsentIn,
    me: PrincipalDep,
    c: ContainerDep,
    purpose: Literal["ads_personalisation", "product_analytics"] = Path(description="rules.PURPOSES"),
) -> ConsentsOut:
    await c.consents.set(me.user_id, purpose, body.granted)
    return await get_consents(me, c)


@router.get("/consents/history", response_model=ConsentHistoryOut, summary="Every consent you gave or withdrew")
async def consent_history(me: PrincipalDep, c: ContainerDep) -> ConsentHistoryOut:
    events = await c.consents.history(me.user_id)
    return ConsentHistoryOut(events=[ConsentEventOut.model_validate({**asdict(e), "id": str(e.id)}) for e in events])


@router.get("/signals", response_model=SignalsOut, summary="What the signals store holds of you (never content)")
async def my_signals(me: PrincipalDep, c: ContainerDep) -> SignalsOut:
    held = await c.signals.held_for(me.user_id)
    days = [{**asdict(d), "date": _date_of(d.day)} for d in held.days]
    return SignalsOut.model_validate({**asdict(held), "categories": list(held.categories), "days": days})


def _date_of(day: int) -> str:
    return datetime.fromtimestamp(day * DAY_MS / 1000, UTC).date().isoformat()


class CategoryOut(BaseModel):
    category: str
    people: str = Field(description="People (always at least 100: smaller groups are not listed)")


class CustomerCategoriesOut(BaseModel):
    customers: str = Field(description='People counted, or "fewer than 100"')
    data: list[CategoryOut]
    k_anonymity_min: int


@graph.get(
    "/{waba_id}/customer_categories",
    response_model=CustomerCategoriesOut,
    summary="Categories of other businesses your customers write to (consenting people outside the EU/EEA, "
    "groups of at least 100 only)",
)
async def customer_categories(waba_id: str, c: ContainerDep, scope: GraphScopeDep) -> CustomerCategoriesOut:
    if waba_id != str(scope.waba_id):
        raise object_not_found(waba_id)
    found = await c.signals.customer_categories(scope.waba_id)
    return CustomerCategoriesOut(
        customers=found.customers,
        data=[CategoryOut(category=category, people=str(people)) for category, people in found.categories],
        k_anonymity_min=rules.K_ANONYMITY_MIN,
    )
