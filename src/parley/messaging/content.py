"""The content seam: what a message says, as one typed payload stored as JSON.

Everything about a message's content goes through `MessageContent`. When end-to-end encryption arrives,
an `EncryptedContent` (ciphertext plus key ids) joins this union and the server relays it unread; chats
with a business keep plain content so the business's API endpoint can read them.

Business messages add kinds people cannot send themselves (a rendered template, an interactive message),
and a person's tap on one of their buttons is a `ReplyContent`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter


class TextContent(BaseModel):
    kind: Literal["text"] = "text"
    body: str
    # Forwarded from another chat (the sender forwarded it, not wrote it): part of the content, as in WhatsApp.
    forwarded: bool = False


class MediaContent(BaseModel):
    kind: Literal["media"] = "media"
    media_id: int
    mime_type: str
    size: int
    filename: str | None = None
    caption: str | None = None
    forwarded: bool = False


class LocationContent(BaseModel):
    kind: Literal["location"] = "location"
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    forwarded: bool = False


class ContactsContent(BaseModel):
    """Shared contact cards, each a dict shaped as Meta's contact object (name, phones, emails, ...)."""

    kind: Literal["contacts"] = "contacts"
    contacts: list[dict[str, Any]]


class InteractiveContent(BaseModel):
    """An interactive message as the business sent it; a media header carries the stored media's id."""

    kind: Literal["interactive"] = "interactive"
    type: str  # button | list | cta_url | product | product_list | flow | catalog_message | ...
    header: dict[str, Any] | None = None  # {"type": "text", "text"} or {"type": "image", "media": {...}}
    body: str | None = None
    footer: str | None = None
    action: dict[str, Any] = Field(default_factory=dict)


class TemplateContent(BaseModel):
    """A template message as the person saw it: the template rendered with the send's parameters."""

    kind: Literal["template"] = "template"
    name: str
    language: str
    category: str | None = None
    header: dict[str, Any] | None = None  # {"format": "TEXT", "text"} or {"format": "IMAGE", "media": {...}}
    body: str
    footer: str | None = None
    # {"type": "QUICK_REPLY", "text", "payload"}, {"type": "URL", "text", "url"}, ...
    buttons: list[dict[str, Any]] = Field(default_factory=list)


ReplyType = Literal["button_reply", "list_reply", "button"]


class EncryptedContent(BaseModel):
    """A person's message as their device encrypted it (Megolm): the server relays it unread (docs/e2ee.md)."""

    kind: Literal["encrypted"] = "encrypted"
    algorithm: Literal["m.megolm.v1.aes-sha2"] = "m.megolm.v1.aes-sha2"
    ciphertext: str
    sender_key: str
    session_id: str
    device_id: str


class ReplyContent(BaseModel):
    """A person's tap on a business message: a reply button, a list row, or a template quick reply.

    `id` is the button's or row's id (for a template quick reply: its payload); `title` its label.
    """

    kind: Literal["reply"] = "reply"
    reply_type: ReplyType
    id: str
    title: str
    description: str | None = None


class GroupInviteContent(BaseModel):
    """An invitation to a group, sent in the 1:1 chat when the invitee's privacy settings did not allow adding them."""

    kind: Literal["group_invite"] = "group_invite"
    invite_id: str
    group_id: str
    group_name: str
    expires_at: int


class OrderItem(BaseModel):
    """One line of a person's order: a catalog product, how many, and its unit price when the order was sent."""

    product_retailer_id: str
    title: str
    quantity: int
    item_price: int  # micros of `currency` (Meta's webhook gives major units; converted on the way out)
    currency: str


class OrderContent(BaseModel):
    """A person's cart sent to a business (Meta's inbound `order` message); Parley priced it from the catalog."""

    kind: Literal["order"] = "order"
    catalog_id: str
    text: str = ""
    product_items: list[OrderItem]
    currency: str
    total: int  # micros: Σ quantity × item_price


class PaymentContent(BaseModel):
    """A Parley Pay payment between two people, as the bubble shows it (amount is a decimal string)."""

    kind: Literal["payment"] = "payment"
    payment_id: str
    amount: str
    currency: str
    note: str | None = None
    status: str  # completed


AnyContent = (
    TextContent
    | MediaContent
    | LocationContent
    | ContactsContent
    | InteractiveContent
    | TemplateContent
    | ReplyContent
    | GroupInviteContent
    | OrderContent
    | PaymentContent
    | EncryptedContent
)
MessageContent = Annotated[AnyContent, Field(discriminator="kind")]
_adapter: TypeAdapter[AnyContent] = TypeAdapter(MessageContent)


def dump_content(content: AnyContent) -> str:
    # `forwarded` only when set: every other stored payload stays byte for byte what it was.
    return content.model_dump_json(exclude=None if getattr(content, "forwarded", False) else {"forwarded"})


def forwarded_copy(content: AnyContent) -> TextContent | MediaContent | LocationContent | None:
    """The content a forward of this message carries (marked forwarded), or None: only what people send
    themselves (text, media, a location) can be forwarded; a business's templates and buttons cannot."""
    if isinstance(content, TextContent | MediaContent | LocationContent):
        return content.model_copy(update={"forwarded": True})
    return None


def load_content(raw: str) -> AnyContent:
    return _adapter.validate_json(raw)


def reply_choices(content: AnyContent) -> list[ReplyContent]:
    """The replies a person can send by tapping this message: its reply buttons, list rows, quick replies."""
    if isinstance(content, InteractiveContent):
        if content.type == "button":
            return [
                ReplyContent(reply_type="button_reply", id=str(reply.get("id", "")), title=str(reply.get("title", "")))
                for button in content.action.get("buttons", [])
                if isinstance(reply := button.get("reply"), dict)
            ]
        if content.type == "list":
            return [
                ReplyContent(
                    reply_type="list_reply",
                    id=str(row.get("id", "")),
                    title=str(row.get("title", "")),
                    description=row.get("description"),
                )
                for section in content.action.get("sections", [])
                for row in section.get("rows", [])
            ]
    if isinstance(content, TemplateContent):
        return [
            ReplyContent(
                reply_type="button", id=str(b.get("payload") or b.get("text", "")), title=str(b.get("text", ""))
            )
            for b in content.buttons
            if str(b.get("type", "")).upper() == "QUICK_REPLY"
        ]
    return []


def preview_of(content: AnyContent, limit: int = 160) -> str:
    """One plain-text line saying what a message is (chat lists, the team inbox, search)."""
    if isinstance(content, TextContent):
        text = content.body
    elif isinstance(content, MediaContent):
        text = content.caption or content.filename or "[media]"
    elif isinstance(content, LocationContent):
        text = content.name or content.address or "[location]"
    elif isinstance(content, ContactsContent):
        text = "[contact card]"
    elif isinstance(content, InteractiveContent):
        text = content.body or f"[{content.type}]"
    elif isinstance(content, TemplateContent):
        text = content.body
    elif isinstance(content, GroupInviteContent):
        text = f"Group invitation: {content.group_name}"
    elif isinstance(content, OrderContent):
        count = sum(item.quantity for item in content.product_items)
        text = f"Order: {count} item{'' if count == 1 else 's'}" + (f" · {content.text}" if content.text else "")
    elif isinstance(content, PaymentContent):
        text = f"Payment: {content.amount} {content.currency}" + (f" ({content.note})" if content.note else "")
    elif isinstance(content, EncryptedContent):
        text = "🔒 Encrypted message"  # the server cannot say more: clients decrypt their own previews
    else:
        text = content.title
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
