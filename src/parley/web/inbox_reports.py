"""The team inbox's reports page (charts) and its CSV."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from parley.http import ContainerDep
from parley.inbox import SESSION_COOKIE, AgentContext
from parley.inbox.reports import DayReport, Report, format_duration, report_for
from parley.inbox.reports_endpoints import csv_response
from parley.kit.errors import AppError, UnauthenticatedError
from parley.web.charts import Chart, Series, bar_chart, whole_number_top

_PAGE_HEADERS_EXTRA = {"Cache-Control": "no-store"}
_QUERY_KEYS = ("from", "to", "agent", "label")


def _day_labels(days: list[DayReport]) -> list[str]:
    return [d.day.strftime("%d %b") for d in days]


def volume_chart(days: list[DayReport]) -> Chart:
    """Conversations opened and resolved, side by side for each day, on a whole-number axis."""
    series = [
        Series("Opened", "bar-opened", [d.tally.opened for d in days]),
        Series("Resolved", "bar-resolved", [d.tally.resolved for d in days]),
    ]
    return bar_chart(_day_labels(days), series, lambda v: f"{v:g}", stacked=False, axis_top=whole_number_top)


def frt_chart(days: list[DayReport]) -> Chart:
    """First response time per day: the median in front of the p90; the axis tops at the longest p90."""
    series = [
        Series("p90", "bar-p90", [d.tally.frt.p90_ms or 0 for d in days]),
        Series("Median", "bar-median", [d.tally.frt.median_ms or 0 for d in days]),
    ]
    return bar_chart(
        _day_labels(days),
        series,
        lambda v: format_duration(int(v)),
        stacked=False,
        overlay=True,
        axis_top=lambda peak: max(peak, 1000.0),
    )


def build_reports_router(templates: Jinja2Templates, asset_version: str, headers: dict[str, str]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    page_headers = {**headers, **_PAGE_HEADERS_EXTRA}

    async def signed_in(request: Request, container: Any) -> AgentContext | None:
        try:
            ctx: AgentContext = await container.inbox.session(request.cookies.get(SESSION_COOKIE))
        except UnauthenticatedError:
            return None
        return ctx

    def asked(request: Request) -> dict[str, str]:
        return {key: request.query_params.get(key, "") for key in _QUERY_KEYS}

    async def build(request: Request, container: Any, ctx: AgentContext) -> Report:
        query = asked(request)
        return await report_for(
            container.db,
            container.business_for_inbox,
            ctx.waba_id,
            container.clock.now_ms(),
            query["from"],
            query["to"],
            query["agent"],
            query["label"],
        )

    @router.get("/inbox/reports", response_class=HTMLResponse)
    async def reports_page(request: Request, container: ContainerDep) -> Response:
        ctx = await signed_in(request, container)
        if ctx is None:
            return RedirectResponse("/inbox/login", status_code=303)
        query = asked(request)
        context: dict[str, Any] = {
            "title": "Reports · Parley inbox",
            "asset_version": asset_version,
            "csrf_token": ctx.csrf_token,
            "is_admin": ctx.is_admin,
            "query": query,
            "error": None,
            "report": None,
        }
        status = 200
        try:
            report = await build(request, container, ctx)
        except AppError as exc:
            status, context["error"] = exc.status, exc.message
            # The form still offers this business's agents and labels, over the default range.
            report = await report_for(container.db, container.business_for_inbox, ctx.waba_id, container.clock.now_ms())
            context["options"] = report
        else:
            context.update(_page_context(report))
            context["options"] = report
        return templates.TemplateResponse(
            request, "inbox_reports.html", context, status_code=status, headers=page_headers
        )

    @router.get("/inbox/reports.csv")
    async def reports_csv(request: Request, container: ContainerDep) -> Response:
        ctx = await signed_in(request, container)
        if ctx is None:
            return RedirectResponse("/inbox/login", status_code=303)
        return csv_response(await build(request, container, ctx))

    return router


def _page_context(report: Report) -> dict[str, Any]:
    query = {
        "from": report.since_day.isoformat(),
        "to": report.until_day.isoformat(),
        "agent": "" if report.agent_id is None else str(report.agent_id),
        "label": "" if report.label_id is None else str(report.label_id),
    }
    return {
        "report": report,
        "query": query,
        "csv_url": "/inbox/reports.csv?" + urlencode({k: v for k, v in query.items() if v}),
        "volume_chart": volume_chart(report.days),
        "frt_chart": frt_chart(report.days),
        "fmt": format_duration,
    }
