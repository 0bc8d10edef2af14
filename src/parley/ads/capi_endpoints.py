"""Graph routes of the Conversions API for business messaging: the WABA's dataset and its events."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from parley.http import ContainerDep, GraphScopeDep, graph_params, graph_router

router = graph_router("ads")


@router.post("/{waba_id}/dataset", summary="The business account's Conversions API dataset (made on first call)")
async def create_dataset(waba_id: str, c: ContainerDep, scope: GraphScopeDep) -> dict[str, str]:
    return await c.ad_conversions.dataset(scope, waba_id, create=True)


@router.get("/{waba_id}/dataset", summary="The business account's Conversions API dataset")
async def get_dataset(waba_id: str, c: ContainerDep, scope: GraphScopeDep) -> dict[str, str]:
    return await c.ad_conversions.dataset(scope, waba_id, create=False)


@router.post("/{dataset_id}/events", summary="Report conversions of chats that ads started (all or nothing)")
async def post_events(dataset_id: str, request: Request, c: ContainerDep, scope: GraphScopeDep) -> dict[str, Any]:
    return await c.ad_conversions.events(scope, dataset_id, await graph_params(request))
