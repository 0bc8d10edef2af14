"""Client API routes for blocking, reporting and privacy settings."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from parley.http import ERROR_RESPONSES, ContainerDep, PrincipalDep, client_address
from parley.kit.errors import NotFoundError
from parley.kit.ids import parse_id

router = APIRouter(prefix="/client/v1", tags=["privacy"], responses=ERROR_RESPONSES)


class BlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(min_length=1, max_length=32)


class BlockedOut(BaseModel):
    user_id: str
    phone: str
    name: str
    blocked_at: int


class BlocksOut(BaseModel):
    blocks: list[BlockedOut]


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str | None = Field(default=None, pattern=r"^\d{1,20}$")
    phone: str | None = Field(default=None, max_length=32)
    chat_id: str | None = Field(default=None, pattern=r"^\d{1,20}$")
    message_ids: list[str] = Field(default_factory=list, max_length=100)
    reason: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _one_target(self) -> ReportIn:
        if (self.user_id is None) == (self.phone is None):
            raise ValueError("give exactly one of 'user_id' and 'phone'")
        if any(parse_id(i) is None for i in (self.user_id or "0", self.chat_id or "0")):
            raise ValueError("user_id and chat_id are ids")
        if any(parse_id(m) is None for m in self.message_ids):
            raise ValueError("message_ids are message ids")
        return self


class ReportOut(BaseModel):
    id: str


GroupAdd = Literal["everyone", "contacts", "nobody"]


class PrivacyOut(BaseModel):
    group_add: GroupAdd = Field(description="Who may add you to groups; anyone else sends you an invitation instead")
    last_seen: GroupAdd = Field(
        description="Who may see your last seen and when you are online; choosing `nobody` hides others' from you too"
    )


class PrivacyUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group_add: GroupAdd | None = None
    last_seen: GroupAdd | None = None


@router.get("/privacy", response_model=PrivacyOut)
async def get_privacy(me: PrincipalDep, c: ContainerDep) -> PrivacyOut:
    return PrivacyOut.model_validate(
        {
            "group_add": await c.privacy.group_add_policy(me.user_id),
            "last_seen": await c.privacy.last_seen_policy(me.user_id),
        }
    )


@router.patch("/privacy", response_model=PrivacyOut)
async def update_privacy(body: PrivacyUpdateIn, me: PrincipalDep, c: ContainerDep) -> PrivacyOut:
    await c.privacy.set_policies(me.user_id, body.model_dump(exclude_none=True))
    return await get_privacy(me, c)


@router.get("/blocks", response_model=BlocksOut)
async def list_blocks(me: PrincipalDep, c: ContainerDep) -> BlocksOut:
    rows = await c.privacy.blocked(me.user_id)
    return BlocksOut(
        blocks=[BlockedOut(user_id=str(u.id), phone=u.phone, name=u.name, blocked_at=at) for u, at in rows]
    )


@router.post("/blocks", response_model=BlockedOut)
async def block(body: BlockIn, request: Request, me: PrincipalDep, c: ContainerDep) -> BlockedOut:
    target = await c.accounts.discover(me.user_id, client_address(request), body.phone)
    user = await c.privacy.block(me.user_id, target)
    return BlockedOut(user_id=str(user.id), phone=user.phone, name=user.name, blocked_at=c.clock.now_ms())


@router.delete("/blocks/{user_id}", status_code=204)
async def unblock(user_id: str, me: PrincipalDep, c: ContainerDep) -> Response:
    blocked = parse_id(user_id)
    if blocked is None:
        raise NotFoundError("that user is not blocked")
    await c.privacy.unblock(me.user_id, blocked)
    return Response(status_code=204)


@router.post("/reports", response_model=ReportOut)
async def report(body: ReportIn, request: Request, me: PrincipalDep, c: ContainerDep) -> ReportOut:
    if body.user_id is not None:
        reported = int(body.user_id)
    else:
        reported = (await c.accounts.discover(me.user_id, client_address(request), body.phone or "")).id
    report_id = await c.privacy.report(
        me.user_id,
        reported,
        None if body.chat_id is None else int(body.chat_id),
        [int(m) for m in body.message_ids],
        body.reason,
    )
    return ReportOut(id=str(report_id))
