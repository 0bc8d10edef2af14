"""The console's ads insights as CSV (`/inbox/console/ads/insights.csv`): one row per ad (or campaign, ad set,
the account) per day of the account's zone, for a spreadsheet. Owners and admins only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from parley.ads.insights import LEVELS, csv_text
from parley.console.access import ConsoleDep
from parley.http import ContainerDep
from parley.kit.errors import InvalidInputError, NotFoundError

router = APIRouter(tags=["business console"])

DateQuery = Annotated[str | None, Query(max_length=10)]


@router.get("/inbox/console/ads/insights.csv", summary="Ads insights per object per day, as CSV")
async def insights_csv(
    ctx: ConsoleDep,
    container: ContainerDep,
    since: DateQuery = None,
    until: DateQuery = None,
    campaign: Annotated[str | None, Query(max_length=20)] = None,
    level: Annotated[str, Query(max_length=10)] = "ad",
) -> Response:
    if level not in LEVELS:
        raise InvalidInputError(f"level must be one of {', '.join(LEVELS)}")
    report = await container.ad_insights.for_console(ctx.waba_id, since, until, campaign, level=level, daily=True)
    if report is None:
        raise NotFoundError("this business has no ad account yet")
    name = f"ads-insights-{report.query.since.isoformat()}-{report.query.until.isoformat()}.csv"
    return Response(
        csv_text(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
