"""The inbox's chat links with QR codes and the business profile editor (`/inbox/api/links`, `/inbox/api/profile`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from parley.http import ContainerDep
from parley.inbox import links
from parley.inbox.endpoints import AgentDep, BodyDep

router = APIRouter(prefix="/inbox/api", tags=["team inbox"])
_MIME_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


@router.get("/links")
async def list_links(ctx: AgentDep, container: ContainerDep) -> dict[str, Any]:
    return {"data": await links.list_links(container.business_for_inbox, ctx)}


@router.post("/links", status_code=201)
async def create_link(ctx: AgentDep, container: ContainerDep, body: BodyDep) -> dict[str, Any]:
    return await links.create_link(container.business_for_inbox, ctx, body)


@router.delete("/links/{code}", status_code=204)
async def delete_link(code: str, ctx: AgentDep, container: ContainerDep) -> Response:
    await links.delete_link(container.business_for_inbox, ctx, code)
    return Response(status_code=204)


@router.get("/links/{code}/qr.png", response_class=Response)
async def link_png(code: str, ctx: AgentDep, container: ContainerDep) -> Response:
    return await _image(container, ctx, code, "png")


@router.get("/links/{code}/qr.svg", response_class=Response)
async def link_svg(code: str, ctx: AgentDep, container: ContainerDep) -> Response:
    return await _image(container, ctx, code, "svg")


async def _image(container: ContainerDep, ctx: AgentDep, code: str, kind: str) -> Response:
    image = await links.link_image(container.business_for_inbox, ctx, code, kind)
    # Private: the session may end, and another agent of another business must not get it from a shared cache.
    return Response(image, media_type=_MIME_TYPES[kind], headers={"Cache-Control": "private, max-age=300"})


@router.get("/profile")
async def profile(
    ctx: AgentDep, container: ContainerDep, number: Annotated[str | None, Query()] = None
) -> dict[str, Any]:
    return await links.profile(container.business_for_inbox, ctx, number)


@router.patch("/profile")
async def update_profile(
    ctx: AgentDep, container: ContainerDep, body: BodyDep, number: Annotated[str | None, Query()] = None
) -> dict[str, Any]:
    return await links.update_profile(container.business_for_inbox, ctx, number, body)
