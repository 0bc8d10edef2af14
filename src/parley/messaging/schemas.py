"""Request and response bodies of the messaging API."""

from __future__ import annotations

from typing import Any, Literal

import vodozemac
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextIn(_Strict):
    body: str = Field(min_length=1)


class MediaIn(_Strict):
    id: str = Field(pattern=r"^\d{1,20}$")
    caption: str | None = Field(default=None, max_length=1024)


class ContextIn(_Strict):
    message_id: str = Field(pattern=r"^\d{1,20}$")


class LocationIn(_Strict):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = Field(default=None, max_length=256)
    address: str | None = Field(default=None, max_length=512)


class ReplyIn(_Strict):
    """A tap on a business message's reply button, list row or template quick reply (`context` names it)."""

    reply_type: Literal["button_reply", "list_reply", "button"]
    id: str = Field(min_length=1, max_length=256)
    title: str = Field(min_length=1, max_length=60)
    description: str | None = Field(default=None, max_length=72)


class EncryptedIn(_Strict):
    """Megolm ciphertext from the sender's device (docs/e2ee.md): relayed unread."""

    algorithm: Literal["m.megolm.v1.aes-sha2"]
    ciphertext: str = Field(min_length=1, max_length=262_144)
    sender_key: str = Field(min_length=43, max_length=64)
    session_id: str = Field(min_length=43, max_length=64)
    device_id: str = Field(pattern=r"^\d{1,20}$")

    @model_validator(mode="after")
    def _well_formed(self) -> EncryptedIn:
        if not is_megolm_message(self.ciphertext):
            raise ValueError("encrypted.ciphertext is not a well-formed Megolm message")
        return self


def is_megolm_message(ciphertext: str) -> bool:
    """Parses as a Megolm message (version, index, ciphertext, MAC, signature); says nothing of who can read it."""
    try:
        vodozemac.MegolmMessage.from_base64(ciphertext)
    except ValueError:
        return False
    return True


MEDIA_TYPES = ("image", "document", "audio", "video")


class SendMessageIn(_Strict):
    to: str | None = Field(default=None, max_length=32)
    group_id: str | None = Field(default=None, pattern=r"^\d{1,20}$")
    type: Literal["text", "image", "document", "audio", "video", "location", "reply", "encrypted"] = "text"
    text: TextIn | None = None
    encrypted: EncryptedIn | None = None
    image: MediaIn | None = None
    document: MediaIn | None = None
    audio: MediaIn | None = None
    video: MediaIn | None = None
    location: LocationIn | None = None
    reply: ReplyIn | None = None
    context: ContextIn | None = None
    client_id: str = Field(min_length=1, max_length=64)
    # The click id of a click-to-chat link (`/c/{code}`) the person came from: a referral for the business.
    referral_clid: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _one_target_one_body(self) -> SendMessageIn:
        if (self.to is None) == (self.group_id is None):
            raise ValueError("give exactly one of 'to' and 'group_id'")
        if self.type == "text" and self.text is None:
            raise ValueError("a text message needs 'text': {'body': ...}")
        if self.type in MEDIA_TYPES and getattr(self, self.type) is None:
            raise ValueError(f"a {self.type} message needs '{self.type}': {{'id': ...}}")
        if self.type == "encrypted" and self.encrypted is None:
            raise ValueError("an encrypted message needs 'encrypted': {'algorithm', 'ciphertext', ...}")
        if self.type == "location" and self.location is None:
            raise ValueError("a location message needs 'location': {'latitude': ..., 'longitude': ...}")
        if self.type == "reply" and (self.reply is None or self.context is None):
            raise ValueError("a reply needs 'reply': {'reply_type', 'id', 'title'} and 'context': {'message_id'}")
        return self


class SendMessageOut(BaseModel):
    id: str
    chat_id: str
    timestamp: int


class EditMessageIn(_Strict):
    """New text, or, for an encrypted message, new ciphertext."""

    text: TextIn | None = None
    encrypted: EncryptedIn | None = None

    @model_validator(mode="after")
    def _one_body(self) -> EditMessageIn:
        if (self.text is None) == (self.encrypted is None):
            raise ValueError("give exactly one of 'text' and 'encrypted'")
        return self


class ReactionIn(_Strict):
    emoji: str = Field(max_length=32)


class ForwardIn(_Strict):
    """Forward a message into one chat of yours; `client_id` makes a retry return the first copy."""

    chat_id: str = Field(pattern=r"^\d{1,20}$")
    client_id: str = Field(min_length=1, max_length=64)


class TextOut(BaseModel):
    body: str


class MediaOut(BaseModel):
    id: str
    mime_type: str
    size: int
    filename: str | None
    caption: str | None


class ContextOut(BaseModel):
    message_id: str


class QuotedOut(BaseModel):
    """The message a reply quotes: who wrote it and one line of it (null once deleted)."""

    sender_id: str
    sender_name: str
    type: str
    preview: str | None
    deleted: bool


class ReactionOut(BaseModel):
    user_id: str
    emoji: str


Status = Literal["sent", "delivered", "read"]


class EncryptedOut(BaseModel):
    algorithm: str
    ciphertext: str
    sender_key: str
    session_id: str
    device_id: str


class MessageOut(BaseModel):
    id: str
    chat_id: str
    sender_id: str
    sender_name: str
    type: str
    text: TextOut | None
    media: MediaOut | None
    context: ContextOut | None
    quoted: QuotedOut | None = None
    client_id: str
    timestamp: int
    edited_at: int | None
    deleted: bool
    forwarded: bool = False
    reactions: list[ReactionOut]
    status: Status
    # A business message's template or interactive content, a location, contact cards, or a tap on a button.
    business: dict[str, Any] | None = None
    # A person's end-to-end encrypted message: Megolm ciphertext only their devices can read (docs/e2ee.md).
    encrypted: EncryptedOut | None = None


class MessagesPage(BaseModel):
    messages: list[MessageOut]
    next: str | None


class SearchPage(BaseModel):
    """Messages of yours (in any of your chats) that contain the query, newest first."""

    messages: list[MessageOut]
    next: str | None


class PeerOut(BaseModel):
    user_id: str
    phone: str
    name: str
    kind: Literal["person", "business"] = "person"  # a business's number shows its badge in the chat list
    photo_id: str | None = None  # the profile photo's media id (GET /media/{id})


class ChatOut(BaseModel):
    id: str
    type: Literal["direct", "group"]
    title: str
    peer: PeerOut | None
    unread_count: int
    last_message: MessageOut | None
    updated_at: int


class ChatsOut(BaseModel):
    chats: list[ChatOut]


class ReceiptOut(BaseModel):
    user_id: str
    status: Status
    delivered_at: int | None
    read_at: int | None


class ReceiptsOut(BaseModel):
    receipts: list[ReceiptOut]


class CreateGroupIn(_Strict):
    name: str = Field(min_length=1, max_length=128)
    members: list[str] = Field(default_factory=list, max_length=1023)


class AddMembersIn(_Strict):
    phones: list[str] = Field(min_length=1, max_length=1023)


class MemberOut(BaseModel):
    user_id: str
    phone: str
    name: str
    role: Literal["admin", "member"]
    photo_id: str | None = None


class ErrorOut(BaseModel):
    code: str
    message: str


class InvitedOut(BaseModel):
    """Someone who was not added (their privacy settings, or a block) and got an invitation in the 1:1 chat."""

    user_id: str
    phone: str
    invite_id: str
    error: ErrorOut


class GroupOut(BaseModel):
    id: str
    name: str
    members: list[MemberOut]
    created_at: int
    # Only on create and add: who was sent an invitation instead of being added.
    invited: list[InvitedOut] = Field(default_factory=list)


class InviteOut(BaseModel):
    code: str
    url: str


class PresenceOut(BaseModel):
    online: bool = Field(description="Whether they have the app open now (a live stream)")
    last_seen: int | None = Field(description="When they were last online (ms); null while online, or when hidden")
