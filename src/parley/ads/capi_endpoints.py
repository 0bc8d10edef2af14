"""Graph routes of the Conversions API for business messaging: the WABA's dataset and its events."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from parley.graph import GraphError
from parley.http import ContainerDep, GraphScopeDep, graph_router

router = graph_router("ads")


async def graph_params(request: Request) -> dict[str, Any]:
    """The query string plus a JSON object or form body, as Meta takes a Graph write's parameters."""
    params: dict[str, Any] = dict(request.query_params)
    if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params
    raw = await request.body()
    if raw.strip():
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise GraphError(100, "the request body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise GraphError(100, "the request body must be a JSON object")
        params.update(body)
    return params


@router.post("/{waba_id}/dataset", summary="The business account's Conversions API dataset (made on first call)")
async def create_dataset(waba_id: str, c: ContainerDep, scope: GraphScopeDep) -> dict[str, str]:
    return await c.ad_conversions.dataset(scope, waba_id, create=True)


@router.get("/{waba_id}/dataset", summary="The business account's Conversions API dataset")
async def get_dataset(waba_id: str, c: ContainerDep, scope: GraphScopeDep) -> dict[str, str]:
    return await c.ad_conversions.dataset(scope, waba_id, create=False)


@router.post("/{dataset_id}/events", summary="Report conversions of chats that ads started (all or nothing)")
async def post_events(dataset_id: str, request: Request, c: ContainerDep, scope: GraphScopeDep) -> dict[str, Any]:
    return await c.ad_conversions.events(scope, dataset_id, await graph_params(request))
