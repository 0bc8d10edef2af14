"""The console's Templates page (`/inbox/console/templates`): the list drawn on the server, with prices in the
business's own market; `console-templates.js` adds filters, the detail, the create and edit form with its live
preview, and follows a pending review until it is decided."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from parley.console.templates import STATUSES, template_list
from parley.http import ContainerDep
from parley.inbox import AgentContext
from parley.templates import LANGUAGES

if TYPE_CHECKING:
    from parley.web.console_pages import ConsolePages

# The languages most businesses write in first in the picker; every other supported one follows, sorted.
COMMON_LANGUAGES = ("en_US", "en_GB", "en", "es", "es_MX", "pt_BR", "fr", "de", "it", "hi", "id", "ar")


def language_choices() -> list[str]:
    return [*COMMON_LANGUAGES, *sorted(LANGUAGES - set(COMMON_LANGUAGES))]


async def _templates_data(request: Request, container: Any, ctx: AgentContext) -> dict[str, Any]:
    listing = await template_list(container, ctx.waba_id)
    return {
        "listing": listing,
        "statuses": STATUSES,
        "languages": language_choices(),
        "categories": ("MARKETING", "UTILITY", "AUTHENTICATION"),
    }


def build_router(pages: ConsolePages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/inbox/console/templates", response_class=HTMLResponse)
    async def templates_page(request: Request, container: ContainerDep) -> Response:
        return await pages.page(request, container, "templates", "Templates", "console/templates.html", _templates_data)

    return router
