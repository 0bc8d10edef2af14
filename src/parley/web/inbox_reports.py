"""The team inbox's reports page (charts) and its CSV."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.templating import Jinja2Templates


def build_reports_router(templates: Jinja2Templates, asset_version: str, headers: dict[str, str]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    return router
