"""Channel routes: people's client API (`/client/v1/channels`) and the Business API (`/v{N}.0/...`); `GET /{id}` of
a business's channel goes through business's `/{object_id}` dispatcher."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse

from parley.channels.schemas import (
    AdminInviteIn,
    ChannelIn,
    ChannelUpdateIn,
    ForwardIn,
    MuteIn,
    OwnerIn,
    PostEditIn,
    PostIn,
    ReactionIn,
    ReadIn,
    Sort,
    VoteIn,
)
from parley.channels.service import CATEGORIES
from parley.http import ERROR_RESPONSES, ContainerDep, GraphScopeDep, PrincipalDep, graph_params, graph_router

router = APIRouter(prefix="/client/v1/channels", tags=["channels"], responses=ERROR_RESPONSES)
graph = graph_router("channels")

Json = dict[str, Any]
SeqQuery = Annotated[int | None, Query(ge=0, le=2**62)]


@router.post("", summary="Create a channel (you are its owner)")
async def create(body: ChannelIn, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.create(me.user_id, body)


@router.get("/categories", summary="The directory's categories")
async def categories() -> Json:
    return {"categories": list(CATEGORIES)}


@router.get("/followed", summary="The channels you follow, with unread counts")
async def followed(c: ContainerDep, me: PrincipalDep) -> Json:
    return {"channels": await c.channels.followed(me.user_id)}


@router.get("/mine", summary="The channels you own or help run")
async def mine(c: ContainerDep, me: PrincipalDep) -> Json:
    return {"channels": await c.channels.administered(me.user_id)}


@router.get("/invitations", summary="Invitations to be an admin, waiting for you (7 days each)")
async def invitations(c: ContainerDep, me: PrincipalDep) -> Json:
    return {"invitations": await c.channels.invitations(me.user_id)}


@router.get("/directory", summary="Find channels: search by name, category, country; popular, new or active")
async def directory(
    c: ContainerDep,
    me: PrincipalDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
    sort: Sort = "popular",
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Json:
    return await c.channels.directory(q, category or None, country or None, sort, limit, offset)


@router.get("/by-code/{code}", summary="The channel behind a channel link (/c/{code})")
async def by_code(code: str, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.by_code(me.user_id, code)


@router.get("/{channel_id}", summary="A channel as you see it (following, muted, unread, your role)")
async def get_channel(channel_id: str, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.get(me.user_id, channel_id)


@router.patch("/{channel_id}", summary="Change a channel's name, description, picture, settings (admins)")
async def update_channel(channel_id: str, body: ChannelUpdateIn, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.update(me.user_id, channel_id, body)


@router.delete("/{channel_id}", status_code=204, summary="Delete a channel (its owner)")
async def delete_channel(channel_id: str, c: ContainerDep, me: PrincipalDep) -> Response:
    await c.channels.delete(me.user_id, channel_id)
    return Response(status_code=204)


@router.get("/{channel_id}/admins", summary="The owner and admins, by name (admins only)")
async def admins(channel_id: str, c: ContainerDep, me: PrincipalDep) -> Json:
    return {"admins": await c.channels.admins(me.user_id, channel_id)}


@router.post("/{channel_id}/admins", summary="Invite an admin by phone number (the owner; expires in 7 days)")
async def invite_admin(channel_id: str, body: AdminInviteIn, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.invite_admin(me.user_id, channel_id, body.phone)


@router.post("/{channel_id}/admins/accept", summary="Accept your invitation to be an admin")
async def accept_admin(channel_id: str, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.accept_admin(me.user_id, channel_id)


@router.delete("/{channel_id}/admins/{user_id}", status_code=204, summary="Remove an admin (the owner)")
async def remove_admin(channel_id: str, user_id: str, c: ContainerDep, me: PrincipalDep) -> Response:
    await c.channels.remove_admin(me.user_id, channel_id, user_id)
    return Response(status_code=204)


@router.put("/{channel_id}/owner", summary="Hand the channel to one of its admins (the owner)")
async def transfer(channel_id: str, body: OwnerIn, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.transfer_ownership(me.user_id, channel_id, body.user_id)


@router.put("/{channel_id}/follow", summary="Follow a channel")
async def follow(channel_id: str, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.follow(me.user_id, channel_id)


@router.delete("/{channel_id}/follow", summary="Unfollow a channel")
async def unfollow(channel_id: str, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.unfollow(me.user_id, channel_id)


@router.put("/{channel_id}/mute", summary="Mute or unmute a channel you follow")
async def mute(channel_id: str, body: MuteIn, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.mute(me.user_id, channel_id, body.muted)


@router.post("/{channel_id}/read", summary="Mark the channel read up to a post's seq")
async def mark_read(channel_id: str, body: ReadIn, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.mark_read(me.user_id, channel_id, body.seq)


@router.post("/{channel_id}/posts", summary="Post (admins): text, image, video, poll or link; retried by client_id")
async def create_post(channel_id: str, body: PostIn, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.post(me.user_id, channel_id, body)


@router.get("/{channel_id}/posts", summary="The channel's log: after_seq (oldest first) or before_seq, 30 days")
async def posts(
    channel_id: str,
    c: ContainerDep,
    me: PrincipalDep,
    after_seq: SeqQuery = None,
    before_seq: SeqQuery = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> Json:
    return await c.channels.posts(me.user_id, channel_id, after_seq, before_seq, limit)


@router.patch("/{channel_id}/posts/{post_id}", summary="Edit a post's text (admins)")
async def edit_post(channel_id: str, post_id: str, body: PostEditIn, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.edit_post(me.user_id, channel_id, post_id, body.text)


@router.delete("/{channel_id}/posts/{post_id}", status_code=204, summary="Delete a post (admins)")
async def delete_post(channel_id: str, post_id: str, c: ContainerDep, me: PrincipalDep) -> Response:
    await c.channels.delete_post(me.user_id, channel_id, post_id)
    return Response(status_code=204)


@router.put("/{channel_id}/posts/{post_id}/reaction", summary="React (one emoji per post; the same again is 409)")
async def react(channel_id: str, post_id: str, body: ReactionIn, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.react(me.user_id, channel_id, post_id, body.emoji)


@router.delete("/{channel_id}/posts/{post_id}/reaction", summary="Remove your reaction")
async def unreact(channel_id: str, post_id: str, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.react(me.user_id, channel_id, post_id, None)


@router.post("/{channel_id}/posts/{post_id}/vote", summary="Vote in a poll (once)")
async def vote(channel_id: str, post_id: str, body: VoteIn, c: ContainerDep, me: PrincipalDep) -> Json:
    return await c.channels.vote(me.user_id, channel_id, post_id, body.option)


@router.post("/{channel_id}/posts/{post_id}/forward", summary="Forward a post into a chat, with the channel's link")
async def forward(channel_id: str, post_id: str, body: ForwardIn, c: ContainerDep, me: PrincipalDep) -> Json:
    sent = await c.channels.forward(me.user_id, channel_id, post_id, body)
    return {"id": sent.message_id, "chat_id": str(sent.chat_id)}


@router.get("/{channel_id}/media/{media_id}", response_class=FileResponse, summary="A channel's picture or post media")
async def media(channel_id: str, media_id: str, c: ContainerDep) -> FileResponse:
    # No token: an <img> cannot send one, and only the public picture and free posts' media are served here.
    item = await c.channels.media_file(channel_id, media_id)
    return FileResponse(item.path, media_type=item.mime_type, headers={"Cache-Control": "private, max-age=3600"})


# --- Business API ---------------------------------------------------------------------------------------------


@graph.post("/{waba_id}/channels", summary="Create a channel run by the business (Parley extension)")
async def business_create(waba_id: str, request: Request, c: ContainerDep, scope: GraphScopeDep) -> Json:
    return await c.channels.business_create(scope, waba_id, await graph_params(request))


@graph.get("/{waba_id}/channels", summary="The business's channels (Parley extension)")
async def business_list(waba_id: str, c: ContainerDep, scope: GraphScopeDep) -> Json:
    return await c.channels.business_list(scope, waba_id)


@graph.post("/{channel_id}/posts", summary="Post to the business's channel (Parley extension)")
async def business_post(channel_id: str, request: Request, c: ContainerDep, scope: GraphScopeDep) -> Json:
    return await c.channels.business_post(scope, channel_id, await graph_params(request))


@graph.get("/{channel_id}/posts", summary="The business's channel's posts (Parley extension)")
async def business_posts(
    channel_id: str, c: ContainerDep, scope: GraphScopeDep, limit: Annotated[int, Query(ge=1, le=100)] = 25
) -> Json:
    return await c.channels.business_posts(scope, channel_id, limit)
