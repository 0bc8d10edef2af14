"""The console's Affiliates page: the program form (rate, attribution window, refund window, terms, on/off), the
affiliates' links with clicks, purchases and commissions pending / paid / clawed back, and the totals
(console-affiliates.js posts the form to /inbox/api/console/affiliates)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from parley.http import ContainerDep
from parley.inbox import AgentContext

if TYPE_CHECKING:
    from parley.web.console_pages import ConsolePages


def build_router(pages: ConsolePages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def page_data(request: Request, container: Any, ctx: AgentContext) -> dict[str, Any]:
        overview = await container.affiliates.merchant_overview(ctx.waba_id)
        program = overview["program"]
        return {
            "program": program,
            "rate_percent": program["rate_percent"].removesuffix(".00") if program else "5",
            "links": overview["links"],
            "totals": overview["totals"],
        }

    @router.get("/inbox/console/affiliates", response_class=HTMLResponse)
    async def affiliates_page(request: Request, container: ContainerDep) -> Response:
        return await pages.page(request, container, "affiliates", "Affiliates", "console/affiliates.html", page_data)

    return router
