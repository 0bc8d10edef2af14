"""Marketing-API-like Graph routes of ads: the business account's ad account, its campaigns, ad sets and ads, and
the public media of approved creatives. (`GET/POST/DELETE /{id}` of a campaign, ad set or ad go through business's
`/{object_id}` dispatcher.)"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import FileResponse

from parley.http import ContainerDep, GraphScopeDep, graph_params, graph_router, with_next_page
from parley.kit.errors import NotFoundError

router = graph_router("ads")
public_router = APIRouter(prefix="/ads/v1", tags=["ads"])

LimitQuery = Annotated[int | None, Query(description="page size, 1 to 100")]
AfterQuery = Annotated[str | None, Query(max_length=128, description="paging.cursors.after of the previous page")]
FieldsQuery = Annotated[str | None, Query(max_length=1000)]
KeyHeader = Annotated[str | None, Header(max_length=128, description="a retry with the same key creates nothing new")]


@router.post("/{waba_id}/adaccounts", summary="Open the business account's ad account (Parley extension)")
async def create_account(waba_id: str, c: ContainerDep, scope: GraphScopeDep) -> dict[str, str]:
    return await c.ads.create_account(scope, waba_id)


@router.get("/act_{account_id}", summary="An ad account")
async def get_account(account_id: str, c: ContainerDep, scope: GraphScopeDep, fields: FieldsQuery = None) -> Any:
    return await c.ads.account_object(scope, f"act_{account_id}", fields)


@router.post("/act_{account_id}/campaigns", summary="Create a campaign")
async def create_campaign(
    account_id: str, request: Request, c: ContainerDep, scope: GraphScopeDep, idempotency_key: KeyHeader = None
) -> dict[str, str]:
    return await c.ads.create_campaign(scope, f"act_{account_id}", await graph_params(request), idempotency_key)


@router.post("/act_{account_id}/adsets", summary="Create an ad set (budget, schedule, bid, targeting)")
async def create_ad_set(
    account_id: str, request: Request, c: ContainerDep, scope: GraphScopeDep, idempotency_key: KeyHeader = None
) -> dict[str, str]:
    return await c.ads.create_ad_set(scope, f"act_{account_id}", await graph_params(request), idempotency_key)


@router.post("/act_{account_id}/ads", summary="Create an ad (its creative is reviewed at once)")
async def create_ad(
    account_id: str, request: Request, c: ContainerDep, scope: GraphScopeDep, idempotency_key: KeyHeader = None
) -> dict[str, str]:
    return await c.ads.create_ad(scope, f"act_{account_id}", await graph_params(request), idempotency_key)


async def _edge(
    account_id: str,
    edge: str,
    request: Request,
    c: Any,
    scope: Any,
    fields: str | None,
    limit: int | None,
    after: str | None,
) -> dict[str, Any]:
    page, next_after = await c.ads.list_edge(scope, f"act_{account_id}", edge, fields, limit, after)
    return with_next_page(request, page, next_after)


# Three explicit edges (no `/{edge}` catch-all): other ads routes such as `/act_{id}/insights` stay reachable.
@router.get("/act_{account_id}/campaigns", summary="An ad account's campaigns")
async def list_campaigns(
    account_id: str,
    request: Request,
    c: ContainerDep,
    scope: GraphScopeDep,
    fields: FieldsQuery = None,
    limit: LimitQuery = None,
    after: AfterQuery = None,
) -> dict[str, Any]:
    return await _edge(account_id, "campaigns", request, c, scope, fields, limit, after)


@router.get("/act_{account_id}/adsets", summary="An ad account's ad sets")
async def list_ad_sets(
    account_id: str,
    request: Request,
    c: ContainerDep,
    scope: GraphScopeDep,
    fields: FieldsQuery = None,
    limit: LimitQuery = None,
    after: AfterQuery = None,
) -> dict[str, Any]:
    return await _edge(account_id, "adsets", request, c, scope, fields, limit, after)


@router.get("/act_{account_id}/ads", summary="An ad account's ads")
async def list_ads(
    account_id: str,
    request: Request,
    c: ContainerDep,
    scope: GraphScopeDep,
    fields: FieldsQuery = None,
    limit: LimitQuery = None,
    after: AfterQuery = None,
) -> dict[str, Any]:
    return await _edge(account_id, "ads", request, c, scope, fields, limit, after)


@public_router.get(
    "/creatives/{ad_id}/media", summary="An approved ad's image or video (public)", response_class=FileResponse
)
async def creative_media(ad_id: str, c: ContainerDep) -> FileResponse:
    item = await c.ads.creative_media(ad_id)
    if item is None:
        raise NotFoundError("this ad has no approved media")
    return FileResponse(item.path, media_type=item.mime_type, headers={"Cache-Control": "public, max-age=3600"})
