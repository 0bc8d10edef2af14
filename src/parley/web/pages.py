"""The web client's pages: HTML shells rendered by Jinja2; all data flows through /client/v1 in the browser."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from parley.web.affiliate_pages import build_affiliate_router  # affiliates
from parley.web.console_pages import build_console_router
from parley.web.e2ee_pages import build_e2ee_router  # e2ee
from parley.web.inbox_pages import build_inbox_router
from parley.web.inbox_reports import build_reports_router

WEB_DIR = Path(__file__).resolve().parent
WEB_STATIC_DIR: Path = WEB_DIR / "static"
_TEMPLATES = Jinja2Templates(directory=WEB_DIR / "templates")

# The pages hold a bearer token in localStorage, so scripts may come from this origin only and no
# user-supplied markup is ever rendered (the scripts build the DOM with textContent). Media are shown
# from blob: URLs because /media/{id} needs the Authorization header.
_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",  # e2ee: the crypto library is WebAssembly
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
_PAGE_HEADERS = {
    "Content-Security-Policy": _CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _asset_version(static_dir: Path) -> str:
    """A short digest of the static files, appended to their URLs so browsers drop stale copies."""
    digest = hashlib.sha256()
    for path in sorted(static_dir.glob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def build_web_router() -> APIRouter:
    """Routes for the sign-in page (`/`) and the app page (`/app`); static files are mounted by the app."""
    router = APIRouter(include_in_schema=False)
    asset_version = _asset_version(WEB_STATIC_DIR)

    def render(request: Request, template: str, title: str) -> Response:
        context = {"title": title, "asset_version": asset_version}
        return _TEMPLATES.TemplateResponse(request, template, context, headers=_PAGE_HEADERS)

    @router.get("/", response_class=HTMLResponse)
    async def sign_in_page(request: Request) -> Response:
        return render(request, "sign_in.html", "Sign in · Parley")

    @router.get("/app", response_class=HTMLResponse)
    async def app_page(request: Request) -> Response:
        return render(request, "app.html", "Parley")

    @router.get("/subscriptions", response_class=HTMLResponse)  # subscriptions
    async def subscriptions_page(request: Request) -> Response:  # subscriptions
        return render(request, "subscriptions.html", "Your subscriptions · Parley")  # subscriptions

    @router.get("/channels", response_class=HTMLResponse)  # channels
    @router.get("/channels/c/{code}", response_class=HTMLResponse)  # channels: a channel link opens here
    async def channels_page(request: Request) -> Response:  # channels
        return render(request, "channels.html", "Channels · Parley")  # channels

    @router.get("/privacy", response_class=HTMLResponse)  # signals
    async def privacy_page(request: Request) -> Response:  # signals
        return render(request, "privacy.html", "Privacy and data use · Parley")  # signals

    @router.get("/join/{code}", include_in_schema=False)
    async def group_invite(code: str) -> Response:
        """A group's invite link, as people share it: the web client's join screen (a paid group shows its offer).
        The code travels in the fragment, so it is not sent again to the server or kept in its logs."""
        return RedirectResponse(f"/app#join={quote(code, safe='')}", status_code=303)

    router.include_router(build_inbox_router(_TEMPLATES, asset_version, _PAGE_HEADERS))
    router.include_router(build_reports_router(_TEMPLATES, asset_version, _PAGE_HEADERS))
    router.include_router(build_console_router(_TEMPLATES, asset_version, _PAGE_HEADERS))
    router.include_router(build_affiliate_router(_TEMPLATES, asset_version, _PAGE_HEADERS))  # affiliates
    router.include_router(build_e2ee_router())  # e2ee
    return router
