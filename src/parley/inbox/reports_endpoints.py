"""The team inbox's reports as JSON and CSV (`/inbox/api/reports`, `/inbox/api/reports.csv`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from parley.http import ContainerDep
from parley.inbox.endpoints import AgentDep
from parley.inbox.reports import Report, report_csv, report_for
from parley.inbox.service import AgentContext

router = APIRouter(prefix="/inbox/api", tags=["team inbox"])

FromQuery = Annotated[str | None, Query(alias="from", description="first day, YYYY-MM-DD")]
ToQuery = Annotated[str | None, Query(alias="to", description="last day, YYYY-MM-DD")]
AgentQuery = Annotated[str | None, Query(alias="agent", description="only this agent")]
LabelQuery = Annotated[str | None, Query(alias="label", description="only this label")]


async def _report(
    ctx: AgentContext,
    container: ContainerDep,
    since: str | None,
    until: str | None,
    agent: str | None,
    label: str | None,
) -> Report:
    return await report_for(
        container.db, container.business_for_inbox, ctx.waba_id, container.clock.now_ms(), since, until, agent, label
    )


@router.get("/reports")
async def reports(
    ctx: AgentDep,
    container: ContainerDep,
    since: FromQuery = None,
    until: ToQuery = None,
    agent: AgentQuery = None,
    label: LabelQuery = None,
) -> dict[str, Any]:
    return (await _report(ctx, container, since, until, agent, label)).as_json()


@router.get("/reports.csv", response_class=Response)
async def reports_csv(
    ctx: AgentDep,
    container: ContainerDep,
    since: FromQuery = None,
    until: ToQuery = None,
    agent: AgentQuery = None,
    label: LabelQuery = None,
) -> Response:
    report = await _report(ctx, container, since, until, agent, label)
    return csv_response(report)


def csv_response(report: Report) -> Response:
    filename = f"inbox-report-{report.since_day.isoformat()}-{report.until_day.isoformat()}.csv"
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
