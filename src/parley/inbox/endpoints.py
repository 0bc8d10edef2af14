"""The team inbox's JSON API under `/inbox/api` (session cookie + CSRF header) and its live stream."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, Response

from parley.http import ContainerDep, get_container
from parley.inbox.cookies import SESSION_COOKIE, CsrfError, same_token
from parley.inbox.inputs import optional_id
from parley.inbox.service import SESSIONS_ENDED, AgentContext, ConversationQuery
from parley.kit.errors import InvalidInputError, UnauthenticatedError
from parley.kit.ids import parse_id

_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

router = APIRouter(prefix="/inbox/api", tags=["team inbox"])


async def agent_context(request: Request, container: ContainerDep) -> AgentContext:
    """The signed-in agent; a write must also carry the session's CSRF token in `X-CSRF-Token`."""
    ctx = await container.inbox.session(request.cookies.get(SESSION_COOKIE))
    if request.method not in _SAFE_METHODS and not same_token(request.headers.get("x-csrf-token", ""), ctx.csrf_token):
        raise CsrfError("missing or wrong X-CSRF-Token header (GET /inbox/api/me gives it)")
    return ctx


AgentDep = Annotated[AgentContext, Depends(agent_context)]


async def _body(request: Request) -> Any:
    """Every inbox route's JSON body. orjson, not the json module: json turns an escaped lone UTF-16 surrogate
    (`"\\ud800"`) into a str that no database, page or response can encode; orjson refuses it here, once."""
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(f"the request body is not valid JSON: {exc}") from exc


BodyDep = Annotated[Any, Depends(_body)]


# --- me and agents ------------------------------------------------------------------------------


@router.get("/me")
async def me(ctx: AgentDep, container: ContainerDep) -> dict[str, Any]:
    return await container.inbox.me(ctx)


@router.patch("/me")
async def update_me(ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInputError("the request body must be a JSON object")
    allowed = {k: v for k, v in body.items() if k in ("availability", "name")}
    if set(body) - set(allowed):
        raise InvalidInputError("you can change your availability and name here")
    return await container.inbox.update_agent(ctx, ctx.agent_id, allowed, self_service=True)


@router.get("/agents")
async def agents(ctx: AgentDep, container: ContainerDep) -> dict[str, Any]:
    return {"data": await container.inbox.list_agents(ctx)}


@router.post("/agents", status_code=201)
async def invite_agent(ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    agent, invite = await container.inbox.invite_agent(ctx, body)
    return {"agent": agent, "invite_url": f"/inbox/invite/{invite}"}


@router.patch("/agents/{agent_id}")
async def update_agent(agent_id: str, ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    return await container.inbox.update_agent(ctx, agent_id, body)


@router.delete("/agents/{agent_id}", status_code=204)
async def disable_agent(agent_id: str, ctx: AgentDep, container: ContainerDep) -> Response:
    await container.inbox.disable_agent(ctx, agent_id)
    return Response(status_code=204)


# --- conversations ------------------------------------------------------------------------------


@router.get("/conversations")
async def conversations(
    ctx: AgentDep,
    container: ContainerDep,
    status: Annotated[str, Query()] = "open",
    assignee: Annotated[str, Query()] = "all",
    label: Annotated[str | None, Query()] = None,
    number: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query()] = 25,
) -> dict[str, Any]:
    query = ConversationQuery(
        status=None if status == "all" else status,
        assignee=assignee,
        label_id=optional_id(label, "label"),
        number_id=optional_id(number, "number"),
        search=q,
    )
    data, next_cursor = await container.inbox.list_conversations(ctx, query, cursor, limit)
    return {"data": data, "paging": {"next": next_cursor}}


@router.post("/conversations", status_code=201)
async def start_conversation(
    ctx: AgentDep,
    container: ContainerDep,
    body: BodyDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> dict[str, Any]:
    """Start (or continue) a conversation with an approved template: `{"number_id", "contact_id" | "to",
    "template": {"name", "language", "components"}}`; sent and charged like `POST /{phone_number_id}/messages`."""
    return await container.inbox.start_conversation(ctx, body, idempotency_key)


@router.post("/conversations/preview")
async def start_preview(ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    """What `POST /conversations` with this body would cost, sending nothing."""
    return await container.inbox.start_preview(ctx, body)


@router.get("/templates")
async def start_templates(ctx: AgentDep, container: ContainerDep) -> dict[str, Any]:
    return {"data": await container.inbox.start_templates(ctx)}


@router.get("/counts")
async def counts(ctx: AgentDep, container: ContainerDep) -> dict[str, int]:
    return await container.inbox.counts(ctx)


@router.get("/conversations/{conversation_id}")
async def conversation(conversation_id: str, ctx: AgentDep, container: ContainerDep) -> dict[str, Any]:
    return await container.inbox.conversation(ctx, conversation_id)


@router.get("/conversations/{conversation_id}/messages")
async def history(
    conversation_id: str,
    ctx: AgentDep,
    container: ContainerDep,
    before: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query()] = 50,
) -> dict[str, Any]:
    return await container.inbox.history(ctx, conversation_id, before, limit)


@router.post("/conversations/{conversation_id}/messages", status_code=201)
async def reply(
    conversation_id: str,
    ctx: AgentDep,
    container: ContainerDep,
    body: BodyDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> dict[str, Any]:
    return await container.inbox.reply(ctx, conversation_id, body, idempotency_key)


@router.post("/conversations/{conversation_id}/preview")
async def preview(conversation_id: str, ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    return await container.inbox.preview(ctx, conversation_id, body)


@router.get("/conversations/{conversation_id}/templates")
async def templates(conversation_id: str, ctx: AgentDep, container: ContainerDep) -> dict[str, Any]:
    return {"data": await container.inbox.templates_for(ctx, conversation_id)}


@router.post("/conversations/{conversation_id}/notes", status_code=201)
async def add_note(conversation_id: str, ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    return await container.inbox.add_note(ctx, conversation_id, body)


@router.post("/conversations/{conversation_id}/assign")
async def assign(conversation_id: str, ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    return await container.inbox.assign(ctx, conversation_id, body)


@router.post("/conversations/{conversation_id}/status")
async def set_status(conversation_id: str, ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    return await container.inbox.set_status(ctx, conversation_id, body)


@router.post("/conversations/{conversation_id}/labels")
async def add_label(conversation_id: str, ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    return await container.inbox.add_label(ctx, conversation_id, body)


@router.delete("/conversations/{conversation_id}/labels/{label_id}")
async def remove_label(conversation_id: str, label_id: str, ctx: AgentDep, container: ContainerDep) -> dict[str, Any]:
    return await container.inbox.remove_label(ctx, conversation_id, label_id)


@router.post("/conversations/{conversation_id}/read")
async def mark_read(conversation_id: str, ctx: AgentDep, container: ContainerDep) -> dict[str, int]:
    await container.inbox.mark_read(ctx, conversation_id)
    return {"unread": 0}


@router.get("/media/{media_id}", response_class=FileResponse)
async def media(media_id: str, ctx: AgentDep, container: ContainerDep) -> FileResponse:
    """A photo or document of a conversation, for the agent's page (which sends the session cookie)."""
    item = await container.business_for_inbox.media_of_business(ctx.waba_id, media_id)
    return FileResponse(item.path, media_type=item.mime_type, filename=item.filename)


# --- labels, quick replies ----------------------------------------------------------------------


@router.get("/labels")
async def labels(ctx: AgentDep, container: ContainerDep) -> dict[str, Any]:
    return {"data": await container.inbox.labels(ctx)}


@router.post("/labels", status_code=201)
async def create_label(ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    return await container.inbox.create_label(ctx, body)


@router.patch("/labels/{label_id}")
async def update_label(label_id: str, ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    return await container.inbox.update_label(ctx, label_id, body)


@router.delete("/labels/{label_id}", status_code=204)
async def delete_label(label_id: str, ctx: AgentDep, container: ContainerDep) -> Response:
    await container.inbox.delete_label(ctx, label_id)
    return Response(status_code=204)


@router.get("/quick-replies")
async def quick_replies(ctx: AgentDep, container: ContainerDep) -> dict[str, Any]:
    return {"data": await container.inbox.quick_replies(ctx)}


@router.post("/quick-replies", status_code=201)
async def create_quick_reply(ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    return await container.inbox.create_quick_reply(ctx, body)


@router.patch("/quick-replies/{reply_id}")
async def update_quick_reply(reply_id: str, ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    return await container.inbox.update_quick_reply(ctx, reply_id, body)


@router.delete("/quick-replies/{reply_id}", status_code=204)
async def delete_quick_reply(reply_id: str, ctx: AgentDep, container: ContainerDep) -> Response:
    await container.inbox.delete_quick_reply(ctx, reply_id)
    return Response(status_code=204)


# --- settings: hours, routing -------------------------------------------------------------------


@router.get("/settings/hours")
async def hours(ctx: AgentDep, container: ContainerDep) -> dict[str, Any]:
    return await container.inbox.hours(ctx)


@router.put("/settings/hours")
async def set_hours(ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    return await container.inbox.set_hours(ctx, body)


@router.get("/numbers/{number_id}/routing")
async def routing(number_id: str, ctx: AgentDep, container: ContainerDep) -> dict[str, Any]:
    return await container.inbox.routing(ctx, number_id)


@router.put("/numbers/{number_id}/routing")
async def set_routing(number_id: str, ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    return await container.inbox.set_routing(ctx, number_id, body)


# --- contacts -----------------------------------------------------------------------------------


@router.get("/contacts")
async def contacts(
    ctx: AgentDep,
    container: ContainerDep,
    q: Annotated[str | None, Query()] = None,
    label: Annotated[str | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query()] = 25,
) -> dict[str, Any]:
    data, next_cursor = await container.inbox.contacts(ctx, q, label, cursor, limit)
    return {"data": data, "paging": {"next": next_cursor}}


@router.get("/contacts/{contact_id}")
async def contact(contact_id: str, ctx: AgentDep, container: ContainerDep) -> dict[str, Any]:
    return await container.inbox.contact(ctx.waba_id, contact_id)


@router.patch("/contacts/{contact_id}")
async def update_contact(contact_id: str, ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    return await container.inbox.update_contact(ctx.waba_id, contact_id, body)


@router.post("/contacts/{contact_id}/labels")
async def label_contact(contact_id: str, ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    raw = body.get("label_id") if isinstance(body, dict) else None
    return await container.inbox.label_contact(ctx, contact_id, str(raw or ""), add=True)


@router.delete("/contacts/{contact_id}/labels/{label_id}")
async def unlabel_contact(contact_id: str, label_id: str, ctx: AgentDep, container: ContainerDep) -> dict[str, Any]:
    return await container.inbox.label_contact(ctx, contact_id, label_id, add=False)


# --- the live stream ----------------------------------------------------------------------------


@router.websocket("/stream")
async def stream(ws: WebSocket) -> None:
    """Hints that a conversation changed; the page refetches what it shows (the database stays the truth)."""
    container = get_container(ws)
    token = ws.cookies.get(SESSION_COOKIE)
    try:
        ctx = await container.inbox.session(token)
    except UnauthenticatedError:
        await ws.close(code=4401)
        return
    origin = ws.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != ws.headers.get("host"):
        await ws.close(code=4403)  # another site's page must not ride the agent's cookie
        return
    await ws.accept()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)

    def forward(event: dict[str, Any]) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(event)

    inbox_topic, number_topics = await container.inbox.stream_topics(ctx)
    subscriptions = [container.bus.subscribe(inbox_topic, forward)]
    subscriptions += [container.bus.subscribe(topic, forward) for topic in number_topics]
    chats: dict[int, str | None] = {}
    receiver = asyncio.create_task(_drain(ws))
    loop = asyncio.get_running_loop()
    check_every = container.settings.inbox.stream_session_check_s
    next_check = loop.time() + check_every
    try:
        while not receiver.done():
            getter = asyncio.create_task(queue.get())
            wait_s = max(0.0, next_check - loop.time())
            done, _ = await asyncio.wait({getter, receiver}, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                getter.cancel()
                break
            if getter not in done:
                # Now and then, whatever the bus said: a session ended by a process whose bus does not reach this
                # one (the operator's CLI beside a SQLite server), or one that simply expired.
                getter.cancel()
                next_check = loop.time() + check_every
                if not await _signed_in(container, token):
                    await ws.close(code=4401)
                    break
                continue
            event = getter.result()
            if event.get("type") == SESSIONS_ENDED:
                # Signed out, removed or reset: the socket ends with the session, at once, in every process.
                if event.get("agent_id") == str(ctx.agent_id) and not await _signed_in(container, token):
                    await ws.close(code=4401)
                    break
                continue
            out = await _inbox_event(container, ctx, event, chats)
            if out is not None:
                await ws.send_json(out)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        receiver.cancel()
        for subscription in subscriptions:
            subscription.cancel()


async def _signed_in(container: ContainerDep, token: str | None) -> bool:
    try:
        await container.inbox.session(token, slide=False)  # an open tab alone does not keep a session alive
    except UnauthenticatedError:
        return False
    return True


async def _drain(ws: WebSocket) -> None:
    """Read (and ignore) what the page sends, so a closed socket ends the stream."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await ws.receive_text()


async def _inbox_event(
    container: ContainerDep, ctx: AgentContext, event: dict[str, Any], chats: dict[int, str | None]
) -> dict[str, Any] | None:
    if event.get("type") in ("conversation", "agents"):
        return event
    # A business number's own event (a person's message, a receipt): name its conversation.
    message = event.get("message") if isinstance(event.get("message"), dict) else event
    chat_raw = message.get("chat_id") if isinstance(message, dict) else None
    chat_id = parse_id(str(chat_raw)) if chat_raw is not None else None
    if chat_id is None:
        return None
    if chat_id not in chats:
        if len(chats) > 10_000:
            chats.clear()
        chats[chat_id] = await container.inbox.conversation_of_chat(ctx, chat_id)
    conversation_id = chats[chat_id]
    return None if conversation_id is None else {"type": "conversation", "id": conversation_id}
