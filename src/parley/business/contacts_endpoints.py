"""Contacts for a CRM (a Parley extension on the Graph routes, scoped by the Cloud API token)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import orjson
from fastapi import Query, Request

from parley.graph import GraphError, object_not_found
from parley.http import ContainerDep, GraphScopeDep, graph_router
from parley.kit.errors import NotFoundError
from parley.kit.ids import parse_id

router = graph_router("contacts")

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


def _waba_in_scope(raw: str, scope_waba_id: int, verb: str) -> int:
    """Another business's account answers exactly like one that does not exist."""
    waba_id = parse_id(raw)
    if waba_id is None or waba_id != scope_waba_id:
        raise object_not_found(raw, verb)
    return waba_id


def graph_contact(view: dict[str, Any]) -> dict[str, Any]:
    """The inbox's contact object plus `wa_id`, the digits of the phone number as in Cloud API webhooks."""
    return {**view, "wa_id": "".join(ch for ch in str(view.get("phone") or "") if ch.isdigit())}


def _after_cursor(data: list[dict[str, Any]]) -> str | None:
    """The keyset position after the page's last contact (the inbox's `last_contact_at_id` cursor)."""
    if not data:
        return None
    last = data[-1]
    return f"{last['last_contact_at']}_{last['id']}"


async def _body(request: Request) -> dict[str, Any]:
    """JSON, or a form whose list values are JSON-encoded (both are how Graph clients post updates)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        body: dict[str, Any] = {}
        for key, value in form.items():
            if not isinstance(value, str):
                raise GraphError(100, f"{key} must be text")
            try:
                body[key] = json.loads(value) if key == "labels" else value
            except json.JSONDecodeError as error:
                raise GraphError(100, "labels must be a JSON list of label ids") from error
        return body
    raw = await request.body()
    try:
        parsed = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as error:
        raise GraphError(100, f"the request body is not valid JSON: {error}") from error
    if not isinstance(parsed, dict):
        raise GraphError(100, "the request body must be a JSON object with name, notes and/or labels")
    return parsed


@router.get("/{waba_id}/contacts", summary="List the business's contacts (Parley extension)")
async def list_contacts(
    waba_id: str,
    request: Request,
    container: ContainerDep,
    scope: GraphScopeDep,
    limit: Annotated[int | None, Query(ge=1)] = None,
    after: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=256)] = None,
    label: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    owner = _waba_in_scope(waba_id, scope.waba_id, "get")
    try:
        views, next_cursor = await container.inbox.contacts_of_waba(
            owner, q, label, after, min(limit or DEFAULT_LIMIT, MAX_LIMIT)
        )
    except NotFoundError as error:  # a label id that is not one of this business's labels
        raise GraphError(100, f"label {label!r} is not one of this business's labels") from error
    data = [graph_contact(v) for v in views]
    page: dict[str, Any] = {"data": data}
    cursor = _after_cursor(data)
    if cursor is not None:
        paging: dict[str, Any] = {"cursors": {"after": cursor}}
        if next_cursor is not None:
            base = request.url.remove_query_params(["after"])
            paging["next"] = str(base.include_query_params(after=next_cursor))
        page["paging"] = paging
    return page


@router.get("/{waba_id}/contacts/{contact_id}", summary="Read one contact (Parley extension)")
async def get_contact(waba_id: str, contact_id: str, container: ContainerDep, scope: GraphScopeDep) -> dict[str, Any]:
    owner = _waba_in_scope(waba_id, scope.waba_id, "get")
    try:
        return graph_contact(await container.inbox.contact(owner, contact_id))
    except NotFoundError as error:
        raise object_not_found(contact_id) from error


@router.post("/{waba_id}/contacts/{contact_id}", summary="Update a contact's name, notes, labels (Parley extension)")
async def update_contact(
    waba_id: str, contact_id: str, request: Request, container: ContainerDep, scope: GraphScopeDep
) -> dict[str, bool]:
    owner = _waba_in_scope(waba_id, scope.waba_id, "post")
    body = await _body(request)
    try:
        await container.inbox.contact(owner, contact_id)
    except NotFoundError as error:
        raise object_not_found(contact_id, "post") from error
    try:
        await container.inbox.update_contact(owner, contact_id, body)
    except NotFoundError as error:  # the contact exists: what is missing is a label named in the body
        raise GraphError(100, f"labels: {error.message}") from error
    return {"success": True}
