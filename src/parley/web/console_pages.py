"""The business console's pages under `/inbox/console/…`: server-rendered shells (SVG charts drawn here),
each enhanced by a module of its own in static/ for what changes without a reload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from parley.http import ContainerDep
from parley.inbox import SESSION_COOKIE, AgentContext
from parley.kit.errors import UnauthenticatedError
from parley.web import (
    console_ads,  # ads
    console_ads_insights,  # ads-attrib
    console_affiliates,  # affiliates
    console_analytics,
    console_billing,
    console_developers,
    console_numbers,
    console_payments,
    console_templates,
)
from parley.web.console_overview import overview_data

_PAGE_HEADERS_EXTRA = {"Cache-Control": "no-store"}

# (section, path, label) in the order of the console's navigation.
SECTIONS: list[tuple[str, str, str]] = [
    ("overview", "/inbox/console", "Overview"),
    ("numbers", "/inbox/console/numbers", "Numbers"),
    ("templates", "/inbox/console/templates", "Templates"),
    ("billing", "/inbox/console/billing", "Billing"),
    ("payments", "/inbox/console/payments", "Payments"),
    ("developers", "/inbox/console/developers", "Developers"),
    ("analytics", "/inbox/console/analytics", "Analytics"),
    ("ads", "/inbox/console/ads", "Ads"),  # ads
    ("affiliates", "/inbox/console/affiliates", "Affiliates"),  # affiliates
]

# What a console page computes for its template: (request, container, signed-in admin) -> context.
PageData = Callable[[Request, Any, AgentContext], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class ConsolePages:
    """Renders console pages: signed out goes to sign-in, an agent gets the 403 page, an admin the page."""

    templates: Jinja2Templates
    asset_version: str
    headers: dict[str, str]

    async def signed_in(self, request: Request, container: Any) -> AgentContext | None:
        try:
            ctx: AgentContext = await container.inbox.session(request.cookies.get(SESSION_COOKIE))
        except UnauthenticatedError:
            return None
        return ctx

    async def page(
        self, request: Request, container: Any, section: str, title: str, template: str, data: PageData
    ) -> Response:
        ctx = await self.signed_in(request, container)
        if ctx is None:
            return RedirectResponse("/inbox/login", status_code=303)
        base = {
            "title": f"{title} · Parley console",
            "asset_version": self.asset_version,
            "csrf_token": ctx.csrf_token,
            "sections": SECTIONS,
            "section": section,
            "me": ctx,
        }
        headers = {**self.headers, **_PAGE_HEADERS_EXTRA}
        if not ctx.is_admin:
            return self.templates.TemplateResponse(
                request, "console/forbidden.html", base, status_code=403, headers=headers
            )
        context = {**base, **await data(request, container, ctx)}
        return self.templates.TemplateResponse(request, template, context, headers=headers)


async def _no_data(request: Request, container: Any, ctx: AgentContext) -> dict[str, Any]:
    return {}


def build_console_router(templates: Jinja2Templates, asset_version: str, headers: dict[str, str]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    pages = ConsolePages(templates, asset_version, headers)

    @router.get("/inbox/console", response_class=HTMLResponse)
    async def overview(request: Request, container: ContainerDep) -> Response:
        return await pages.page(request, container, "overview", "Overview", "console/overview.html", overview_data)

    # Each area registers its page(s) here: `router.include_router(<area>.build_router(pages))`.
    router.include_router(console_numbers.build_router(pages))
    router.include_router(console_analytics.build_router(pages))
    router.include_router(console_developers.build_router(pages))
    router.include_router(console_templates.build_router(pages))
    router.include_router(console_billing.build_router(pages))
    router.include_router(console_payments.build_router(pages))
    router.include_router(console_ads.build_router(pages))  # ads
    router.include_router(console_ads_insights.build_router(pages))  # ads-attrib
    router.include_router(console_affiliates.build_router(pages))  # affiliates
    return router
