"""Cloud API routes that register webhooks, as pywa calls them: the app token, the app's subscription
(`/{app_id}/subscriptions`) and the WABA's (`/{waba_id}/subscribed_apps`, with an optional override)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

from parley.graph import GraphError, object_not_found
from parley.http import ContainerDep, GraphScopeDep, bearer_token, graph_params, graph_router
from parley.kit.ids import parse_id
from parley.webhooks.repository import WebhookApp
from parley.webhooks.service import KNOWN_FIELDS, parse_fields_param

router = graph_router("webhooks")
WHATSAPP_OBJECT = "whatsapp_business_account"


def _string(params: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise GraphError(100, f"The parameter {name} is required", subcode=None)
        return None if value is None else ""
    if not isinstance(value, str):
        raise GraphError(100, f"{name} must be a string")
    return value


async def _app_in_scope(
    raw_app_id: str, request: Request, container: ContainerDep, params: dict[str, Any]
) -> WebhookApp:
    """The app named in the path, if the caller's token is that app's token (`APP_ID|SECRET`) or a system-user
    token of the WABA the app belongs to."""
    method = request.method.lower()
    app_id = parse_id(raw_app_id)
    # Meta's app calls (and pywa) pass the app token `APP_ID|SECRET` as the `access_token` parameter; a system-user
    # token is taken from the Authorization header only, never from a URL.
    app_token = _string(params, "access_token")
    token = app_token if app_token and "|" in app_token else bearer_token(request)
    if not token:
        raise GraphError(190, "An access token is required to request this resource.")
    if "|" in token:
        app = await container.webhooks.authenticate_app_token(token)
        if app is None:
            raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")
        if app.app_id != app_id:
            raise object_not_found(raw_app_id, method)
        return app
    scope = await container.business.authenticate(token)
    found = None if app_id is None else await container.webhooks.get_app(app_id)
    if found is None or found.waba_id != scope.waba_id:
        raise object_not_found(raw_app_id, method)
    return found


def _waba_in_scope(raw_waba_id: str, waba_id_of_token: int, method: str) -> int:
    waba_id = parse_id(raw_waba_id)
    if waba_id is None or waba_id != waba_id_of_token:
        raise object_not_found(raw_waba_id, method)
    return waba_id


@router.get("/oauth/access_token", summary="An app access token (client credentials)")
async def app_access_token(
    container: ContainerDep,
    client_id: Annotated[str, Query(max_length=32)],
    client_secret: Annotated[str, Query(max_length=256)],
    grant_type: Annotated[str, Query(max_length=64)] = "client_credentials",
) -> dict[str, str]:
    if grant_type != "client_credentials":
        raise GraphError(100, "grant_type must be client_credentials")
    token = await container.webhooks.app_access_token(client_id, client_secret)
    return {"access_token": token, "token_type": "bearer"}


@router.post("/{app_id}/subscriptions", summary="Set the app's webhook callback URL and fields")
async def subscribe_app(app_id: str, request: Request, container: ContainerDep) -> dict[str, bool]:
    params = await graph_params(request, keep_token=True)
    app = await _app_in_scope(app_id, request, container, params)
    obj = _string(params, "object", required=True)
    if obj != WHATSAPP_OBJECT:
        raise GraphError(100, f"object must be {WHATSAPP_OBJECT!r}")
    callback_url = _string(params, "callback_url", required=True)
    verify_token = _string(params, "verify_token", required=True)
    assert callback_url is not None and verify_token is not None
    fields = parse_fields_param(params.get("fields"))
    await container.webhooks.subscribe_app(
        app.app_id, callback_url=callback_url, verify_token=verify_token, fields=fields
    )
    return {"success": True}


@router.get("/{app_id}/subscriptions", summary="The app's webhook subscriptions")
async def app_subscriptions(app_id: str, version: str, request: Request, container: ContainerDep) -> dict[str, Any]:
    app = await _app_in_scope(app_id, request, container, dict(request.query_params))
    data = []
    for subscription in await container.webhooks.app_subscriptions(app.app_id):
        names = subscription.fields if subscription.fields is not None else list(KNOWN_FIELDS)
        data.append(
            {
                "object": WHATSAPP_OBJECT,
                "callback_url": subscription.callback_url,
                "active": True,
                "fields": [{"name": name, "version": f"v{version}"} for name in names],
            }
        )
    return {"data": data}


@router.delete("/{app_id}/subscriptions", summary="Remove the app's webhook subscription")
async def unsubscribe_app(app_id: str, request: Request, container: ContainerDep) -> dict[str, bool]:
    params = await graph_params(request, keep_token=True)
    app = await _app_in_scope(app_id, request, container, params)
    await container.webhooks.unsubscribe_app(app.app_id)
    return {"success": True}


@router.post(
    "/{waba_id}/subscribed_apps",
    summary="Subscribe the business account to its app (optionally overriding the callback)",
)
async def subscribe_waba(
    waba_id: str, request: Request, container: ContainerDep, scope: GraphScopeDep
) -> dict[str, bool]:
    waba = _waba_in_scope(waba_id, scope.waba_id, "post")
    params = await graph_params(request, keep_token=True)
    override = _string(params, "override_callback_uri")
    verify_token = _string(params, "verify_token") or ""
    if override and not verify_token:
        raise GraphError(100, "verify_token is required with override_callback_uri")
    await container.webhooks.subscribe_waba(waba, override_callback_uri=override or None, verify_token=verify_token)
    return {"success": True}


@router.get("/{waba_id}/subscribed_apps", summary="Apps the business account is subscribed to")
async def subscribed_apps(
    waba_id: str, version: str, request: Request, container: ContainerDep, scope: GraphScopeDep
) -> dict[str, Any]:
    waba = _waba_in_scope(waba_id, scope.waba_id, "get")
    app, override = await container.webhooks.subscribed_apps(waba)
    if app is None:
        return {"data": []}
    entry: dict[str, Any] = {
        "whatsapp_business_api_data": {
            "id": str(app.app_id),
            "link": f"{str(request.base_url).rstrip('/')}/v{version}/{app.app_id}",
            "name": f"Parley app {app.app_id}",
        }
    }
    if override is not None:
        entry["override_callback_uri"] = override.callback_url
    return {"data": [entry]}


@router.delete("/{waba_id}/subscribed_apps", summary="Unsubscribe the business account: its events are dropped")
async def unsubscribe_waba(waba_id: str, container: ContainerDep, scope: GraphScopeDep) -> dict[str, bool]:
    waba = _waba_in_scope(waba_id, scope.waba_id, "delete")
    await container.webhooks.unsubscribe_waba(waba)
    return {"success": True}
