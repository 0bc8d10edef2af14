"""Client API routes for sign-in, profile and devices."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from parley.accounts.repository import UserRow
from parley.accounts.schemas import (
    DevCodeOut,
    DevCodesOut,
    DeviceOut,
    DevicesOut,
    ProfileOut,
    ProfileUpdateIn,
    RequestCodeIn,
    RequestCodeOut,
    VerifyIn,
    VerifyOut,
)
from parley.accounts.sender import DevCodeSender
from parley.http import ERROR_RESPONSES, ContainerDep, PrincipalDep, client_address, is_loopback_client
from parley.kit.errors import NotFoundError
from parley.kit.ids import parse_id

router = APIRouter(prefix="/client/v1", tags=["accounts"], responses=ERROR_RESPONSES)


@router.post("/auth/request-code", response_model=RequestCodeOut)
async def request_code(body: RequestCodeIn, request: Request, c: ContainerDep) -> RequestCodeOut:
    sent = await c.accounts.request_code(body.phone, client_address(request))
    return RequestCodeOut(phone=sent.phone, expires_in=sent.expires_in, resend_after=sent.resend_after)


@router.post("/auth/verify", response_model=VerifyOut)
async def verify(body: VerifyIn, c: ContainerDep) -> VerifyOut:
    session = await c.accounts.verify(body.phone, body.code, body.device_name, body.name)
    return VerifyOut(token=session.token, user_id=str(session.user_id), device_id=str(session.device_id))


@router.post("/auth/logout", status_code=204)
async def logout(me: PrincipalDep, c: ContainerDep) -> Response:
    await c.accounts.revoke_device(me.user_id, me.device_id)
    return Response(status_code=204)


@router.get("/me", response_model=ProfileOut)
async def get_me(me: PrincipalDep, c: ContainerDep) -> ProfileOut:
    return await _profile(c, await c.accounts.get_user(me.user_id))


@router.patch("/me", response_model=ProfileOut)
async def update_me(body: ProfileUpdateIn, me: PrincipalDep, c: ContainerDep) -> ProfileOut:
    return await _profile(c, await c.accounts.rename(me.user_id, body.name))


@router.get("/users/lookup", response_model=ProfileOut)
async def lookup(phone: str, request: Request, me: PrincipalDep, c: ContainerDep) -> ProfileOut:
    found = await c.accounts.discover(me.user_id, client_address(request), phone)
    return await _profile(c, await c.accounts.get_user(found.id))


async def _profile(c: ContainerDep, user: UserRow) -> ProfileOut:
    # The photo is the media domain's (media imports accounts, so the route asks it rather than the service).
    photo = await c.media.profile_photo(user.id)
    return ProfileOut(
        user_id=str(user.id),
        phone=user.phone,
        name=user.name,
        kind="business" if user.kind == "business" else "person",
        photo_id=None if photo is None else str(photo),
    )


@router.get("/devices", response_model=DevicesOut)
async def list_devices(me: PrincipalDep, c: ContainerDep) -> DevicesOut:
    rows = await c.accounts.list_devices(me.user_id)
    return DevicesOut(
        devices=[
            DeviceOut(
                id=str(d.id),
                name=d.name,
                created_at=d.created_at,
                last_seen_at=d.last_seen_at,
                current=d.id == me.device_id,
            )
            for d in rows
        ]
    )


@router.delete("/devices/{device_id}", status_code=204)
async def revoke_device(device_id: str, me: PrincipalDep, c: ContainerDep) -> Response:
    device = parse_id(device_id)
    if device is None:
        raise NotFoundError("no such device")
    await c.accounts.revoke_device(me.user_id, device)
    return Response(status_code=204)


@router.get("/dev/codes", response_model=DevCodesOut, tags=["development"])
async def dev_codes(request: Request, c: ContainerDep) -> DevCodesOut:
    """The latest one-time codes, for the web client's developer panel (development, loopback clients only)."""
    if not c.settings.dev_show_codes or not isinstance(c.code_sender, DevCodeSender):
        raise NotFoundError("not found")
    # Whoever reads this can sign in as anyone: never beyond this machine unless the operator said so.
    if not (c.settings.dev_allow_remote_codes or is_loopback_client(request)):
        raise NotFoundError("not found")
    return DevCodesOut(
        codes=[DevCodeOut(phone=s.phone, code=s.code, created_at=s.created_at) for s in c.code_sender.recent()]
    )
