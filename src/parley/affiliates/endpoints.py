"""Routes of affiliates: the merchant's program and commissions and a business affiliate's links (Business API,
Graph-style), and a person's programs, links and click claims (client API)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, StrictStr

from parley.affiliates.service import BUSINESS, PERSON
from parley.graph import GraphScope, object_not_found
from parley.http import (
    ERROR_RESPONSES,
    ContainerDep,
    GraphScopeDep,
    PrincipalDep,
    graph_params,
    graph_router,
    with_next_page,
)
from parley.kit.ids import parse_id

router = graph_router("affiliates")
client_router = APIRouter(prefix="/client/v1/affiliates", tags=["affiliates"], responses=ERROR_RESPONSES)

LimitQuery = Annotated[int | None, Query(description="page size, 1 to 100")]
AfterQuery = Annotated[str | None, Query(max_length=32, description="paging.cursors.after of the previous page")]


def _own_waba(scope: GraphScope, raw_waba_id: str) -> int:
    waba_id = parse_id(raw_waba_id)
    if waba_id is None or waba_id != scope.waba_id:
        raise object_not_found(raw_waba_id)
    return waba_id


@router.post("/{waba_id}/affiliate_program", summary="Create or change the merchant's affiliate program (Parley)")
async def set_program(waba_id: str, request: Request, c: ContainerDep, scope: GraphScopeDep) -> dict[str, Any]:
    return await c.affiliates.set_program(_own_waba(scope, waba_id), await graph_params(request))


@router.get("/{waba_id}/affiliate_program", summary="The merchant's affiliate program, its links and totals (Parley)")
async def get_program(waba_id: str, c: ContainerDep, scope: GraphScopeDep) -> dict[str, Any]:
    own = _own_waba(scope, waba_id)
    program = await c.affiliates.program(own)
    overview = await c.affiliates.merchant_overview(own)
    return {**program, "links": {"data": overview["links"]}, "totals": overview["totals"]}


@router.get("/{waba_id}/affiliate_commissions", summary="The commissions the merchant's program owes or paid (Parley)")
async def list_commissions(
    waba_id: str,
    request: Request,
    c: ContainerDep,
    scope: GraphScopeDep,
    limit: LimitQuery = None,
    after: AfterQuery = None,
) -> dict[str, Any]:
    page = await c.affiliates.commissions_page(_own_waba(scope, waba_id), after, limit)
    next_after = page.get("paging", {}).get("cursors", {}).get("after")
    return with_next_page(request, page, next_after)


@router.get("/{waba_id}/affiliate_links", summary="The business's own affiliate links with their figures (Parley)")
async def business_links(waba_id: str, c: ContainerDep, scope: GraphScopeDep) -> dict[str, Any]:
    return await c.affiliates.links_of(BUSINESS, _own_waba(scope, waba_id))


@router.post("/{waba_id}/affiliate_links", summary="Create an affiliate link for another merchant (Parley)")
async def business_new_link(waba_id: str, request: Request, c: ContainerDep, scope: GraphScopeDep) -> dict[str, Any]:
    params = await graph_params(request)
    own = _own_waba(scope, waba_id)
    return await c.affiliates.create_link(BUSINESS, own, params.get("merchant_id"), params.get("product_retailer_id"))


@router.delete("/{waba_id}/affiliate_links/{link_id}", summary="Revoke one of the business's affiliate links")
async def business_revoke_link(waba_id: str, link_id: str, c: ContainerDep, scope: GraphScopeDep) -> dict[str, Any]:
    await c.affiliates.revoke_link(BUSINESS, _own_waba(scope, waba_id), link_id)
    return {"success": True}


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    merchant_id: StrictStr
    product_retailer_id: StrictStr | None = None


@client_router.get("/programs", summary="Merchants' active affiliate programs you can join")
async def programs(c: ContainerDep, principal: PrincipalDep) -> dict[str, Any]:
    return {"data": await c.affiliates.open_programs()}


@client_router.get("/links", summary="Your affiliate links with clicks, purchases and commissions")
async def my_links(c: ContainerDep, principal: PrincipalDep) -> dict[str, Any]:
    return await c.affiliates.links_of(PERSON, principal.user_id)


@client_router.post("/links", status_code=201, summary="Create (or get again) your link for a merchant or product")
async def new_link(body: LinkIn, c: ContainerDep, principal: PrincipalDep) -> dict[str, Any]:
    return await c.affiliates.create_link(PERSON, principal.user_id, body.merchant_id, body.product_retailer_id)


@client_router.delete("/links/{link_id}", summary="Revoke one of your affiliate links")
async def revoke_link(link_id: str, c: ContainerDep, principal: PrincipalDep) -> dict[str, Any]:
    return await c.affiliates.revoke_link(PERSON, principal.user_id, link_id)


@client_router.post("/clicks/{token}/claim", summary="Bind a click on an affiliate link to you (the landing page)")
async def claim(token: str, c: ContainerDep, principal: PrincipalDep) -> dict[str, Any]:
    return await c.affiliates.claim(token[:100], principal.user_id)
