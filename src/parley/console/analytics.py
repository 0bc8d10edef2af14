"""The console's analytics: pricing and conversation analytics for a period, as JSON and as CSV
(`GET /inbox/api/console/analytics`, `…/analytics.csv`), from the billing service's Graph analytics."""

from __future__ import annotations

import csv
import datetime
import io
import zoneinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from parley.console.access import ConsoleDep
from parley.console.figures import Analytics, Period, analytics_for, analytics_json, micros_of, parse_period
from parley.http import ContainerDep
from parley.kit.money import format_amount
from parley.kit.spreadsheet import safe_cell

router = APIRouter(prefix="/inbox/api/console/analytics", tags=["business console"])

PeriodDays = Annotated[str | None, Query(max_length=16, description="7, 30, 90 or custom")]
FirstDay = Annotated[str | None, Query(alias="from", max_length=32, description="YYYY-MM-DD, the business's zone")]
LastDay = Annotated[str | None, Query(alias="to", max_length=32, description="YYYY-MM-DD, included")]
Granularity = Annotated[str | None, Query(max_length=16, description="DAILY or MONTHLY")]


async def period_asked(
    container: Any, waba_id: int, days: str | None, first: str | None, last: str | None, granularity: str | None
) -> Period:
    timezone = (await container.billing.billing_profile(waba_id)).timezone
    return parse_period(
        days=days, first=first, last=last, granularity=granularity, timezone=timezone, now_ms=container.clock.now_ms()
    )


async def _period(
    ctx: ConsoleDep,
    container: ContainerDep,
    days: PeriodDays = None,
    first: FirstDay = None,
    last: LastDay = None,
    granularity: Granularity = None,
) -> Period:
    return await period_asked(container, ctx.waba_id, days, first, last, granularity)


PeriodDep = Annotated[Period, Depends(_period)]


@router.get("", summary="Pricing and conversation analytics of a period, as the Graph API answers them")
async def analytics(ctx: ConsoleDep, container: ContainerDep, period: PeriodDep) -> dict[str, Any]:
    return analytics_json(await analytics_for(container, ctx.waba_id, period))


@router.get(".csv", summary="The same analytics as a CSV file", response_class=Response)
async def analytics_csv(ctx: ConsoleDep, container: ContainerDep, period: PeriodDep) -> Response:
    found = await analytics_for(container, ctx.waba_id, period)
    filename = f"analytics-{period.first.isoformat()}-{period.last.isoformat()}-{period.granularity.lower()}.csv"
    return Response(
        analytics_csv_text(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def analytics_csv_text(found: Analytics) -> str:
    """One line per Graph data point: pricing (messages) and conversation analytics, buckets as local dates."""
    zone = zoneinfo.ZoneInfo(found.period.timezone)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["analytics", "from", "to", "category", "type", "direction", "country", "count", "cost", "currency"]
    )

    def day(unix: int) -> str:
        return datetime.datetime.fromtimestamp(unix, zone).date().isoformat()

    # (name, points, category, type, direction, count) of each of Graph's two analytics fields
    fields = (
        ("pricing", found.pricing_points, "pricing_category", "pricing_type", None, "volume"),
        (
            "conversation",
            found.conversation_points,
            "conversation_category",
            "conversation_type",
            "conversation_direction",
            "conversation",
        ),
    )
    for name, points, category, kind, direction, count in fields:
        for p in points:
            writer.writerow(
                [
                    name,
                    day(p["start"]),
                    day(p["end"] - 1),
                    *(safe_cell(str(p.get(key, ""))) if key else "" for key in (category, kind, direction, "country")),
                    p.get(count, 0),
                    format_amount(micros_of(p.get("cost", 0))),
                    found.currency,
                ]
            )
    return out.getvalue()
