"""Cloud API routes for message templates: `/{waba-id}/message_templates` and `/{template-id}/unpause`.

`GET` and `POST /{template-id}` belong to the business domain's `/{object-id}` dispatcher, which calls
`TemplateService.get_object` / `edit_object`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import orjson
from fastapi import Query, Request

from parley.graph import GraphError, graph_page, object_not_found, parse_fields
from parley.http import ContainerDep, GraphScopeDep, graph_router
from parley.kit.ids import parse_id
from parley.kit.pagination import decode_cursor
from parley.templates.repository import TemplateFilters
from parley.templates.service import TemplatePage

router = graph_router("templates")

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


def _waba_in_scope(waba_id: str, scope_waba_id: int, verb: str) -> int:
    parsed = parse_id(waba_id)
    if parsed is None or parsed != scope_waba_id:
        raise object_not_found(waba_id, verb)
    return parsed


def _cursor(raw: str | None, name: str) -> int | None:
    try:
        return decode_cursor(raw)
    except Exception as error:  # an opaque cursor we did not issue
        raise GraphError(100, f"the {name} cursor is not one this server issued") from error


def _csv(raw: str | None, upper: bool = True) -> tuple[str, ...]:
    if not raw:
        return ()
    items = [item.strip() for item in raw.split(",") if item.strip()]
    return tuple(item.upper() for item in items) if upper else tuple(items)


async def _body(request: Request) -> Any:
    """JSON (what pywa sends) or a form with JSON-encoded values (what Graph also accepts)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        body: dict[str, Any] = {}
        for key, value in form.items():
            if not isinstance(value, str):
                continue
            try:
                body[key] = json.loads(value) if value[:1] in "[{" or key == "components" else value
            except json.JSONDecodeError as error:
                raise GraphError(100, f"{key} is not valid JSON") from error
        return body
    raw = await request.body()
    if not raw:
        raise GraphError(100, "the request body is empty: send the template as a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise GraphError(100, f"the request body is not valid JSON: {error}") from error


def _page_body(request: Request, page: TemplatePage) -> dict[str, Any]:
    base = request.url.remove_query_params(["after", "before"])
    next_url = str(base.include_query_params(after=str(page.last_id))) if page.has_next and page.last_id else None
    body = graph_page(page.data, page.first_id, page.last_id, next_url)
    if page.has_previous and page.first_id is not None:
        body.setdefault("paging", {})["previous"] = str(base.include_query_params(before=str(page.first_id)))
    if page.summary is not None:
        body["summary"] = page.summary
    return body


@router.get("/{waba_id}/message_templates", summary="List message templates")
async def list_templates(
    waba_id: str,
    request: Request,
    container: ContainerDep,
    scope: GraphScopeDep,
    fields: Annotated[str | None, Query()] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    after: Annotated[str | None, Query()] = None,
    before: Annotated[str | None, Query()] = None,
    name: Annotated[str | None, Query(max_length=512)] = None,
    status: Annotated[str | None, Query()] = None,
    category: Annotated[str | None, Query()] = None,
    language: Annotated[str | None, Query()] = None,
    quality_score: Annotated[str | None, Query()] = None,
    content: Annotated[str | None, Query(max_length=1024)] = None,
    name_or_content: Annotated[str | None, Query(max_length=1024)] = None,
    summary: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    _waba_in_scope(waba_id, scope.waba_id, "get")
    filters = TemplateFilters(
        name=name,
        content=content,
        name_or_content=name_or_content,
        statuses=_csv(status),
        categories=_csv(category),
        languages=_csv(language, upper=False),
        quality_scores=_csv(quality_score),
    )
    page = await container.templates.list_templates(
        scope,
        parse_fields(fields),
        filters,
        min(limit or DEFAULT_LIMIT, MAX_LIMIT),
        after=_cursor(after, "after"),
        before=_cursor(before, "before"),
        summary=bool(summary),
    )
    return _page_body(request, page)


@router.post("/{waba_id}/message_templates", summary="Create a message template (reviewed asynchronously)")
async def create_template(
    waba_id: str, request: Request, container: ContainerDep, scope: GraphScopeDep
) -> dict[str, Any]:
    _waba_in_scope(waba_id, scope.waba_id, "post")
    return await container.templates.create(scope, await _body(request))


@router.delete("/{waba_id}/message_templates", summary="Delete a template by name (all languages) or by hsm_id")
async def delete_template(
    waba_id: str,
    container: ContainerDep,
    scope: GraphScopeDep,
    name: Annotated[str | None, Query(max_length=512)] = None,
    hsm_id: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    _waba_in_scope(waba_id, scope.waba_id, "delete")
    template_id = None
    if hsm_id:
        template_id = parse_id(hsm_id)
        if template_id is None:
            raise GraphError(100, "hsm_id must be a template id")
    return await container.templates.delete(scope, name, template_id)


@router.post("/{template_id}/unpause", summary="Unpause a paused template")
async def unpause_template(template_id: str, container: ContainerDep, scope: GraphScopeDep) -> dict[str, Any]:
    parsed = parse_id(template_id)
    if parsed is None:
        raise object_not_found(template_id, "post")
    return await container.templates.unpause(scope, parsed)
