"""The console's ads insights page (`/inbox/console/ads/insights`): the funnel from impressions to purchases,
what it cost and earned (spend, revenue, ROAS), per-day charts, a per-ad table, a date range and the CSV."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from parley.ads.insights import InsightRow, money, ratio
from parley.console.figures import money as labelled_money
from parley.http import ContainerDep
from parley.inbox import AgentContext
from parley.kit.errors import AppError
from parley.kit.money import divide_half_up
from parley.signals import SUPPRESSED, k_anonymous  # signals
from parley.web.charts import Series, bar_chart, nice_top, whole_number_top

if TYPE_CHECKING:
    from parley.web.console_pages import ConsolePages


def _days(since: date, until: date) -> list[date]:
    return [since + timedelta(days=i) for i in range((until - since).days + 1)]


def _ad_view(row: InsightRow) -> dict[str, Any]:
    t, cur = row.totals, row.currency
    return {
        "id": str(row.id),
        "name": row.name,
        "impressions": f"{t.impressions:,}",
        "reach": SUPPRESSED if k_anonymous(t.reach) is None else f"{t.reach:,}",  # signals: people, k-anonymous
        "clicks": f"{t.clicks:,}",
        "ctr": ratio(t.clicks * 100, t.impressions, 2) + "%",
        "spend": money(t.spend, cur),
        "conversations": f"{row.conversations:,}",
        "cost_per_conversation": money(divide_half_up(t.spend, row.conversations), cur) if row.conversations else "–",
        "purchases": f"{row.purchases:,}",
        "revenue": money(row.revenue, cur),
        "roas": ratio(row.revenue, t.spend, 2) if t.spend else "–",
    }


async def insights_data(request: Request, container: Any, ctx: AgentContext) -> dict[str, Any]:
    asked = {k: request.query_params.get(k) or "" for k in ("since", "until", "campaign")}
    context: dict[str, Any] = {"asked": asked, "error": None, "report": None, "no_account": False}
    try:
        per_ad = await container.ad_insights.for_console(
            ctx.waba_id, asked["since"], asked["until"], asked["campaign"], level="ad"
        )
        if per_ad is None:
            context["no_account"] = True
            return context
        level = "campaign" if asked["campaign"] else "account"
        daily = await container.ad_insights.for_console(
            ctx.waba_id, asked["since"], asked["until"], asked["campaign"], level=level, daily=True
        )
    except AppError as error:
        context["error"] = error.message
        request.state.console_status = error.status  # the page still renders, with the message, as a 4xx
        return context
    query, cur = per_ad.query, per_ad.account.currency
    ads = per_ad.rows
    impressions = sum(r.totals.impressions for r in ads)
    clicks = sum(r.totals.clicks for r in ads)
    spend = sum(r.totals.spend for r in ads)
    revenue = sum(r.revenue for r in ads)
    days = _days(query.since, query.until)
    by_day = {r.date_start: r for r in daily.rows}

    def column(pick: Any) -> list[float]:
        return [float(pick(by_day[d])) if d in by_day else 0.0 for d in days]

    labels = [d.strftime("%d %b") for d in days]
    money_chart = bar_chart(
        labels,
        [
            Series("Spend", "bar-ads-spend", column(lambda r: r.totals.spend)),
            Series("Revenue", "bar-ads-revenue", column(lambda r: r.revenue)),
        ],
        lambda v: labelled_money(round(v), cur),
        stacked=False,
        axis_top=nice_top,
    )
    funnel_chart = bar_chart(
        labels,
        [
            Series("Clicks", "bar-ads-clicks", column(lambda r: r.totals.clicks)),
            Series("Conversations", "bar-ads-conversations", column(lambda r: r.conversations)),
            Series("Purchases", "bar-ads-purchases", column(lambda r: r.purchases)),
        ],
        lambda v: f"{v:,.0f}",
        stacked=False,
        axis_top=whole_number_top,
    )
    csv_query = {"since": query.since.isoformat(), "until": query.until.isoformat()}
    if asked["campaign"]:
        csv_query["campaign"] = asked["campaign"]
    context.update(
        report=per_ad,
        asked={**asked, "since": query.since.isoformat(), "until": query.until.isoformat()},
        currency=cur,
        timezone=per_ad.account.timezone,
        funnel=[
            ("impressions", "Impressions", f"{impressions:,}"),
            ("clicks", "Clicks", f"{clicks:,}"),
            ("conversations", "Conversations", f"{sum(r.conversations for r in ads):,}"),
            ("purchases", "Purchases", f"{sum(r.purchases for r in ads):,}"),
        ],
        spend=money(spend, cur),
        revenue=money(revenue, cur),
        roas=ratio(revenue, spend, 2) if spend else "–",
        ctr=ratio(clicks * 100, impressions, 2) + "%",
        money_chart=money_chart,
        funnel_chart=funnel_chart,
        ads=[_ad_view(r) for r in ads],
        campaign_name=await _campaign_name(container, per_ad.account.id, asked["campaign"]),
        csv_url="/inbox/console/ads/insights.csv?" + urlencode(csv_query),
    )
    return context


async def _campaign_name(container: Any, account_id: int, campaign: str) -> str:
    if not campaign:
        return ""
    names = await container.ad_insights.names(account_id)
    return str(next((name for i, name in names.campaigns.items() if str(i) == campaign), ""))


def build_router(pages: ConsolePages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/inbox/console/ads/insights", response_class=HTMLResponse)
    async def ads_insights_page(request: Request, container: ContainerDep) -> Response:
        response = await pages.page(
            request, container, "ads", "Ads insights", "console/ads_insights.html", insights_data
        )
        status = getattr(request.state, "console_status", None)
        if status is not None and response.status_code == 200:
            response.status_code = status
        return response

    return router
