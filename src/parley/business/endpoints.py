"""Cloud API routes of the business domain: `/messages`, phone numbers, and the `/{object_id}` dispatcher.

Graph addresses objects by bare id (`GET /v23.0/{id}`), whatever their kind, so one route asks each domain
whether the id is one of its objects: phone numbers and WABAs here, then templates, then media.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import RedirectResponse

from parley.billing import analytics as billing_analytics
from parley.graph import GraphError, object_not_found, parse_fields, parse_version
from parley.http import ContainerDep, GraphScopeDep, client_address, graph_json_body, graph_router
from parley.kit.ids import parse_id

router = graph_router("business")
links_router = APIRouter(tags=["business"])


@router.post("/{phone_number_id}/messages", summary="Send a message (or mark one read)")
async def send_message(
    phone_number_id: str,
    request: Request,
    container: ContainerDep,
    scope: GraphScopeDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
    dry_run: Annotated[bool, Query(description="Parley extension: price the message, send nothing")] = False,
) -> dict[str, Any]:
    body = await graph_json_body(request)
    if dry_run:
        return await container.sender.preview(scope, phone_number_id, body)
    return await container.sender.send(scope, phone_number_id, body, idempotency_key)


@router.get("/{waba_id}/phone_numbers", summary="Phone numbers of a business account")
async def phone_numbers(waba_id: str, container: ContainerDep, scope: GraphScopeDep) -> dict[str, Any]:
    return await container.business.list_phone_numbers(scope, waba_id)


@router.post("/{phone_number_id}/referral_links", summary="Create a click-to-chat link (Parley extension)")
async def new_referral_link(
    phone_number_id: str, request: Request, container: ContainerDep, scope: GraphScopeDep
) -> dict[str, Any]:
    number = await container.business.number_in_scope(scope, phone_number_id)
    body = await graph_json_body(request)
    return await container.referral_links.create_link(number.id, body)


@router.get("/{object_id}", summary="Read any object by id (phone number, business account, template, media)")
async def get_object(
    version: str,
    object_id: str,
    container: ContainerDep,
    scope: GraphScopeDep,
    fields: Annotated[str | None, Query()] = None,
    phone_number_id: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    oid = _object_id(object_id)
    specs = parse_fields(fields)
    found = await container.business.phone_number_object(scope, oid)
    if found is None:
        found = await container.business.waba_object(scope, oid)
        if found is not None and billing_analytics.wanted(specs):
            numbers = (await container.business.list_phone_numbers(scope, str(oid)))["data"]
            found.update(await container.billing.analytics(oid, specs, numbers))
    if found is None:
        found = await container.templates.get_object(scope, oid, specs)
    if found is None:  # a product item, catalog or product set (their own field lists)
        found = await container.catalogs.graph_object(scope, oid, fields)
        specs = [] if found is not None else specs
    if found is None:  # a campaign, ad set or ad (their own field lists)
        found = await container.ads.graph_object(scope, oid, fields)
        specs = [] if found is not None else specs
    if found is None:  # channels: a channel the business runs
        found = await container.channels.graph_object(scope, oid)
    if found is None:
        found = await container.graph_media.media_object(
            scope, oid, _optional_id(phone_number_id), version=parse_version(version)
        )
    if found is None:
        raise object_not_found(object_id)
    if specs:
        wanted = {s.name for s in specs} | {"id"}
        found = {k: v for k, v in found.items() if k in wanted}
    return found


@router.post("/{object_id}/", include_in_schema=False)  # pywa posts the phone webhook override with a slash
@router.post("/{object_id}", summary="Update an object by id (phone number webhook override, template edit)")
async def post_object(
    object_id: str, request: Request, container: ContainerDep, scope: GraphScopeDep
) -> dict[str, Any]:
    oid = _object_id(object_id)
    number = await container.business.phone_number_object(scope, oid)
    if number is not None:
        body = await graph_json_body(request)
        config = body.get("webhook_configuration") if isinstance(body, dict) else None
        if not isinstance(config, dict):
            raise GraphError(100, "send webhook_configuration: {override_callback_uri, verify_token}")
        url, token = config.get("override_callback_uri"), config.get("verify_token", "")
        if (url is not None and not isinstance(url, str)) or not isinstance(token, str):
            raise GraphError(100, "override_callback_uri and verify_token must be strings")
        await container.webhooks.set_phone_override(scope.waba_id, oid, url, token)
        return {"success": True}
    waba = await container.business.waba_object(scope, oid)
    if waba is not None:
        return {"id": str(oid)}  # e.g. ?is_enabled_for_insights=true: analytics are always on here
    body = await graph_json_body(request)
    if not isinstance(body, dict):
        raise GraphError(100, "the request body must be a JSON object")
    edited = await container.catalogs.update_graph_object(scope, oid, body)  # a product item
    if edited is not None:
        return edited
    edited = await container.ads.update_graph_object(scope, oid, body)  # a campaign, ad set or ad
    if edited is not None:
        return edited
    edited = await container.templates.edit_object(scope, oid, body)
    if edited is None:
        raise object_not_found(object_id)
    return edited


@router.delete("/{object_id}", summary="Delete media by id")
async def delete_object(
    object_id: str,
    container: ContainerDep,
    scope: GraphScopeDep,
    phone_number_id: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    deleted = await container.catalogs.delete_graph_object(scope, _object_id(object_id))  # a product item
    if deleted is not None:
        return deleted
    deleted = await container.ads.delete_graph_object(scope, _object_id(object_id))  # a campaign, ad set or ad
    if deleted is not None:
        return deleted
    deleted = await container.graph_media.delete_media_object(
        scope, _object_id(object_id), _optional_id(phone_number_id)
    )
    if deleted is None:
        raise object_not_found(object_id)
    return deleted


@links_router.get("/c/{code}", summary="Open a chat with a business from a click-to-chat link", include_in_schema=True)
async def open_link(
    code: str, request: Request, container: ContainerDep, ref: Annotated[str, Query(max_length=128)] = ""
) -> RedirectResponse:
    if await container.channels.link_exists(code):  # channels: a channel's link opens the channel
        return RedirectResponse(f"/channels/c/{code}", status_code=302)
    user_agent = request.headers.get("user-agent", "")
    target = await container.referral_links.follow(code, ref, client_address(request), user_agent)
    return RedirectResponse(target, status_code=302)


def _object_id(raw: str) -> int:
    value = parse_id(raw)
    if value is None:
        raise object_not_found(raw)
    return value


def _optional_id(raw: str | None) -> int | None:
    if raw is None:
        return None
    return _object_id(raw)
