"""The affiliate pages of the web client: `/r/{code}` (an affiliate link's landing: the click is recorded, then the
person goes on to the merchant's chat and shop) and `/earn` (a person's programs, links and commissions)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from parley.ads import ViewerIds
from parley.ads.viewers import VIEWER_COOKIE
from parley.affiliates import INVALID_LINK, InvalidLinkError
from parley.http import ContainerDep, client_address
from parley.kit.errors import RateLimitedError

_COOKIE_MAX_AGE = 400 * 86_400  # browsers cap cookies at 400 days


def _viewer(viewers: ViewerIds, request: Request) -> tuple[str, bool]:
    """The browser's viewer id from its signed cookie, or a new one (True: set the cookie)."""
    known = viewers.from_cookie(request.cookies.get(VIEWER_COOKIE))
    return (known, False) if known is not None else (viewers.anonymous(), True)


def build_affiliate_router(templates: Jinja2Templates, asset_version: str, headers: dict[str, str]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    no_store = {**headers, "Cache-Control": "no-store"}

    def refusal(request: Request, heading: str, message: str, status: int, extra: dict[str, str]) -> Response:
        context = {"asset_version": asset_version, "title": f"{heading} · Parley", "heading": heading}
        context["message"] = message
        return templates.TemplateResponse(
            request, "affiliate_invalid.html", context, status_code=status, headers={**no_store, **extra}
        )

    @router.get("/r/{code}", response_class=HTMLResponse)
    async def landing(code: str, request: Request, container: ContainerDep) -> Response:
        viewer, new = _viewer(container.ad_viewers, request)
        try:
            found = await container.affiliates.click(code[:64], viewer, client_address(request))
        except InvalidLinkError:
            return refusal(request, "This link is not valid", INVALID_LINK, 404, {})
        except RateLimitedError as error:
            return refusal(request, "Too many clicks", error.message, 429, {"Retry-After": str(error.retry_after_s)})
        context = {"asset_version": asset_version, "title": f"{found.merchant.name} · Parley", "landing": found}
        response = templates.TemplateResponse(request, "affiliate_landing.html", context, headers=no_store)
        if new:
            secure = container.settings.public_url.startswith("https://")
            cookie = container.ad_viewers.cookie_value(viewer)
            response.set_cookie(
                VIEWER_COOKIE, cookie, max_age=_COOKIE_MAX_AGE, httponly=True, samesite="lax", secure=secure
            )
        return response

    @router.get("/r/{code}/qr.svg")
    async def qr(code: str, container: ContainerDep) -> Response:
        try:
            svg = await container.affiliates.qr_svg(code)
        except InvalidLinkError:
            return Response(status_code=404, headers=no_store)
        return Response(svg, media_type="image/svg+xml", headers={**headers, "Cache-Control": "private, max-age=300"})

    @router.get("/earn", response_class=HTMLResponse)
    async def earn(request: Request) -> Response:
        context = {"title": "Earn · Parley", "asset_version": asset_version}
        return templates.TemplateResponse(request, "earn.html", context, headers=headers)

    return router
