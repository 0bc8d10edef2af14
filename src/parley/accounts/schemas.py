"""Request and response bodies of the accounts API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequestCodeIn(_Strict):
    phone: str = Field(min_length=1, max_length=32)


class RequestCodeOut(BaseModel):
    phone: str
    expires_in: int
    resend_after: int


class VerifyIn(_Strict):
    phone: str = Field(min_length=1, max_length=32)
    code: str = Field(pattern=r"^[0-9]{6}$")  # ASCII only: other digits would count as a wrong guess
    device_name: str = Field(default="Device", min_length=1, max_length=128)
    name: str | None = Field(default=None, max_length=128)


class VerifyOut(BaseModel):
    token: str
    user_id: str
    device_id: str


class ProfileOut(BaseModel):
    user_id: str
    phone: str
    name: str
    # A business's number (a chat opened from its click-to-chat link shows its shop before the first message).
    kind: Literal["person", "business"] = "person"
    photo_id: str | None = Field(default=None, description="Media id of the profile photo (PUT /me/photo)")


class ProfileUpdateIn(_Strict):
    name: str = Field(min_length=1, max_length=128)


class DeviceOut(BaseModel):
    id: str
    name: str
    created_at: int
    last_seen_at: int
    current: bool


class DevicesOut(BaseModel):
    devices: list[DeviceOut]


class DevCodeOut(BaseModel):
    phone: str
    code: str
    created_at: int


class DevCodesOut(BaseModel):
    codes: list[DevCodeOut]
