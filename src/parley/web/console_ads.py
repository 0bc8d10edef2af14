"""The console's Ads page: the business's campaigns (objective, status, review verdict with its reason, budget and
today's spend, a link to the campaign's insights), pause and resume, and a "New campaign" form that creates the
campaign, its ad set and its ad in one go (console-ads.js posts to /inbox/api/console/ads)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from parley.ads import SEGMENTS
from parley.http import ContainerDep
from parley.inbox import AgentContext
from parley.kit.money import format_amount, minor_units

if TYPE_CHECKING:
    from parley.web.console_pages import ConsolePages

_OBJECTIVES = [
    ("OUTCOME_ENGAGEMENT", "Conversations (engagement)"),
    ("OUTCOME_LEADS", "Leads"),
    ("OUTCOME_SALES", "Sales"),
    ("OUTCOME_TRAFFIC", "Traffic"),
]
_STRATEGIES = [
    ("LOWEST_COST_WITHOUT_CAP", "Automatic (lowest cost)"),
    ("COST_CAP", "Cost cap"),
    ("LOWEST_COST_WITH_BID_CAP", "Bid cap"),
]
_EFFECTIVE_WORDS = {
    "ACTIVE": "Active",
    "PAUSED": "Paused",
    "CAMPAIGN_PAUSED": "Paused",
    "ADSET_PAUSED": "Ad set paused",
    "PENDING_REVIEW": "In review",
    "DISAPPROVED": "Not approved",
    "ARCHIVED": "Archived",
}


def _money(micros: int, currency: str) -> str:
    return format_amount(micros, minor_units(currency))


def build_router(pages: ConsolePages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def page_data(request: Request, container: Any, ctx: AgentContext) -> dict[str, Any]:
        overview = await container.ads.overview(ctx.waba_id)
        account = overview["account"]
        currency = account["currency"] if account is not None else ""
        if not currency:
            currency = (await container.billing.billing_profile(ctx.waba_id)).currency
        campaigns = []
        for c in overview["campaigns"]:
            ad = c["ads"][0] if c["ads"] else None
            effective = (
                ad["effective_status"] if ad is not None else ("ACTIVE" if c["status"] == "ACTIVE" else "PAUSED")
            )
            campaigns.append(
                {
                    "id": str(c["id"]),
                    "name": c["name"],
                    "objective": dict(_OBJECTIVES).get(c["objective"], c["objective"]),
                    "status": c["status"],
                    "effective": _EFFECTIVE_WORDS.get(effective, effective.title()),
                    "review": ad["review_status"] if ad is not None else "",
                    "review_reason": (ad["review_reason"] or "") if ad is not None else "",
                    "budget": _money(c["daily_budget"], currency) if c["daily_budget"] else "",
                    "lifetime": _money(c["lifetime_budget"], currency) if c["lifetime_budget"] else "",
                    "spent_today": _money(c["spent_today"], currency),
                }
            )
        return {
            "campaigns": campaigns,
            "currency": currency,
            "objectives": _OBJECTIVES,
            "strategies": _STRATEGIES,
            "segments": list(SEGMENTS.items()),
        }

    @router.get("/inbox/console/ads", response_class=HTMLResponse)
    async def ads_page(request: Request, container: ContainerDep) -> Response:
        return await pages.page(request, container, "ads", "Ads", "console/ads.html", page_data)

    return router
