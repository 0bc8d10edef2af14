"""create_app(settings) -> the one ASGI application; its lifespan builds and closes the Container."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley import __version__
from parley.accounts import endpoints as account_endpoints
from parley.admission import RequestAdmission, overloaded_graph_error
from parley.ads import capi_endpoints as ads_capi_endpoints  # ads-attrib
from parley.ads import client_endpoints as ads_client_endpoints  # ads
from parley.ads import endpoints as ads_endpoints  # ads
from parley.ads import insights_endpoints as ads_insights_endpoints  # ads-attrib
from parley.ads import serve_endpoints as ads_serve_endpoints  # ads-serve
from parley.ads.serve_endpoints import is_slot_request, lean_slot  # ads-serve
from parley.affiliates import endpoints as affiliate_endpoints  # affiliates
from parley.api_docs import add_offline_docs
from parley.billing import endpoints as billing_endpoints
from parley.business import contacts_endpoints, profile_endpoints, qr_endpoints
from parley.business import endpoints as business_endpoints
from parley.business import media_endpoints as graph_media_endpoints
from parley.business.lean import LeanCloudSend, send_route_number
from parley.channels import endpoints as channel_endpoints  # channels
from parley.commerce import cart_endpoints  # cart
from parley.commerce import endpoints as commerce_endpoints
from parley.config import Settings
from parley.console import routers as console_routers
from parley.container import Container, build_container
from parley.e2ee import endpoints as e2ee_endpoints  # e2ee
from parley.graph import GraphError, graph_error_body, is_graph_path
from parley.inbox import commerce_endpoints as inbox_commerce_endpoints
from parley.inbox import contacts_endpoints as inbox_contacts_endpoints
from parley.inbox import endpoints as inbox_endpoints
from parley.inbox import links_endpoints as inbox_links_endpoints
from parley.inbox import reports_endpoints as inbox_reports_endpoints
from parley.kit.clock import Clock
from parley.kit.errors import AppError
from parley.media import endpoints as media_endpoints
from parley.messaging import endpoints as messaging_endpoints
from parley.messaging import lean as person_send
from parley.payments import merchant_endpoints, pay_endpoints
from parley.privacy import endpoints as privacy_endpoints
from parley.rights import endpoints as rights_endpoints  # rights
from parley.signals import endpoints as signal_endpoints  # signals
from parley.subscriptions import endpoints as subscription_endpoints  # subscriptions
from parley.templates import endpoints as template_endpoints
from parley.webhooks import endpoints as webhook_endpoints

log = logging.getLogger("parley")
GRAPH_MAX_UPLOAD = 100 * 1024 * 1024

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


def _graph_error(exc: GraphError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else None
    return JSONResponse(graph_error_body(exc), status_code=exc.http_status, headers=headers)


def _graph_failure(exc: Exception) -> JSONResponse:
    """A Graph route's answer to an exception, as the handlers below give it (the lean routes use it too)."""
    if isinstance(exc, GraphError):
        return _graph_error(exc)
    if isinstance(exc, AppError):
        error = _as_graph_error(exc.status, exc.message)
        error.retry_after_s = exc.details.get("retry_after")
        return _graph_error(error)
    log.error("unexpected error", exc_info=exc)
    return _graph_error(GraphError(131000, "something went wrong on our side"))


def _as_graph_error(status: int, message: str) -> GraphError:
    """A shared-layer refusal (body too large, unknown route, ...) in Meta's terms."""
    if status == 401:
        return GraphError(190, message)
    if status == 403:
        return GraphError(200, message)
    if status == 404:
        return GraphError(100, message, http_status=404, subcode=33)
    if status == 405:
        return GraphError(100, message, http_status=405)
    if status in (413, 415):
        return GraphError(131053, message, http_status=status)
    if status == 429:
        return GraphError(4, message, http_status=429)
    if status == 503:  # overloaded (OverloadedError): Meta's throughput error, which clients retry later
        return overloaded_graph_error(message, 1)
    return GraphError(100, message, http_status=status if 400 <= status < 500 else 400)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette's 405 names only the first route that matched
    the path, and Graph's `/{object_id}` has one route per method)."""
    routes: Iterable[Any] = request.app.router.routes
    route_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if route_contexts is not None:  # newer FastAPI keeps included routers nested: walk their routes too
        routes = route_contexts(routes)
    probe = {**request.scope, "method": "GET"}
    methods: set[str] = set()
    for route in routes:
        if route.matches(probe)[0] == Match.NONE:
            continue
        if isinstance(getattr(route, "app", None), StaticFiles):
            methods |= {"GET", "HEAD"}
        methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


CAPI_MAX_BODY = 1024 * 1024  # ads-attrib: a Conversions API batch (up to 1,000 events) as JSON


class BodyLimitMiddleware:
    """Refuse bodies over the limit (JSON 64 KiB, uploads 16 MiB by default) before they are read."""

    def __init__(self, app: ASGIApp, max_json: int, max_upload: int) -> None:
        self.app, self.max_json, self.max_upload = app, max_json, max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        is_upload = headers.get(b"content-type", b"").startswith(b"multipart/")
        graph = is_graph_path(scope["path"])
        # Multipart framing adds a little on top of the file itself; Meta takes documents up to 100 MB.
        max_upload = max(self.max_upload, GRAPH_MAX_UPLOAD) if graph else self.max_upload
        limit = max_upload + 64 * 1024 if is_upload else self.max_json
        if graph and not is_upload and scope["path"].endswith("/events"):  # ads-attrib: 1,000 CAPI events
            limit = max(limit, CAPI_MAX_BODY)

        def too_large_response() -> JSONResponse:  # built only when needed: most requests are small
            message = f"the request body is over {limit} bytes"
            if graph:
                return _graph_error(GraphError(131053, message, http_status=413))
            return _error(413, "payload_too_large", message)

        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await too_large_response()(scope, receive, send)
            return
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _BodyTooLarge()
            return message

        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large and not started:
                return  # the app's answer to a cut-off body (FastAPI makes it a 400) gives way to the 413
            started = True
            await send(message)

        with contextlib.suppress(_BodyTooLarge):
            await self.app(scope, limited_receive, guarded_send)
        if too_large and not started:
            await too_large_response()(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


class _StreamFastPathApp(FastAPI):
    """The long-lived stream skips the middleware and routing stack: its suspended frames cost per socket. So do
    the routes that carry volume: the person send (`parley.messaging.lean`) and the Cloud API send
    (`parley.business.lean`).

    Under `parley serve` it skips the ASGI app altogether: the lifespan state, which uvicorn hands to its
    protocols, carries the stream's opener, and serving.py's protocol serves the socket itself.
    Every HTTP request is counted first: beyond the cap a send is refused before anything else runs."""

    def __init__(self, *, admission: RequestAdmission, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.admission = admission

    lean_cloud_send: LeanCloudSend | None = None

    async def _serve_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The hot routes ahead of FastAPI's routing; everything else through it."""
        if scope["path"] == person_send.SEND_PATH and scope["method"] == "POST":
            scope["app"] = self
            await person_send.send_message(self, scope, receive, send, super().__call__)  # FastAPI answers the rest
            return
        if is_slot_request(scope):  # ads-serve: the ad slot, a lookup in memory
            await lean_slot(self.state.container, scope, receive, send)
            return
        if self.lean_cloud_send is not None and (number_id := send_route_number(scope)) is not None:
            scope["app"] = self
            await self.lean_cloud_send(self.state.container, number_id, scope, receive, send, super().__call__)
            return
        await super().__call__(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            admission = self.admission
            if admission.in_flight >= admission.cap and admission.refusable(scope):
                await admission.refuse(scope, send)
                return
            admission.in_flight += 1
            try:
                await self._serve_http(scope, receive, send)
            finally:
                admission.in_flight -= 1
            return
        if scope["type"] == "lifespan" and "state" in scope:
            from parley.messaging.endpoints import StreamOpener
            from parley.messaging.stream_protocol import STREAM_OPENER

            scope["state"][STREAM_OPENER] = StreamOpener(self)
        if scope["type"] == "websocket" and scope["path"] == "/client/v1/stream":
            from starlette.websockets import WebSocket

            from parley.messaging.endpoints import stream

            scope["app"] = self
            await stream(WebSocket(scope, receive, send))
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container: Container = build_container(settings, clock)
        await container.start()
        if not settings.redis_url:
            # Without Redis this process holds every stream: none is open yet, whatever a crash left counted.
            await container.messaging.forget_open_streams()
        app.state.container = container
        try:
            yield
        finally:
            await container.close()

    app = _StreamFastPathApp(
        admission=RequestAdmission(settings.admission),
        title="Parley",
        version=__version__,
        description="Parley's client API (see docs/client-api.md) and realtime stream.",
        lifespan=lifespan,
        docs_url=None,  # served by add_offline_docs, without a CDN
        redoc_url=None,
    )
    add_offline_docs(app)
    app.lean_cloud_send = LeanCloudSend(settings.limits.max_json_bytes, _graph_failure)
    app.add_middleware(
        BodyLimitMiddleware, max_json=settings.limits.max_json_bytes, max_upload=settings.limits.max_media_bytes
    )

    @app.exception_handler(GraphError)
    async def on_graph_error(_request: Request, exc: GraphError) -> JSONResponse:
        return _graph_error(exc)

    @app.exception_handler(AppError)
    async def on_app_error(request: Request, exc: AppError) -> JSONResponse:
        if is_graph_path(request.url.path):
            error = _as_graph_error(exc.status, exc.message)
            error.retry_after_s = exc.details.get("retry_after")
            return _graph_error(error)
        headers = {"Retry-After": str(exc.details["retry_after"])} if "retry_after" in exc.details else None
        return _error(exc.status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if is_graph_path(request.url.path):
            return _graph_error(GraphError(100, _describe_validation(exc)))
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return _error(400, "malformed_json", "the request body is not valid JSON")
        return _error(400, "invalid_request", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
        if is_graph_path(request.url.path):
            response = _graph_error(_as_graph_error(exc.status_code, str(exc.detail)))
            response.headers.update(headers)
            return response
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):  # bytes that are not UTF-8
            return _error(400, "malformed_json", "the request body is not valid JSON")
        return _error(exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"), str(exc.detail), headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        if is_graph_path(request.url.path):
            return _graph_error(GraphError(131000, "something went wrong on our side"))
        return _error(500, "internal_error", "something went wrong on our side")

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    for router in (
        account_endpoints.router,
        messaging_endpoints.router,
        media_endpoints.router,
        privacy_endpoints.router,
        e2ee_endpoints.router,  # e2ee
        business_endpoints.links_router,
        graph_media_endpoints.router,
        profile_endpoints.router,
        profile_endpoints.client_router,
        template_endpoints.router,
        webhook_endpoints.router,
        billing_endpoints.router,
        pay_endpoints.router,
        inbox_contacts_endpoints.router,  # before inbox_endpoints: /contacts.csv is not a contact id
        inbox_endpoints.router,
        inbox_links_endpoints.router,
        inbox_commerce_endpoints.router,
        inbox_reports_endpoints.router,
        qr_endpoints.router,
        contacts_endpoints.router,
        commerce_endpoints.router,
        commerce_endpoints.client_router,
        merchant_endpoints.graph,
        merchant_endpoints.client,
        cart_endpoints.router,  # cart
        ads_endpoints.router,  # ads
        ads_endpoints.public_router,  # ads
        ads_client_endpoints.router,  # ads
        ads_capi_endpoints.router,  # ads-attrib
        ads_insights_endpoints.router,  # ads-attrib: before business's `/{object_id}` routes
        ads_serve_endpoints.router,  # ads-serve
        subscription_endpoints.router,  # subscriptions
        subscription_endpoints.graph,  # subscriptions: business channels' plans, before `/{object_id}`
        affiliate_endpoints.router,  # affiliates
        affiliate_endpoints.client_router,  # affiliates
        channel_endpoints.router,  # channels
        channel_endpoints.graph,  # channels: before business's `/{object_id}` routes
        rights_endpoints.router,  # rights
        signal_endpoints.router,  # signals
        signal_endpoints.graph,  # signals: before business's `/{object_id}` routes
    ):
        app.include_router(router)

    for router in console_routers:
        app.include_router(router)

    # Last: its `/{object_id}` routes must not shadow any other Graph route.
    app.include_router(business_endpoints.router)

    try:
        from parley.web import WEB_STATIC_DIR, build_web_router
    except ImportError:  # the web client is optional for API-only deployments
        pass
    else:
        app.include_router(build_web_router())
        app.mount("/static", StaticFiles(directory=WEB_STATIC_DIR), name="static")
    return app
