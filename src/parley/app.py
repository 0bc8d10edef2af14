"""create_app(settings) -> the one ASGI application; its lifespan builds and closes the Container."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley import __version__
from parley.accounts import endpoints as account_endpoints
from parley.config import Settings
from parley.container import Container, build_container
from parley.kit.clock import Clock
from parley.kit.errors import AppError
from parley.media import endpoints as media_endpoints
from parley.messaging import endpoints as messaging_endpoints
from parley.privacy import endpoints as privacy_endpoints

log = logging.getLogger("parley")

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
        # Multipart framing adds a little on top of the file itself.
        limit = self.max_upload + 64 * 1024 if is_upload else self.max_json
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _error(413, "payload_too_large", f"the request body is over {limit} bytes")(scope, receive, send)
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
            await _error(413, "payload_too_large", f"the request body is over {limit} bytes")(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


class _StreamFastPathApp(FastAPI):
    """The long-lived stream skips the middleware and routing stack: its suspended frames cost per socket."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
        app.state.container = container
        try:
            yield
        finally:
            await container.close()

    app = _StreamFastPathApp(
        title="Parley",
        version=__version__,
        description="Parley's client API (see docs/client-api.md) and realtime stream.",
        lifespan=lifespan,
    )
    app.add_middleware(
        BodyLimitMiddleware, max_json=settings.limits.max_json_bytes, max_upload=settings.limits.max_media_bytes
    )

    @app.exception_handler(AppError)
    async def on_app_error(_request: Request, exc: AppError) -> JSONResponse:
        headers = {"Retry-After": str(exc.details["retry_after"])} if "retry_after" in exc.details else None
        return _error(exc.status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return _error(400, "malformed_json", "the request body is not valid JSON")
        return _error(400, "invalid_request", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):  # bytes that are not UTF-8
            return _error(400, "malformed_json", "the request body is not valid JSON")
        return _error(exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _error(500, "internal_error", "something went wrong on our side")

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    for router in (
        account_endpoints.router,
        messaging_endpoints.router,
        media_endpoints.router,
        privacy_endpoints.router,
    ):
        app.include_router(router)

    try:
        from parley.web import WEB_STATIC_DIR, build_web_router
    except ImportError:  # the web client is optional for API-only deployments
        pass
    else:
        app.include_router(build_web_router())
        app.mount("/static", StaticFiles(directory=WEB_STATIC_DIR), name="static")
    return app
