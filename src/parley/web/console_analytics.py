"""The console's analytics page (`/inbox/console/analytics`): pricing and conversation analytics of a period as
stacked charts, each with the table of its numbers, a period picker and a CSV download."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from parley.console.analytics import period_asked
from parley.console.figures import PERIOD_DAYS, PRICING_TYPE_NAMES, analytics_for
from parley.http import ContainerDep
from parley.inbox import AgentContext
from parley.kit.errors import AppError
from parley.web.console_figures import breakdown_chart, page_helpers

if TYPE_CHECKING:
    from parley.web.console_pages import ConsolePages

_QUERY_KEYS = ("days", "from", "to", "granularity")


async def analytics_data(request: Request, container: Any, ctx: AgentContext) -> dict[str, Any]:
    asked = {key: request.query_params.get(key) for key in _QUERY_KEYS}
    profile = await container.billing.billing_profile(ctx.waba_id)
    context: dict[str, Any] = {
        "period_days": PERIOD_DAYS,
        "asked": {key: value or "" for key, value in asked.items()},
        "error": None,
        "found": None,
        **page_helpers(profile.currency, profile.timezone),
    }
    try:
        period = await period_asked(
            container, ctx.waba_id, asked["days"], asked["from"], asked["to"], asked["granularity"]
        )
    except AppError as error:
        context["error"] = error.message
        request.state.console_status = error.status  # the page still renders, with the message, as a 4xx
        return context
    found = await analytics_for(container, ctx.waba_id, period)
    query = {"days": "custom" if period.days is None else str(period.days), "granularity": period.granularity}
    if period.days is None:
        query.update({"from": period.first.isoformat(), "to": period.last.isoformat()})
    context.update(
        found=found,
        period=period,
        asked={
            "days": query["days"],
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "granularity": period.granularity,
        },
        csv_url="/inbox/api/console/analytics.csv?" + urlencode(query),
        cost_chart=breakdown_chart(found.cost, profile.currency),
        volume_chart=breakdown_chart(found.volume),
        market_chart=breakdown_chart(found.market_cost, profile.currency),
        conversation_chart=breakdown_chart(found.conversations),
        pricing_type_names=PRICING_TYPE_NAMES,
    )
    return context


def build_router(pages: ConsolePages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/inbox/console/analytics", response_class=HTMLResponse)
    async def analytics_page(request: Request, container: ContainerDep) -> Response:
        response = await pages.page(
            request, container, "analytics", "Analytics", "console/analytics.html", analytics_data
        )
        status = getattr(request.state, "console_status", None)
        if status is not None and response.status_code == 200:
            response.status_code = status
        return response

    return router
