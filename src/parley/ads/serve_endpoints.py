"""Ad slots on publishers' pages: `GET /ads/v1/slot` (JSON, CORS open; served ahead of FastAPI by `lean_slot`,
declared here for /openapi.json), `GET /ads/frame` (the ad card the embed script puts in an iframe), the click
`GET /ads/click/{token}`, `POST /client/v1/ads/viewer` (a signed-in person's viewer cookie) and the demo
publisher `GET /demo/feed`."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Protocol
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.types import Receive, Scope, Send

from parley.ads.viewers import VIEWER_COOKIE
from parley.http import ContainerDep, PrincipalDep
from parley.kit.errors import AppError

if TYPE_CHECKING:
    from parley.ads.clicks import AdClicks
    from parley.ads.server import AdServer, Served
    from parley.ads.viewers import ViewerIds
    from parley.config import Settings

SLOT_PATH = "/ads/v1/slot"
_PLACEMENT = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_LOCALE = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2}|[0-9]{3}))?$")
_MARKET = re.compile(r"^[A-Za-z]{2}$")
_COOKIE_MAX_AGE = 365 * 86400


class SlotServices(Protocol):
    """What a slot needs of the app's services (the container has them)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def ad_server(self) -> AdServer: ...
    @property
    def ad_clicks(self) -> AdClicks: ...
    @property
    def ad_viewers(self) -> ViewerIds: ...


class SlotError(AppError):
    status = 400
    code = "invalid_request"


def _slot_args(params: dict[str, str]) -> tuple[str, str, str]:
    """(placement, market, language) of a slot request; SlotError says what is wrong."""
    placement = params.get("placement", "")
    if not _PLACEMENT.match(placement):
        raise SlotError("placement is required: 1 to 64 letters, digits, '_', '-' or '.'")
    locale = params.get("locale", "") or "en"
    match = _LOCALE.match(locale)
    if match is None:
        raise SlotError("locale must look like 'pt-BR' or 'en'")
    market = params.get("market", "") or (match.group(2) or "")
    if market and not _MARKET.match(market):
        raise SlotError("market must be a two-letter country code such as 'BR'")
    return placement, market.upper(), match.group(1).lower()


def _viewer_of(services: SlotServices, cookie_header: str) -> tuple[str, bool]:
    """The viewer the signed cookie names, or a new anonymous one (True: the cookie must be set)."""
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == VIEWER_COOKIE:
            viewer = services.ad_viewers.from_cookie(value)
            if viewer is not None:
                return viewer, False
    return services.ad_viewers.anonymous(), True


def viewer_cookie(services: SlotServices, viewer: str) -> str:
    """Set-Cookie for the viewer: SameSite=None; Secure on https (any publisher's page may show the slot). On
    plain http browsers refuse SameSite=None without Secure, so it is Lax there (development and the demo, where
    the frame is first-party anyway)."""
    value = services.ad_viewers.cookie_value(viewer)
    secure = services.settings.public_url.startswith("https://")
    same_site = "SameSite=None; Secure" if secure else "SameSite=Lax"
    return f"{VIEWER_COOKIE}={value}; Path=/; Max-Age={_COOKIE_MAX_AGE}; HttpOnly; {same_site}"


def fill_slot(
    services: SlotServices, params: dict[str, str], cookie_header: str
) -> tuple[Served | None, str, str | None]:
    """Run the slot's auction: (what was served or None, the viewer, the Set-Cookie header if a new one)."""
    placement, market, language = _slot_args(params)
    viewer, new = _viewer_of(services, cookie_header)
    served = services.ad_server.serve(placement, market, language, viewer)
    return served, viewer, viewer_cookie(services, viewer) if new else None


def ad_json(services: SlotServices, served: Served, viewer: str, *, absolute: bool) -> dict[str, Any]:
    ad = served.ad
    public = services.settings.public_url.rstrip("/") if absolute else ""
    click = services.ad_clicks.click_url(served.impression_id, ad.ad_id, ad.ad_set_id, viewer, served.price)
    body: dict[str, Any] = {
        "id": str(ad.ad_id),
        "headline": ad.headline,
        "body": ad.body,
        "media_type": ad.media_type,
        "call_to_action": ad.call_to_action,
        "click_url": public + click,
        "sponsored": True,
        "why": served.matched,
    }
    if ad.media_type == "image":
        body["image_url"] = f"{public}/ads/v1/creatives/{ad.ad_id}/media"
    elif ad.media_type == "video":
        body["video_url"] = f"{public}/ads/v1/creatives/{ad.ad_id}/media"
    return body


def _cors(origin: str | None) -> list[tuple[bytes, bytes]]:
    """Any site may call the slot; with the viewer cookie, so the caller's origin is echoed with credentials."""
    if not origin:
        return [(b"access-control-allow-origin", b"*")]
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"vary", b"Origin"),
    ]


async def slot_answer(
    services: SlotServices, query: str, cookie_header: str, origin: str | None
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"), *_cors(origin)]
    params = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    try:
        served, viewer, cookie = fill_slot(services, params, cookie_header)
    except SlotError as error:
        return 400, orjson.dumps({"error": {"code": error.code, "message": error.message}}), headers
    if cookie is not None:
        headers.append((b"set-cookie", cookie.encode("latin-1")))
    if served is None:
        return 200, b'{"ad":null}', headers
    payload = {"ad": ad_json(services, served, viewer, absolute=True), "impression_id": str(served.impression_id)}
    return 200, orjson.dumps(payload), headers


ASGICall = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_slot_request(scope: Scope) -> bool:
    return scope["path"] == SLOT_PATH and scope["method"] in ("GET", "OPTIONS")


async def lean_slot(services: SlotServices, scope: Scope, receive: Receive, send: Send) -> None:
    """`GET /ads/v1/slot` without FastAPI's routing and dependency solving (a slot is a lookup in memory)."""
    cookie, origin = "", None
    for name, value in scope["headers"]:
        if name == b"cookie":
            cookie = value.decode("latin-1")
        elif name == b"origin":
            origin = value.decode("latin-1")
    if scope["method"] == "OPTIONS":
        headers = [
            *_cors(origin),
            (b"access-control-allow-methods", b"GET, OPTIONS"),
            (b"access-control-max-age", b"86400"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    status, body, headers = await slot_answer(
        services, scope.get("query_string", b"").decode("latin-1"), cookie, origin
    )
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


router = APIRouter(tags=["ads"])


@router.get(
    SLOT_PATH,
    summary="Fill an ad slot on a publisher's page (any origin; the viewer is the signed parley_viewer cookie)",
)
async def slot(
    request: Request,
    container: ContainerDep,
    placement: Annotated[str, Query(description="the publisher's slot name")],
    locale: Annotated[str, Query(description="the reader's language, e.g. pt-BR")] = "en",
    market: Annotated[str | None, Query(description="two-letter market; default: the locale's region")] = None,
) -> Response:
    """`{"ad": {id, headline, body, media_type, image_url|video_url, call_to_action, click_url, sponsored, why},
    "impression_id"}`, or `{"ad": null}` when nothing is eligible. Served ahead of FastAPI in production."""
    status, body, headers = await slot_answer(
        container, request.url.query, request.headers.get("cookie", ""), request.headers.get("origin")
    )
    response = Response(body, status_code=status)
    for name, value in headers:
        response.headers.append(name.decode(), value.decode("latin-1"))
    return response


@router.post("/client/v1/ads/viewer", status_code=204, summary="Make this browser's ad viewer the signed-in person")
async def adopt_viewer(me: PrincipalDep, container: ContainerDep) -> Response:
    """So the ads this browser is shown can be attributed to the person's later conversation."""
    response = Response(status_code=204)
    response.headers["set-cookie"] = viewer_cookie(container, container.ad_viewers.of_person(me.user_id))
    return response


@router.get("/ads/click/{token}", summary="Follow an ad: record the click and open the chat", response_model=None)
async def click(request: Request, container: ContainerDep, token: Annotated[str, Path(max_length=400)]) -> Response:
    try:
        result = await container.ad_clicks.click(token)
    except AppError as error:
        if "text/html" in request.headers.get("accept", ""):
            page = _page("Ad link not valid", f"<h1>This ad link does not work</h1><p>{html.escape(error.message)}</p>")
            return HTMLResponse(page, status_code=error.status)
        return JSONResponse({"error": {"code": error.code, "message": error.message}}, status_code=error.status)
    return RedirectResponse(result.target, status_code=302)


_FRAME_CSP = (
    "default-src 'none'; script-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors *; base-uri 'none'; form-action 'none'"
)


@router.get("/ads/frame", include_in_schema=False)
async def frame(request: Request, container: ContainerDep) -> Response:
    """The ad card shown inside a publisher's page (first-party to Parley, so the viewer cookie is ours)."""
    params = dict(request.query_params)
    try:
        served, viewer, cookie = fill_slot(container, params, request.headers.get("cookie", ""))
    except SlotError as error:
        return HTMLResponse(_page("Ad", f"<p>{html.escape(error.message)}</p>"), status_code=400)
    if served is None:
        body = '<p class="empty">No ad to show.</p>'
    else:
        body = _card(ad_json(container, served, viewer, absolute=False))
    response = HTMLResponse(_page("Sponsored", body, frame=True))
    response.headers["content-security-policy"] = _FRAME_CSP
    response.headers["cache-control"] = "no-store"
    if cookie is not None:
        response.headers["set-cookie"] = cookie
    return response


def _why(why: dict[str, Any]) -> str:
    parts = []
    if "market" in why:
        parts.append(f"you are in {why['market']}")
    if "language" in why:
        parts.append(f"you read {why['language']}")
    if "interests" in why:
        parts.append("you chose to see ads about " + ", ".join(why["interests"]))
    if not parts:
        return "This ad is shown to everyone; it is not based on anything about you."
    return "The advertiser chose people where " + "; ".join(parts) + "."


def _card(ad: dict[str, Any]) -> str:
    e = html.escape
    media = ""
    if ad.get("image_url"):
        media = f'<img class="media" src="{e(ad["image_url"])}" alt="">'
    elif ad.get("video_url"):
        media = f'<video class="media" src="{e(ad["video_url"])}" muted playsinline controls></video>'
    return f"""<article class="ad" aria-label="Sponsored: {e(ad["headline"])}">
<p class="sponsored">Sponsored</p>{media}
<h2>{e(ad["headline"])}</h2>
<p class="body">{e(ad["body"])}</p>
<a class="cta" href="{e(ad["click_url"])}" target="_top" rel="noopener">Send message</a>
<details><summary>Why am I seeing this?</summary><p>{e(_why(ad["why"]))}</p></details>
</article>"""


_FRAME_STYLE = """
*{box-sizing:border-box}body{margin:0;font:15px/1.4 system-ui,sans-serif;color:#1b1f24;background:#fff}
.ad{border:1px solid #d0d7de;border-radius:12px;padding:12px;max-width:640px}
.sponsored{margin:0 0 6px;font-size:12px;color:#4a5560}.media{display:block;width:100%;max-height:220px;
object-fit:cover;border-radius:8px}h2{font-size:17px;margin:8px 0 4px}.body{margin:0 0 10px}
.cta{display:inline-block;background:#0b6e4f;color:#fff;text-decoration:none;padding:9px 16px;border-radius:20px;
font-weight:600}.cta:focus-visible{outline:3px solid #1f6feb;outline-offset:2px}details{margin-top:8px;
font-size:13px;color:#4a5560}.empty{color:#4a5560;font-size:13px}
"""

_FEED_STYLE = """
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1b1f24;background:#f3f4f6}
header{background:#0b6e4f;color:#fff;padding:12px 16px}header h1{margin:0;font-size:20px}
main{max-width:640px;margin:0 auto;padding:12px}.post{background:#fff;border-radius:12px;padding:12px 16px;
margin:0 0 12px;border:1px solid #d0d7de}.post h2{font-size:16px;margin:0 0 4px}.post p{margin:0}
.author{color:#4a5560;font-size:13px}.slot{margin:0 0 12px}.slot iframe{display:block;width:100%;height:300px;
border:0;border-radius:12px;background:#fff}
"""


def _page(title: str, body: str, *, frame: bool = False, style: str = "") -> str:
    css = _FRAME_STYLE if frame else (style or _FRAME_STYLE)
    script = '<script src="/static/ads-frame.js"></script>' if frame else ""  # sizes the slot to the card
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
        f"<style>{css}</style></head><body>{body}{script}</body></html>"
    )


_POSTS = [
    ("Marina", "Sunday market", "The fig stall is back. Get there before ten, they sell out fast."),
    ("João", "Trail report", "Pico do Jaraguá is muddy after the rain but the view is worth it."),
    ("Ana", "Book club", "Next month we read 'A Hora da Estrela'. Bring snacks!"),
    ("Lucas", "Lost and found", "Found a blue umbrella at the bus stop on Rua Augusta. Message me."),
]


@router.get("/demo/feed", include_in_schema=False)
async def demo_feed() -> HTMLResponse:
    """A small publisher: a social feed with an ad slot between posts, filled by the embed script."""
    e = html.escape
    posts = [
        f'<article class="post"><h2>{e(t)}</h2><p class="author">{e(a)}</p><p>{e(b)}</p></article>'
        for a, t, b in _POSTS
    ]
    slot = '<div class="slot"><script src="/static/ads-embed.js" data-placement="feed-1" async></script></div>'
    body = (
        '<header><h1>Vizinhança — a neighbourhood feed</h1></header><main aria-label="Feed">'
        + "".join(posts[:2])
        + slot
        + "".join(posts[2:])
        + "</main>"
    )
    return HTMLResponse(_page("Vizinhança · demo feed", body, style=_FEED_STYLE))


__all__ = ["SLOT_PATH", "is_slot_request", "lean_slot", "router"]
