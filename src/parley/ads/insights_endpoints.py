"""Graph route of insights: `GET /{act_<id> | campaign id | ad set id | ad id}/insights` (before business's
catch-all `/{object_id}` routes)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from parley.http import ContainerDep, GraphScopeDep, graph_router

router = graph_router("ads")


@router.get("/{object_id}/insights", summary="Impressions, clicks, spend, conversations and purchases of ads")
async def insights(object_id: str, request: Request, c: ContainerDep, scope: GraphScopeDep) -> dict[str, Any]:
    return await c.ad_insights.graph(scope, object_id, dict(request.query_params))
