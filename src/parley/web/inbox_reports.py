"""The team inbox's reports page (charts) and its CSV."""

from __future__ import annotations

import math
from dataclasses import dataclass
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

_PAGE_HEADERS_EXTRA = {"Cache-Control": "no-store"}
_QUERY_KEYS = ("from", "to", "agent", "label")

# Chart geometry, in the SVG's own units (the CSS scales the picture to the page's width).
CHART_WIDTH = 720
CHART_HEIGHT = 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 84, 8, 12, 28
_MAX_X_LABELS = 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # the CSS class that colours it
    title: str  # shown on hover, read by screen readers


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class XLabel:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: float
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    x_labels: list[XLabel]


def _frame(days: list[DayReport], top_value: float, tick_label: Any) -> tuple[float, float, list[Tick], list[XLabel]]:
    """Slot width and vertical scale shared by the charts, with the y ticks and the day labels."""
    plot_height = CHART_HEIGHT - _TOP - _BOTTOM
    slot = (CHART_WIDTH - _LEFT - _RIGHT) / max(len(days), 1)
    scale = plot_height / top_value if top_value > 0 else 0.0
    ticks = [Tick(CHART_HEIGHT - _BOTTOM - f * plot_height, tick_label(f * top_value)) for f in (0, 0.5, 1)]
    every = max(math.ceil(len(days) / _MAX_X_LABELS), 1)
    x_labels = [
        XLabel(_LEFT + (i + 0.5) * slot, day.day.strftime("%d %b")) for i, day in enumerate(days) if i % every == 0
    ]
    return slot, scale, ticks, x_labels


def _bar(x: float, value: float, scale: float, width: float, kind: str, title: str) -> Bar:
    height = value * scale
    return Bar(round(x, 2), round(CHART_HEIGHT - _BOTTOM - height, 2), round(width, 2), round(height, 2), kind, title)


def volume_chart(days: list[DayReport]) -> Chart:
    """Conversations opened and resolved, side by side for each day."""
    top = max([d.tally.opened for d in days] + [d.tally.resolved for d in days] + [1])
    top = _nice_count(top)
    slot, scale, ticks, x_labels = _frame(days, top, lambda v: str(round(v)))
    width = slot * 0.36
    bars = []
    for i, day in enumerate(days):
        start = _LEFT + i * slot + slot * 0.14
        when = day.day.isoformat()
        bars.append(_bar(start, day.tally.opened, scale, width, "bar-opened", f"{when}: {day.tally.opened} opened"))
        bars.append(
            _bar(
                start + width,
                day.tally.resolved,
                scale,
                width,
                "bar-resolved",
                f"{when}: {day.tally.resolved} resolved",
            )
        )
    return Chart(CHART_WIDTH, CHART_HEIGHT, _LEFT, CHART_WIDTH - _RIGHT, CHART_HEIGHT - _BOTTOM, bars, ticks, x_labels)


def frt_chart(days: list[DayReport]) -> Chart:
    """First response time per day: the median, and the p90 behind it."""
    values = [d.tally.frt for d in days]
    top = max([v.p90_ms or 0 for v in values] + [1000])
    slot, scale, ticks, x_labels = _frame(days, top, lambda v: format_duration(int(v)))
    bars = []
    for i, (day, stats) in enumerate(zip(days, values, strict=True)):
        if stats.median_ms is None or stats.p90_ms is None:
            continue
        start = _LEFT + i * slot + slot * 0.2
        when = day.day.isoformat()
        p90_title = f"{when}: p90 {format_duration(stats.p90_ms)}"
        median_title = f"{when}: median {format_duration(stats.median_ms)}"
        bars.append(_bar(start, stats.p90_ms, scale, slot * 0.6, "bar-p90", p90_title))
        bars.append(_bar(start + slot * 0.15, stats.median_ms, scale, slot * 0.3, "bar-median", median_title))
    return Chart(CHART_WIDTH, CHART_HEIGHT, _LEFT, CHART_WIDTH - _RIGHT, CHART_HEIGHT - _BOTTOM, bars, ticks, x_labels)


def _nice_count(value: int) -> int:
    """The axis top: an even number at least `value`, so the middle tick is a whole number."""
    return value + value % 2


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
            container.business,
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
            report = await report_for(container.db, container.business, ctx.waba_id, container.clock.now_ms())
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
