"""Client API routes for a person's rights: download everything held about them, erase their account."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from parley.http import ERROR_RESPONSES, ContainerDep, PrincipalDep, client_address
from parley.kit.errors import RateLimitedError

router = APIRouter(prefix="/client/v1", tags=["rights"], responses=ERROR_RESPONSES)

_REFUSED: dict[int | str, dict[str, Any]] = {  # the error shape, as every client route answers it
    409: {**ERROR_RESPONSES[400], "description": "Money left in the wallet, or a business number"},
    429: {**ERROR_RESPONSES[400], "description": "Too many codes or downloads: try again later"},
}
EXPORTS_PER_HOUR = 5  # an archive reads everything the person has: cheap to ask, not to make
_CHUNK = 256 * 1024


class EraseCodeOut(BaseModel):
    phone: str
    expires_in: int = Field(description="Seconds the code stays valid")
    resend_after: int = Field(description="Seconds before another code may be asked for")


class EraseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(min_length=1, max_length=32, description="This account's number, typed again to confirm")
    code: str = Field(pattern=r"^\d{6}$", description="The one-time code just sent to it")


class ErasedOut(BaseModel):
    erased: bool
    messages_deleted: int = Field(description="Messages you sent in 1:1 chats, now deleted for everyone")
    groups_left: int
    media_deleted: int


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        spool.seek(0)
        while chunk := spool.read(_CHUNK):
            yield chunk
    finally:
        spool.close()


@router.get(
    "/me/export",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "A zip: JSON files, a README, media/"},
        429: _REFUSED[429],
    },
)
async def export(me: PrincipalDep, c: ContainerDep) -> StreamingResponse:
    """Everything Parley holds about you, as one zip archive (see docs/rights.md)."""
    retry_after = await c.rate_limiter.hit(f"rights:export:{me.user_id}", EXPORTS_PER_HOUR, 3600)
    if retry_after is not None:
        raise RateLimitedError("you downloaded your data several times this hour; try again later", retry_after)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - closed by the response
    try:
        await c.rights.export(me.user_id, spool)
    except BaseException:
        spool.close()
        raise
    name = f"parley-data-{me.user_id}.zip"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return StreamingResponse(_chunks(spool), media_type="application/zip", headers=headers)


@router.post("/me/erase/code", response_model=EraseCodeOut, responses=_REFUSED)
async def erase_code(request: Request, me: PrincipalDep, c: ContainerDep) -> EraseCodeOut:
    """Send a one-time code to this account's number, to confirm its erasure (refused at once when it would be)."""
    await c.rights.check_erasable(me.user_id)
    user = await c.accounts.get_user(me.user_id)
    sent = await c.accounts.request_code(user.phone, client_address(request))
    return EraseCodeOut(phone=sent.phone, expires_in=sent.expires_in, resend_after=sent.resend_after)


@router.post("/me/erase", response_model=ErasedOut, responses=_REFUSED)
async def erase(body: EraseIn, me: PrincipalDep, c: ContainerDep) -> ErasedOut:
    """Erase this account for good: confirmed by its number and the code just sent to it (docs/rights.md)."""
    done = await c.rights.erase_confirmed(me.user_id, body.phone, body.code)
    return ErasedOut(
        erased=True,
        messages_deleted=done.messages_deleted,
        groups_left=done.groups_left,
        media_deleted=done.media_deleted,
    )
