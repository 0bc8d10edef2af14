"""Click-to-chat links `/c/{code}?ref=...`: each click gets a `ctwa_clid`; the person's first message
carrying it reaches the business with a `referral` and opens the free-entry-point path (policy.py)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import Connection

from parley.business import repository as repo
from parley.graph import GraphError
from parley.kit.errors import NotFoundError

if TYPE_CHECKING:
    from parley.container import Container

_LIMITS = {"source_url": 512, "source_id": 64, "headline": 256, "body": 1024, "prefilled_text": 1024}


async def create_link(container: Container, number_id: int, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise GraphError(100, "the request body must be a JSON object")
    values: dict[str, str] = {}
    for name, limit in _LIMITS.items():
        value = body.get(name, "")
        if not isinstance(value, str) or len(value) > limit:
            raise GraphError(100, f"{name} must be a string of at most {limit} characters")
        values[name] = value
    source_type = body.get("source_type", "ad")
    if source_type not in ("ad", "post"):
        raise GraphError(100, "source_type must be 'ad' or 'post'")
    code = secrets.token_urlsafe(6)
    now = container.clock.now_ms()
    public = container.settings.public_url.rstrip("/")
    row = repo.ReferralLinkRow(
        code=code,
        phone_number_id=number_id,
        source_type=source_type,
        source_id=values["source_id"] or code,
        source_url=values["source_url"] or f"{public}/c/{code}",
        headline=values["headline"],
        body=values["body"],
        prefilled_text=values["prefilled_text"],
        created_at=now,
    )
    await container.db.write(lambda c: repo.insert_referral_link(c, row))
    return {"code": code, "url": f"{public}/c/{code}", "source_id": row.source_id}


async def follow_link(container: Container, code: str, ref: str) -> str:
    """Record the click and send the browser to the web client, opened on the business's chat."""
    clid = "PRL" + secrets.token_urlsafe(24)
    now = container.clock.now_ms()

    def unit(conn: Connection) -> tuple[repo.ReferralLinkRow, str] | None:
        link = repo.get_referral_link(conn, code)
        if link is None:
            return None
        number = repo.get_number(conn, link.phone_number_id)
        if number is None:
            return None
        repo.insert_click(conn, clid, code, ref, now)
        return link, number.display_phone_number

    found = await container.db.write(unit)
    if found is None:
        raise NotFoundError("this link does not exist")
    link, phone = found
    target = f"/app#chat={quote(phone)}&clid={quote(clid)}"
    if link.prefilled_text:
        target += f"&text={quote(link.prefilled_text)}"
    return target
