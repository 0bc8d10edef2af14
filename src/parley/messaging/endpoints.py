"""Client API routes for chats, messages, groups, and the realtime stream."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response, WebSocket
from fastapi.responses import FileResponse
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from parley.http import ERROR_RESPONSES, ContainerDep, PrincipalDep, get_container, stream_token
from parley.kit.errors import AppError
from parley.messaging.render import STATUS_NAMES
from parley.messaging.schemas import (
    AddMembersIn,
    ChatsOut,
    CreateGroupIn,
    EditMessageIn,
    ForwardIn,
    GroupOut,
    InviteOut,
    MessageOut,
    MessagesPage,
    PresenceOut,
    ReactionIn,
    ReceiptOut,
    ReceiptsOut,
    SearchPage,
    SendMessageIn,
    SendMessageOut,
)
from parley.messaging.stream import DeviceStream, StreamSocket, serve_asgi

router = APIRouter(prefix="/client/v1", tags=["messaging"], responses=ERROR_RESPONSES)


@router.post("/messages", response_model=SendMessageOut)
async def send_message(body: SendMessageIn, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    sent = await c.messaging.send(me.user_id, body)
    return {"id": str(sent.message_id), "chat_id": str(sent.chat_id), "timestamp": sent.timestamp}


@router.patch("/messages/{message_id}", response_model=MessageOut)
async def edit_message(message_id: str, body: EditMessageIn, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return await c.messaging.edit(me.user_id, message_id, body.text.body if body.text else body.encrypted)


@router.delete("/messages/{message_id}", status_code=204)
async def delete_message(message_id: str, me: PrincipalDep, c: ContainerDep) -> Response:
    await c.messaging.delete(me.user_id, message_id)
    return Response(status_code=204)


@router.post("/messages/{message_id}/reactions", response_model=MessageOut)
async def react(message_id: str, body: ReactionIn, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return await c.messaging.react(me.user_id, message_id, body.emoji)


@router.post("/messages/{message_id}/forward", response_model=SendMessageOut)
async def forward_message(message_id: str, body: ForwardIn, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    sent = await c.messaging.forward(me.user_id, message_id, body)
    return {"id": str(sent.message_id), "chat_id": str(sent.chat_id), "timestamp": sent.timestamp}


@router.get("/search", response_model=SearchPage)
async def search(
    me: PrincipalDep,
    c: ContainerDep,
    q: str = Query(max_length=200),
    before: str | None = None,
    limit: int = Query(default=20, ge=1, le=50),
) -> dict[str, Any]:
    # Server-side while content is stored readable; end-to-end encryption will move search into the client.
    page, cursor = await c.messaging.search(me.user_id, q, before, limit)
    return {"messages": page, "next": cursor}


@router.post("/messages/{message_id}/read", status_code=204)
async def mark_read(message_id: str, me: PrincipalDep, c: ContainerDep) -> Response:
    await c.messaging.mark_read(me.user_id, message_id)
    return Response(status_code=204)


@router.get("/messages/{message_id}/receipts", response_model=ReceiptsOut)
async def receipts(message_id: str, me: PrincipalDep, c: ContainerDep) -> ReceiptsOut:
    rows = await c.messaging.receipts(me.user_id, message_id)
    return ReceiptsOut(
        receipts=[ReceiptOut(user_id=str(u), status=STATUS_NAMES[s], delivered_at=d, read_at=r) for u, s, d, r in rows]
    )


@router.get("/chats", response_model=ChatsOut)
async def list_chats(me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return {"chats": await c.messaging.chats(me.user_id)}


@router.get("/chats/{chat_id}/messages", response_model=MessagesPage)
async def chat_messages(
    chat_id: str,
    me: PrincipalDep,
    c: ContainerDep,
    before: str | None = None,
    limit: int = Query(default=50, ge=1, le=100),
) -> dict[str, Any]:
    page, cursor = await c.messaging.history(me.user_id, chat_id, before, limit)
    return {"messages": page, "next": cursor}


@router.post("/chats/{chat_id}/typing", status_code=204)
async def typing(chat_id: str, me: PrincipalDep, c: ContainerDep) -> Response:
    await c.messaging.typing(me.user_id, chat_id)
    return Response(status_code=204)


@router.get("/media/{media_id}", response_class=FileResponse, tags=["media"])
async def download_media(media_id: str, me: PrincipalDep, c: ContainerDep) -> FileResponse:
    item = await c.messaging.media_for_member(me.user_id, media_id)
    return FileResponse(item.path, media_type=item.mime_type, filename=item.filename)


@router.get("/users/{user_id}/presence", response_model=PresenceOut)
async def presence(user_id: str, me: PrincipalDep, c: ContainerDep) -> PresenceOut:
    """Online, or last seen, of someone you have a 1:1 chat with, as their privacy settings allow (hidden looks
    like never seen); 404 without such a chat."""
    online, last_seen = await c.messaging.presence(me.user_id, user_id)
    return PresenceOut(online=online, last_seen=None if online else last_seen)


# --- groups ------------------------------------------------------------------------------------


@router.post("/groups", response_model=GroupOut, tags=["groups"])
async def create_group(body: CreateGroupIn, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return await c.messaging.create_group(me.user_id, body.name, body.members)


@router.get("/groups/{group_id}", response_model=GroupOut, tags=["groups"])
async def get_group(group_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return await c.messaging.group(me.user_id, group_id)


@router.post("/groups/{group_id}/members", response_model=GroupOut, tags=["groups"])
async def add_members(group_id: str, body: AddMembersIn, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return await c.messaging.add_members(me.user_id, group_id, body.phones)


@router.delete("/groups/{group_id}/members/{user_id}", response_model=GroupOut, tags=["groups"])
async def remove_member(group_id: str, user_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return await c.messaging.remove_member(me.user_id, group_id, user_id)


@router.put("/groups/{group_id}/admins/{user_id}", response_model=GroupOut, tags=["groups"])
async def promote(group_id: str, user_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return await c.messaging.set_admin(me.user_id, group_id, user_id, True)


@router.delete("/groups/{group_id}/admins/{user_id}", response_model=GroupOut, tags=["groups"])
async def demote(group_id: str, user_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return await c.messaging.set_admin(me.user_id, group_id, user_id, False)


@router.post("/groups/{group_id}/leave", status_code=204, tags=["groups"])
async def leave(group_id: str, me: PrincipalDep, c: ContainerDep) -> Response:
    await c.messaging.leave(me.user_id, group_id)
    return Response(status_code=204)


@router.post("/groups/{group_id}/invites", response_model=InviteOut, tags=["groups"])
async def create_invite(group_id: str, me: PrincipalDep, c: ContainerDep) -> InviteOut:
    code, url = await c.messaging.create_invite(me.user_id, group_id)
    return InviteOut(code=code, url=url)


@router.delete("/groups/{group_id}/invites/{code}", status_code=204, tags=["groups"])
async def revoke_invite(group_id: str, code: str, me: PrincipalDep, c: ContainerDep) -> Response:
    await c.messaging.revoke_invite(me.user_id, group_id, code)
    return Response(status_code=204)


@router.post("/invites/{code}/join", response_model=GroupOut, tags=["groups"])
async def join(code: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return await c.messaging.join(me.user_id, code)


@router.post("/group-invites/{invite_id}/accept", response_model=GroupOut, tags=["groups"])
async def accept_group_invite(invite_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """Join a group you were invited to in a 1:1 chat (when your privacy settings did not let its admin add you)."""
    return await c.messaging.accept_group_invite(me.user_id, invite_id)


# --- realtime ----------------------------------------------------------------------------------


@router.websocket("/stream")
async def stream(ws: WebSocket) -> None:
    container = get_container(ws)
    try:
        me = await container.accounts.authenticate(stream_token(ws))
    except AppError as error:
        # Refuse before accepting: the client sees an HTTP 403 on the upgrade.
        await ws.close(code=1008, reason=error.message)
        return
    await ws.accept()
    await serve_asgi(ws, container.bus, container.messaging, container.streams, me.user_id, me.device_id)


class StreamOpener:
    """The stream route for `parley serve`'s own WebSocket protocol (messaging/stream_protocol.py): the same
    authentication and the same stream, without the ASGI app between them and the socket."""

    __slots__ = ("_app",)

    def __init__(self, app: Starlette) -> None:
        self._app = app  # its container exists once the lifespan has started

    async def authenticate(self, connection: HTTPConnection) -> tuple[int, int]:
        me = await self._app.state.container.accounts.authenticate(stream_token(connection))
        return me.user_id, me.device_id

    def stream(self, socket: StreamSocket, user_id: int, device_id: int) -> DeviceStream:
        c = self._app.state.container
        return DeviceStream(socket, c.bus, c.messaging, c.streams, user_id, device_id)
