"""Parley's web client: server-rendered page shells whose scripts use only the client API."""

from parley.web.pages import WEB_STATIC_DIR, build_web_router

__all__ = ["WEB_STATIC_DIR", "build_web_router"]
