"""The inbox's view of a business's chat links with QR codes, and of its numbers' profiles (admins change them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from parley.inbox.inputs import require_admin
from parley.inbox.service import AgentContext

if TYPE_CHECKING:
    from parley.inbox.ports import BusinessPort


def link_view(link: Any) -> dict[str, Any]:
    """A link as the inbox shows it; its images come through the inbox API (cookie auth)."""
    images = f"/inbox/api/links/{quote(link.code)}"
    return {
        "code": link.code,
        "url": link.url,
        "prefilled_message": link.prefilled_message,
        "number_id": str(link.number_id),
        "clicks": link.clicks,
        "conversations": link.conversations,
        "qr_png": f"{images}/qr.png",
        "qr_svg": f"{images}/qr.svg",
        "created_at": link.created_at,
    }


async def list_links(business: BusinessPort, ctx: AgentContext) -> list[dict[str, Any]]:
    return [link_view(link) for link in await business.inbox_links(ctx.waba_id)]


async def create_link(business: BusinessPort, ctx: AgentContext, body: object) -> dict[str, Any]:
    require_admin(ctx)
    return link_view(await business.create_inbox_link(ctx.waba_id, body))


async def delete_link(business: BusinessPort, ctx: AgentContext, code: str) -> None:
    require_admin(ctx)
    await business.delete_inbox_link(ctx.waba_id, code)


async def link_image(business: BusinessPort, ctx: AgentContext, code: str, kind: str) -> bytes:
    return await business.inbox_link_image(ctx.waba_id, code, kind)


async def profile(business: BusinessPort, ctx: AgentContext, number: str | None) -> dict[str, Any]:
    return await business.inbox_profile(ctx.waba_id, number)


async def update_profile(business: BusinessPort, ctx: AgentContext, number: str | None, body: object) -> dict[str, Any]:
    require_admin(ctx)
    return await business.update_inbox_profile(ctx.waba_id, number, body)
