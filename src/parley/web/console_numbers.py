"""The console's numbers page (`/inbox/console/numbers`): each number's quality rating, messaging-limit tier,
throughput and status, with the history of their changes and why each happened."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from parley.http import ContainerDep
from parley.inbox import AgentContext
from parley.web.console_figures import page_helpers

if TYPE_CHECKING:
    from parley.web.console_pages import ConsolePages


async def numbers_data(request: Request, container: Any, ctx: AgentContext) -> dict[str, Any]:
    standings = await container.business.number_standings(ctx.waba_id)
    profile = await container.billing.billing_profile(ctx.waba_id)
    return {"numbers": standings, **page_helpers(profile.currency, profile.timezone)}


def build_router(pages: ConsolePages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/inbox/console/numbers", response_class=HTMLResponse)
    async def numbers_page(request: Request, container: ContainerDep) -> Response:
        return await pages.page(request, container, "numbers", "Numbers", "console/numbers.html", numbers_data)

    return router
