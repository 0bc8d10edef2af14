"""The content seam: what a message says, as one typed payload stored as JSON.

Everything about a message's content goes through `MessageContent`. When end-to-end encryption arrives,
an `EncryptedContent` (ciphertext plus key ids) joins this union and the server relays it unread; chats
with a business keep plain content so the business's API endpoint can read them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter


class TextContent(BaseModel):
    kind: Literal["text"] = "text"
    body: str


class MediaContent(BaseModel):
    kind: Literal["media"] = "media"
    media_id: int
    mime_type: str
    size: int
    filename: str | None = None
    caption: str | None = None


MessageContent = Annotated[TextContent | MediaContent, Field(discriminator="kind")]
_adapter: TypeAdapter[TextContent | MediaContent] = TypeAdapter(MessageContent)


def dump_content(content: TextContent | MediaContent) -> str:
    return content.model_dump_json()


def load_content(raw: str) -> TextContent | MediaContent:
    return _adapter.validate_json(raw)
