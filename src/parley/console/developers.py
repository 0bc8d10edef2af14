"""The console's Developers area: the business's Cloud API tokens, its webhook callback, and the delivery log.

Everything goes through the services the Cloud API and the CLI use: `BusinessAccounts` mints and revokes tokens
(a revocation reaches every process's token cache at once), `WebhookService` verifies a callback with Meta's
handshake under the egress policy, and a test event or a redelivery goes out through the real delivery loop.
Refusals are the API's own words, in the inbox API's `{"error": {"code", "message"}}` shape.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any, Literal, TypeVar

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parley.console.access import ConsoleDep
from parley.graph import GraphError
from parley.http import ContainerDep
from parley.kit.errors import AppError, ConflictError, InvalidInputError, NotFoundError, RateLimitedError
from parley.kit.ids import parse_id
from parley.webhooks import DeliveryLogEntry

router = APIRouter(prefix="/inbox/api/console/developers", tags=["business console"])

DeliveryStatus = Literal["delivered", "waiting", "failed", "dropped"]
# The console's words for the outbox's states.
STATUS_OF_STATE: dict[str, DeliveryStatus] = {
    "delivered": "delivered",
    "pending": "waiting",
    "dead": "failed",
    "dropped": "dropped",
}
STATES_OF_STATUS = {status: state for state, status in STATUS_OF_STATE.items()}
PAGE_SIZE = 25
TEST_EVENTS_PER_MINUTE = 20

M = TypeVar("M", bound=BaseModel)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=128, description="What the token is for.")


class CallbackUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    callback_url: str = Field(min_length=1, max_length=2048)
    verify_token: str = Field(min_length=1, max_length=256)


class CallbackVerificationFailedError(InvalidInputError):
    code = "callback_verification_failed"


async def _body(request: Request, model: type[M]) -> M:
    """orjson, as the inbox's routes: it refuses lone surrogates no database could store."""
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError as error:
        raise InvalidInputError(f"the request body is not valid JSON: {error}") from error
    try:
        return model.model_validate(data)
    except ValidationError as error:
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()[:5]]
        raise InvalidInputError("; ".join(parts)) from error


@contextlib.contextmanager
def _in_console_terms() -> Iterator[None]:
    """A Graph refusal from a shared service, with its words kept, in the inbox API's error shape."""
    try:
        yield
    except GraphError as error:
        converted: AppError
        if error.code == 2200:
            converted = CallbackVerificationFailedError(error.details)
        elif error.http_status == 429:
            converted = RateLimitedError(error.details, error.retry_after_s or 5)
        else:
            converted = InvalidInputError(error.details)
        raise converted from error


def _id(raw: str, what: str) -> int:
    parsed = parse_id(raw)
    if parsed is None:
        raise NotFoundError(f"this business has no such {what}")
    return parsed


# --- what the page and the routes show -----------------------------------------------------------------


def token_json(token: Any) -> dict[str, Any]:
    return {
        "id": str(token.id),
        "name": token.name,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
        "status": "revoked" if token.revoked_at is not None else "active",
    }


def delivery_json(entry: DeliveryLogEntry) -> dict[str, Any]:
    return {
        "event_id": str(entry.event_id),
        "kind": entry.field,
        "status": STATUS_OF_STATE.get(entry.state, "waiting"),
        "attempts": entry.attempts,
        "last_status": entry.last_status,
        "last_error": entry.last_error,
        "latency_ms": entry.latency_ms,
        "target": entry.url,
        "created_at": entry.created_at,
        "delivered_at": entry.delivered_at,
        "next_attempt_at": entry.next_attempt_at,
    }


async def tokens(container: Any, waba_id: int) -> list[dict[str, Any]]:
    """Newest first: the token just made is on top."""
    return [token_json(t) for t in reversed(await container.business.list_tokens(waba_id))]


async def webhook_settings(container: Any, waba_id: int) -> dict[str, Any]:
    app, override = await container.webhooks.subscribed_apps(waba_id)
    if app is None:
        app = await container.webhooks.get_app_of_waba(waba_id)
    return {
        "callback_url": None if app is None else app.callback_url,
        "verify_token": "" if app is None else app.verify_token,
        "fields": None if app is None else app.fields,
        "subscribed": app is not None and app.subscribed,
        "override_callback_url": None if override is None else override.callback_url,
    }


async def deliveries(
    container: Any, waba_id: int, status: DeliveryStatus | None = None, before: int | None = None
) -> dict[str, Any]:
    states = None if status is None else [STATES_OF_STATUS[status]]
    entries, cursor = await container.webhooks.delivery_page(waba_id, states=states, before=before, limit=PAGE_SIZE)
    return {"data": [delivery_json(e) for e in entries], "next": None if cursor is None else str(cursor)}


# --- tokens --------------------------------------------------------------------------------------------


@router.get("/tokens")
async def list_tokens(ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    return {"data": await tokens(container, ctx.waba_id)}


@router.post("/tokens", status_code=201)
async def create_token(ctx: ConsoleDep, container: ContainerDep, request: Request) -> dict[str, Any]:
    """The secret is in this answer only: Parley keeps its hash, never the token."""
    body = await _body(request, TokenCreate)
    with _in_console_terms():
        token_id, secret = await container.business.create_token(ctx.waba_id, body.name)
    created = next(t for t in await tokens(container, ctx.waba_id) if t["id"] == str(token_id))
    return {"token": created, "access_token": secret}


@router.post("/tokens/{token_id}/revoke")
async def revoke_token(token_id: str, ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    """Refused by the Cloud API from now on, in every process (the same revocation as `parley business token
    revoke`)."""
    wanted = _id(token_id, "token")
    try:
        await container.business.revoke_token(str(wanted), waba_id=ctx.waba_id)
    except GraphError as error:
        raise NotFoundError("no live token with that id in this business") from error
    revoked = next(t for t in await tokens(container, ctx.waba_id) if t["id"] == str(wanted))
    return {"token": revoked}


# --- webhook callback ----------------------------------------------------------------------------------


@router.get("/webhook")
async def get_webhook(ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    return await webhook_settings(container, ctx.waba_id)


@router.put("/webhook")
async def set_webhook(ctx: ConsoleDep, container: ContainerDep, request: Request) -> dict[str, Any]:
    """Verified first (Meta's GET handshake); nothing changes unless the URL answers the challenge."""
    body = await _body(request, CallbackUpdate)
    with _in_console_terms():
        await container.webhooks.set_callback(
            ctx.waba_id, callback_url=body.callback_url, verify_token=body.verify_token
        )
    return await webhook_settings(container, ctx.waba_id)


@router.post("/webhook/test", status_code=202)
async def send_test_event(ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    # Each click is a POST to the business's receiver: enough for trying things, not a way to flood it.
    retry = await container.rate_limiter.hit(f"console-test-event:{ctx.waba_id}", TEST_EVENTS_PER_MINUTE, 60)
    if retry is not None:
        raise RateLimitedError(
            f"That is {TEST_EVENTS_PER_MINUTE} test events this minute; try again in {retry} s.", retry
        )
    with _in_console_terms():
        event_id = await container.webhooks.send_test_event(ctx.waba_id)
    return {"event_id": str(event_id)}


# --- delivery log --------------------------------------------------------------------------------------


@router.get("/deliveries")
async def list_deliveries(
    ctx: ConsoleDep,
    container: ContainerDep,
    status: Annotated[DeliveryStatus | None, Query(description="Only deliveries in this state.")] = None,
    before: Annotated[str | None, Query(max_length=24, description="The `next` of the previous page.")] = None,
) -> dict[str, Any]:
    cursor = None
    if before:
        cursor = parse_id(before)
        if cursor is None:
            raise InvalidInputError("before must be the `next` value of the previous page")
    return await deliveries(container, ctx.waba_id, status, cursor)


@router.post("/deliveries/{event_id}/redeliver")
async def redeliver(event_id: str, ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    """Send one event again now (the CLI's `parley webhooks redeliver --event`)."""
    wanted = _id(event_id, "delivery")
    event = await container.webhooks.get_event(wanted)
    if event is None or event.waba_id != ctx.waba_id:
        raise NotFoundError("this business has no such delivery")
    if not await container.webhooks.redeliver(ctx.waba_id, event_ids=[wanted]):
        raise ConflictError("this event is already on its way to the receiver; look again in a moment")
    return {"requeued": 1}


@router.post("/deliveries/redeliver-failed")
async def redeliver_failed(ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    """Every failed event again, and those waiting for a retry now (the CLI's `parley webhooks redeliver
    --dead`): the receiver was fixed, the back-off was for the old trouble."""
    return {"requeued": await container.webhooks.redeliver(ctx.waba_id, dead_only=True)}
