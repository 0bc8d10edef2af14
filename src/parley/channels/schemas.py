"""Channel request bodies: the shapes checked before any service code runs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

PostType = Literal["text", "image", "video", "poll", "link"]
Sort = Literal["popular", "new", "active"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelIn(_Strict):
    name: StrictStr = Field(max_length=200)  # trimmed and checked again (≤100) by the service
    description: StrictStr = Field(default="", max_length=2000)
    category: StrictStr = Field(max_length=32)
    country: StrictStr = Field(min_length=2, max_length=2)
    language: StrictStr | None = Field(default=None, max_length=8)
    discoverable: StrictBool = True
    allowed_reactions: list[StrictStr] | None = Field(default=None, max_length=12)
    picture_media_id: StrictStr | None = Field(default=None, pattern=r"^\d{1,20}$")


class ChannelUpdateIn(_Strict):
    name: StrictStr | None = Field(default=None, max_length=200)
    description: StrictStr | None = Field(default=None, max_length=2000)
    category: StrictStr | None = Field(default=None, max_length=32)
    country: StrictStr | None = Field(default=None, min_length=2, max_length=2)
    language: StrictStr | None = Field(default=None, max_length=8)
    discoverable: StrictBool | None = None
    allowed_reactions: list[StrictStr] | None = Field(default=None, max_length=12)
    picture_media_id: StrictStr | None = Field(default=None, pattern=r"^\d{1,20}$")


class PollIn(_Strict):
    question: StrictStr = Field(min_length=1, max_length=255)
    options: list[StrictStr] = Field(min_length=2, max_length=12)


class LinkIn(_Strict):
    url: StrictStr = Field(min_length=1, max_length=2000)
    preview: StrictStr = Field(default="", max_length=500)


class PostIn(_Strict):
    type: PostType = "text"
    text: StrictStr | None = Field(default=None, max_length=4096)
    media_id: StrictStr | None = Field(default=None, pattern=r"^\d{1,20}$")
    poll: PollIn | None = None
    link: LinkIn | None = None
    exclusive: StrictBool = False
    client_id: StrictStr | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _body_of_its_type(self) -> PostIn:
        if self.type == "text" and not (self.text or "").strip():
            raise ValueError("a text post needs 'text'")
        if self.type in ("image", "video") and self.media_id is None:
            raise ValueError(f"an {self.type} post needs 'media_id' (upload it first)")
        if self.type == "poll" and self.poll is None:
            raise ValueError("a poll post needs 'poll': {'question': ..., 'options': [2 to 12]}")
        if self.type == "link" and self.link is None:
            raise ValueError("a link post needs 'link': {'url': ..., 'preview': ...}")
        return self


class PostEditIn(_Strict):
    text: StrictStr = Field(min_length=1, max_length=4096)


class ReactionIn(_Strict):
    emoji: StrictStr = Field(min_length=1, max_length=32)


class VoteIn(_Strict):
    option: int = Field(ge=0, le=11)


class MuteIn(_Strict):
    muted: StrictBool


class ReadIn(_Strict):
    seq: int = Field(ge=0)


class AdminInviteIn(_Strict):
    phone: StrictStr = Field(min_length=3, max_length=32)


class OwnerIn(_Strict):
    user_id: StrictStr = Field(pattern=r"^\d{1,20}$")


class ForwardIn(_Strict):
    to: StrictStr | None = Field(default=None, max_length=32)
    group_id: StrictStr | None = Field(default=None, pattern=r"^\d{1,20}$")
    chat_id: StrictStr | None = Field(default=None, pattern=r"^\d{1,20}$")
    client_id: StrictStr = Field(min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_target(self) -> ForwardIn:
        if sum(x is not None for x in (self.to, self.group_id, self.chat_id)) != 1:
            raise ValueError("give exactly one of 'to', 'group_id' and 'chat_id'")
        return self
