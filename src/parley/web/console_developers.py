"""The console's Developers page: API tokens, the webhook callback and the delivery log, rendered from the same
data the `/inbox/api/console/developers` routes answer; `console-developers.js` keeps it live."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from parley.console import developers
from parley.http import ContainerDep
from parley.inbox import AgentContext

if TYPE_CHECKING:
    from parley.web.console_pages import ConsolePages


def _when(ms: int | None, zone: ZoneInfo) -> str:
    """The JS formats times the same way (`formatWhen` in console-developers.js)."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(zone).strftime("%d %b %Y, %H:%M:%S")


async def _page_data(request: Request, container: Any, ctx: AgentContext) -> dict[str, Any]:
    business = await container.business.inbox_business(ctx.waba_id)
    zone = ZoneInfo(business.timezone)
    tokens = await developers.tokens(container, ctx.waba_id)
    log = await developers.deliveries(container, ctx.waba_id)
    for token in tokens:
        token["created_text"] = _when(token["created_at"], zone)
        token["last_used_text"] = _when(token["last_used_at"], zone)
    for entry in log["data"]:
        entry["created_text"] = _when(entry["created_at"], zone)
    return {
        "timezone": business.timezone,
        "tokens": tokens,
        "webhook": await developers.webhook_settings(container, ctx.waba_id),
        "deliveries": log["data"],
        "deliveries_next": log["next"],
    }


def build_router(pages: ConsolePages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/inbox/console/developers", response_class=HTMLResponse)
    async def developers_page(request: Request, container: ContainerDep) -> Response:
        return await pages.page(request, container, "developers", "Developers", "console/developers.html", _page_data)

    return router
