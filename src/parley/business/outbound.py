"""The body of `POST /{phone_number_id}/messages`, parsed and checked the way Meta's Cloud API does.

`parse_send_request` turns the JSON body into a typed `OutboundRequest` (a message of any type) or a
`MarkReadRequest` (mark as read, with an optional typing indicator), or raises `GraphError` with Meta's
code: 100 for a parameter of the wrong JSON type or an unknown key inside a payload, 131008 for a missing
required parameter, 131009 for a value breaking a rule (length, count, range, enum, "exactly one of"),
131051 for a message type that does not exist. `details` names the parameter the way Graph does
(`interactive['action']['buttons'][0]['reply']['title']`) and the rule it broke.

Unknown keys on the envelope are ignored (as Meta does: clients send extras such as
`recipient_identity_key_hash`); inside a payload they are refused, except where Meta's own shapes have a
long tail (template parameters, flow and order actions), which are kept as given.

`content_for` makes the stored content of a business message from a parsed request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, Protocol, get_args

import msgspec
import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from parley.graph import GraphError
from parley.messaging import (
    AnyContent,
    ContactsContent,
    InteractiveContent,
    LocationContent,
    MediaContent,
    TemplateContent,
    TextContent,
)

TEXT_MAX = 4096
CAPTION_MAX = 1024
CALLBACK_DATA_MAX = 512

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
MESSAGE_TYPES = ("text", *MEDIA_TYPES, "location", "contacts", "reaction", "interactive", "template")
MessageType = Literal[
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
    "interactive",
    "template",
]
# Interactive types whose shape is checked field by field; the others are accepted as Meta documents them
# (name + parameters) and kept as given.
INTERACTIVE_TYPES = (
    "button",
    "list",
    "cta_url",
    "product",
    "product_list",
    "flow",
    "catalog_message",
    "location_request_message",
    "call_permission_request",
    "address_message",
    "order_details",
    "order_status",
    "voice_call",
    "carousel",
)
_HTTP_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_BSUID = re.compile(r"^[A-Z]{2}\.[A-Za-z0-9.]{1,64}$")
_PARAMETER_NAME = re.compile(r"^[a-z0-9_]{1,60}$")


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("graph_invalid", message)


def _missing(message: str) -> PydanticCustomError:
    return PydanticCustomError("graph_missing", message)


def _check_link(value: str) -> str:
    if not _HTTP_URL.match(value):
        raise _invalid("must be an http:// or https:// URL")
    return value


HttpUrl = Annotated[str, Field(max_length=2048), AfterValidator(_check_link)]


def _drop_nulls(data: Any) -> Any:
    # A JSON null means "not given" (pywa sends `"flow_token": null`, `"birthday": null`): the default applies.
    return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class _Strict(BaseModel):
    """A payload object: exact JSON types, no unknown keys."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _without_nulls(cls, data: Any) -> Any:
        return _drop_nulls(data)


class _Open(BaseModel):
    """A payload object whose known keys are checked and whose other keys are kept as given."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _without_nulls(cls, data: Any) -> Any:
        return _drop_nulls(data)


# --- text, media, location, contacts, reaction ----------------------------------------------------------


class TextObject(_Strict):
    body: str = Field(min_length=1, max_length=TEXT_MAX)
    preview_url: bool = False


class MediaObject(_Strict):
    """Uploaded media (`id`) or a public URL (`link`): exactly one of the two."""

    id: str | None = Field(default=None, min_length=1, max_length=64)
    link: HttpUrl | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> MediaObject:
        if self.id is None and self.link is None:
            raise _missing("one of 'id' or 'link' is required")
        if self.id is not None and self.link is not None:
            raise _invalid("give either 'id' or 'link', not both")
        return self


class CaptionedMedia(MediaObject):
    caption: str | None = Field(default=None, max_length=CAPTION_MAX)


class DocumentMedia(CaptionedMedia):
    filename: str | None = Field(default=None, min_length=1, max_length=240)


class AudioMedia(MediaObject):
    voice: bool = False  # an OGG/OPUS voice note (its recipient's client reports "played")


class HeaderDocument(MediaObject):
    filename: str | None = Field(default=None, min_length=1, max_length=240)


def _coordinate(value: Any, low: float, high: float) -> float:
    # Meta's own examples send numbers; its schema says string: take both.
    if isinstance(value, bool):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise PydanticCustomError("float_type", "Input should be a valid number") from None
    if not isinstance(value, int | float):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    if not low <= float(value) <= high:
        raise _invalid(f"must be between {low:g} and {high:g}")
    return float(value)


class LocationObject(_Strict):
    latitude: float
    longitude: float
    name: str | None = Field(default=None, max_length=1000)
    address: str | None = Field(default=None, max_length=1000)

    @field_validator("latitude", mode="before")
    @classmethod
    def _latitude(cls, value: Any) -> float:
        return _coordinate(value, -90, 90)

    @field_validator("longitude", mode="before")
    @classmethod
    def _longitude(cls, value: Any) -> float:
        return _coordinate(value, -180, 180)


class ContactName(_Strict):
    formatted_name: str = Field(min_length=1, max_length=512)
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    prefix: str | None = None
    suffix: str | None = None


class ContactPhone(_Strict):
    phone: str | None = Field(default=None, max_length=64)
    type: str | None = Field(default=None, max_length=32)  # CELL, MAIN, IPHONE, HOME, WORK
    wa_id: str | None = Field(default=None, max_length=64)


class ContactEmail(_Strict):
    email: str | None = Field(default=None, max_length=320)
    type: str | None = Field(default=None, max_length=32)


class ContactUrl(_Strict):
    url: str | None = Field(default=None, max_length=2048)
    type: str | None = Field(default=None, max_length=32)


class ContactAddress(_Strict):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    type: str | None = Field(default=None, max_length=32)


class ContactOrg(_Strict):
    company: str | None = None
    department: str | None = None
    title: str | None = None


class ContactObject(_Strict):
    name: ContactName
    phones: list[ContactPhone] | None = None
    emails: list[ContactEmail] | None = None
    urls: list[ContactUrl] | None = None
    addresses: list[ContactAddress] | None = None
    org: ContactOrg | None = None
    birthday: str | None = None

    @field_validator("birthday")
    @classmethod
    def _birthday(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise _invalid("must be a date written YYYY-MM-DD") from None
        return value


class ReactionObject(_Strict):
    message_id: str = Field(min_length=1, max_length=256)
    emoji: str = Field(max_length=32)  # "" removes the business's reaction


# --- interactive ---------------------------------------------------------------------------------------


class InteractiveHeader(_Strict):
    type: Literal["text", "image", "video", "document"]
    text: str | None = Field(default=None, min_length=1, max_length=60)
    sub_text: str | None = Field(default=None, max_length=60)
    image: MediaObject | None = None
    video: MediaObject | None = None
    document: HeaderDocument | None = None

    @model_validator(mode="after")
    def _matches_type(self) -> InteractiveHeader:
        if getattr(self, self.type) is None:
            raise _missing(f"a header of type '{self.type}' needs '{self.type}'")
        return self

    @property
    def media(self) -> MediaObject | None:
        return None if self.type == "text" else getattr(self, self.type)


class BodyObject(_Strict):
    text: str = Field(min_length=1, max_length=1024)


class FooterObject(_Strict):
    text: str = Field(min_length=1, max_length=60)


class ReplyButtonReply(_Strict):
    id: str = Field(min_length=1, max_length=256)
    title: str = Field(min_length=1, max_length=20)


class ReplyButton(_Strict):
    type: Literal["reply"]
    reply: ReplyButtonReply


class ButtonAction(_Strict):
    buttons: list[ReplyButton] = Field(min_length=1, max_length=3)

    @model_validator(mode="after")
    def _unique(self) -> ButtonAction:
        ids = [b.reply.id for b in self.buttons]
        titles = [b.reply.title for b in self.buttons]
        if len(set(ids)) != len(ids):
            raise _invalid("button ids must be unique")
        if len(set(titles)) != len(titles):
            raise _invalid("button titles must be unique")
        return self


class ListRow(_Strict):
    id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=24)
    description: str | None = Field(default=None, max_length=72)


class ListSection(_Strict):
    title: str | None = Field(default=None, min_length=1, max_length=24)
    rows: list[ListRow] = Field(min_length=1, max_length=10)


class ListAction(_Strict):
    button: str = Field(min_length=1, max_length=20)
    sections: list[ListSection] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _rows(self) -> ListAction:
        rows = [row for section in self.sections for row in section.rows]
        if len(rows) > 10:
            raise _invalid(f"a list has at most 10 rows in all its sections, this one has {len(rows)}")
        if len({row.id for row in rows}) != len(rows):
            raise _invalid("row ids must be unique")
        if len(self.sections) > 1 and any(s.title is None for s in self.sections):
            raise _missing("every section needs a 'title' when there is more than one section")
        return self


class CtaUrlParameters(_Strict):
    display_text: str = Field(min_length=1, max_length=20)
    url: HttpUrl


class CtaUrlAction(_Strict):
    name: Literal["cta_url"]
    parameters: CtaUrlParameters


class ProductAction(_Strict):
    catalog_id: str = Field(min_length=1, max_length=64)
    product_retailer_id: str = Field(min_length=1, max_length=100)


class ProductItem(_Strict):
    product_retailer_id: str = Field(min_length=1, max_length=100)


class ProductSection(_Strict):
    title: str | None = Field(default=None, min_length=1, max_length=24)
    product_items: list[ProductItem] = Field(min_length=1, max_length=30)


class ProductListAction(_Strict):
    catalog_id: str = Field(min_length=1, max_length=64)
    sections: list[ProductSection] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _items(self) -> ProductListAction:
        count = sum(len(s.product_items) for s in self.sections)
        if count > 30:
            raise _invalid(f"a product list has at most 30 products in all its sections, this one has {count}")
        if len(self.sections) > 1 and any(s.title is None for s in self.sections):
            raise _missing("every section needs a 'title' when there is more than one section")
        return self


class CarouselProductAction(_Strict):
    product_retailer_id: str = Field(min_length=1, max_length=100)
    catalog_id: str = Field(min_length=1, max_length=64)


class CarouselCard(_Strict):
    card_index: int = Field(ge=0, le=9)
    type: Literal["product"]
    action: CarouselProductAction


class CarouselAction(_Strict):
    """A product carousel's cards: 2 to 10 products of one catalog, each card index used once."""

    cards: list[CarouselCard] = Field(min_length=2, max_length=10)

    @model_validator(mode="after")
    def _cards(self) -> CarouselAction:
        if len({c.card_index for c in self.cards}) != len(self.cards):
            raise _invalid("card_index values must be unique")
        if len({c.action.catalog_id for c in self.cards}) != 1:
            raise _invalid("every card of a carousel must come from the same catalog")
        return self


class FlowActionPayload(_Strict):
    screen: str = Field(default="FIRST_ENTRY_SCREEN", min_length=1, max_length=256)
    data: dict[str, Any] | None = None

    @field_validator("data")
    @classmethod
    def _non_empty(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and not value:
            raise _invalid("must be a non-empty object")
        return value


class FlowParameters(_Strict):
    flow_message_version: Literal["3"]
    flow_id: str | None = Field(default=None, min_length=1, max_length=64)
    flow_name: str | None = Field(default=None, min_length=1, max_length=200)
    flow_cta: str = Field(min_length=1, max_length=30)
    flow_token: str = Field(default="unused", min_length=1, max_length=1024)
    mode: Literal["draft", "published"] = "published"
    flow_action: Literal["navigate", "data_exchange"] = "navigate"
    flow_action_payload: FlowActionPayload | None = None

    @model_validator(mode="after")
    def _one_flow(self) -> FlowParameters:
        if self.flow_id is None and self.flow_name is None:
            raise _missing("one of 'flow_id' or 'flow_name' is required")
        if self.flow_id is not None and self.flow_name is not None:
            raise _invalid("give either 'flow_id' or 'flow_name', not both")
        if self.flow_action == "data_exchange" and self.flow_action_payload is not None:
            raise _invalid("'flow_action_payload' is only allowed with flow_action 'navigate'")
        return self


class FlowAction(_Strict):
    name: Literal["flow"]
    parameters: FlowParameters


class NamedAction(_Open):
    """Actions of the interactive types kept as given: `name` plus whatever parameters the type has."""

    name: str | None = Field(default=None, min_length=1, max_length=64)
    parameters: dict[str, Any] | None = None


class _InteractiveBase(_Strict):
    header: InteractiveHeader | None = None
    body: BodyObject | None = None
    footer: FooterObject | None = None

    @model_validator(mode="after")
    def _needs_body(self) -> _InteractiveBase:
        if self.body is None and getattr(self, "type", "") != "product":
            raise _missing("'body' is required")
        return self


class ButtonInteractive(_InteractiveBase):
    type: Literal["button"]
    action: ButtonAction


class ListInteractive(_InteractiveBase):
    type: Literal["list"]
    action: ListAction

    @model_validator(mode="after")
    def _text_header(self) -> ListInteractive:
        if self.header is not None and self.header.type != "text":
            raise _invalid("a list message's header must be of type 'text'")
        return self


class CtaUrlInteractive(_InteractiveBase):
    type: Literal["cta_url"]
    action: CtaUrlAction


class ProductInteractive(_InteractiveBase):
    type: Literal["product"]
    action: ProductAction

    @model_validator(mode="after")
    def _no_header(self) -> ProductInteractive:
        if self.header is not None:
            raise _invalid("a product message cannot have a header")
        return self


class ProductListInteractive(_InteractiveBase):
    type: Literal["product_list"]
    action: ProductListAction

    @model_validator(mode="after")
    def _text_header(self) -> ProductListInteractive:
        if self.header is None:
            raise _missing("a product_list message needs a 'header'")
        if self.header.type != "text":
            raise _invalid("a product_list message's header must be of type 'text'")
        return self


class CarouselInteractive(_InteractiveBase):
    type: Literal["carousel"]
    action: CarouselAction

    @model_validator(mode="after")
    def _body_only(self) -> CarouselInteractive:
        if self.header is not None or self.footer is not None:
            raise _invalid("a product carousel has a body and cards only: no header, no footer")
        return self


class FlowInteractive(_InteractiveBase):
    type: Literal["flow"]
    action: FlowAction


class OtherInteractive(_InteractiveBase):
    type: Literal[
        "catalog_message",
        "location_request_message",
        "call_permission_request",
        "address_message",
        "order_details",
        "order_status",
        "voice_call",
    ]
    action: NamedAction


InteractiveObject = (
    ButtonInteractive
    | ListInteractive
    | CtaUrlInteractive
    | ProductInteractive
    | ProductListInteractive
    | CarouselInteractive
    | FlowInteractive
    | OtherInteractive
)
_INTERACTIVE_MODELS: dict[str, type[_InteractiveBase]] = {
    "button": ButtonInteractive,
    "list": ListInteractive,
    "cta_url": CtaUrlInteractive,
    "product": ProductInteractive,
    "product_list": ProductListInteractive,
    "carousel": CarouselInteractive,
    "flow": FlowInteractive,
    **dict.fromkeys(get_args(OtherInteractive.model_fields["type"].annotation), OtherInteractive),
}


# --- templates -----------------------------------------------------------------------------------------


class TemplateLanguage(_Strict):
    code: str = Field(min_length=1, max_length=32)
    policy: Literal["deterministic"] = "deterministic"


class CurrencyObject(_Open):
    fallback_value: str = Field(min_length=1, max_length=256)
    code: str = Field(pattern=r"^[A-Za-z]{3}$")
    amount_1000: int


class DateTimeObject(_Open):
    fallback_value: str = Field(min_length=1, max_length=256)


class TemplateMedia(MediaObject):
    filename: str | None = Field(default=None, min_length=1, max_length=240)


PARAMETER_TYPES = (
    "text",
    "currency",
    "date_time",
    "image",
    "video",
    "document",
    "location",
    "payload",
    "coupon_code",
    "action",
    "limited_time_offer",
    "product",
    "order_status",
    "tap_target_configuration",
)


class TemplateParameter(_Open):
    """One parameter: `type` names the key holding its value; `parameter_name` for named templates."""

    type: str
    parameter_name: str | None = None
    text: str | None = Field(default=None, max_length=32768)
    payload: str | None = Field(default=None, max_length=1024)
    coupon_code: str | None = Field(default=None, max_length=20)
    currency: CurrencyObject | None = None
    date_time: DateTimeObject | None = None
    image: TemplateMedia | None = None
    video: TemplateMedia | None = None
    document: TemplateMedia | None = None
    location: LocationObject | None = None
    action: dict[str, Any] | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.lower()
            if value not in PARAMETER_TYPES:
                raise _invalid(f"must be one of {', '.join(PARAMETER_TYPES)}")
        return value

    @field_validator("text", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        # Meta's own "Send Sample Issue Resolution Template" example sends quick-reply texts as booleans.
        return ("true" if value else "false") if isinstance(value, bool) else value

    @field_validator("parameter_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _PARAMETER_NAME.match(value):
            raise _invalid("must be lowercase letters, digits and underscores")
        return value

    @model_validator(mode="after")
    def _has_value(self) -> TemplateParameter:
        extra = self.model_extra or {}
        if getattr(self, self.type, None) is None and extra.get(self.type) is None:
            raise _missing(f"a parameter of type '{self.type}' needs '{self.type}'")
        return self

    @property
    def value(self) -> Any:
        """The parameter's value: a string for text/payload/coupon_code, an object for the others."""
        found = getattr(self, self.type, None)
        return found if found is not None else (self.model_extra or {}).get(self.type)


COMPONENT_TYPES = ("header", "body", "button", "carousel", "limited_time_offer", "footer")
BUTTON_SUB_TYPES = (
    "quick_reply",
    "url",
    "catalog",
    "flow",
    "copy_code",
    "mpm",
    "spm",
    "voice_call",
    "order_details",
    "call_permission_request",
)


class TemplateComponent(_Open):
    type: str
    sub_type: str | None = None
    index: int | None = None
    parameters: list[TemplateParameter] = Field(default_factory=list)
    cards: list[dict[str, Any]] | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        # pywa sends "BODY", Meta's examples "body": both work on Graph.
        if isinstance(value, str):
            value = value.lower()
            if value not in COMPONENT_TYPES:
                raise _invalid(f"must be one of {', '.join(COMPONENT_TYPES)}")
        return value

    @field_validator("sub_type", mode="before")
    @classmethod
    def _sub_type(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.lower()
            if value not in BUTTON_SUB_TYPES:
                raise _invalid(f"must be one of {', '.join(BUTTON_SUB_TYPES)}")
        return value

    @field_validator("index", mode="before")
    @classmethod
    def _index(cls, value: Any) -> Any:
        # Meta's examples send "0" and 0.
        if isinstance(value, str):
            if not value.isdigit():
                raise _invalid("must be a button position from 0 to 9")
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= 9:
            raise _invalid("must be a button position from 0 to 9")
        return value

    @model_validator(mode="after")
    def _button(self) -> TemplateComponent:
        if self.type == "button":
            if self.sub_type is None:
                raise _missing("a button component needs 'sub_type'")
            if self.index is None:
                raise _missing("a button component needs 'index'")
        if self.type == "carousel" and not self.cards:
            raise _missing("a carousel component needs 'cards'")
        named = {p.parameter_name is not None for p in self.parameters if p.type == "text"}
        if len(named) > 1:
            raise _invalid("parameters of one component are either all named or all positional")
        return self


class TemplateObject(_Strict):
    name: str = Field(min_length=1, max_length=512)
    language: TemplateLanguage
    components: list[TemplateComponent] = Field(default_factory=list, max_length=20)

    def component(self, type_: str) -> TemplateComponent | None:
        return next((c for c in self.components if c.type == type_), None)

    def buttons(self) -> list[TemplateComponent]:
        return sorted((c for c in self.components if c.type == "button"), key=lambda c: c.index or 0)

    def components_as_dicts(self) -> list[dict[str, Any]]:
        """The components as plain JSON (types and sub_types lower-cased, button index an int)."""
        return [c.model_dump(exclude_none=True) for c in self.components]


# --- the envelope --------------------------------------------------------------------------------------


class MessageContext(_Strict):
    message_id: str = Field(min_length=1, max_length=256)


class _Envelope(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    messaging_product: Literal["whatsapp"]
    recipient_type: Literal["individual"] = "individual"
    to: str | None = Field(default=None, min_length=1, max_length=64)
    recipient: str | None = Field(default=None, max_length=80)
    type: str
    context: MessageContext | None = None
    biz_opaque_callback_data: str | None = Field(default=None, max_length=CALLBACK_DATA_MAX)

    @field_validator("to", mode="before")
    @classmethod
    def _to(cls, value: Any) -> Any:
        # heyoo and hand-written clients send the number as a JSON number: Graph takes it.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("recipient")
    @classmethod
    def _recipient(cls, value: str | None) -> str | None:
        if value is not None and not _BSUID.match(value):
            raise _invalid("must be a business-scoped user id such as 'US.13491208655302741918'")
        return value


_PAYLOAD_MODELS: dict[str, type[BaseModel]] = {
    "text": TextObject,
    "image": CaptionedMedia,
    "video": CaptionedMedia,
    "document": DocumentMedia,
    "audio": AudioMedia,
    "sticker": MediaObject,
    "location": LocationObject,
    "reaction": ReactionObject,
    "template": TemplateObject,
}


@dataclass(frozen=True)
class OutboundRequest:
    """A parsed message send. Exactly one payload (the one named by `type`) is set."""

    type: MessageType
    to: str | None  # a phone number as given (digits, maybe "+"); None when `recipient` is used
    recipient: str | None  # a business-scoped user id ("US.1349…")
    context: MessageContext | None  # the quoted message (a wamid, not checked here)
    biz_opaque_callback_data: str | None
    text: TextObject | None = None
    image: CaptionedMedia | None = None
    video: CaptionedMedia | None = None
    document: DocumentMedia | None = None
    audio: AudioMedia | None = None
    sticker: MediaObject | None = None
    location: LocationObject | None = None
    contacts: tuple[ContactObject, ...] | None = None
    reaction: ReactionObject | None = None
    interactive: InteractiveObject | None = None
    template: TemplateObject | None = None

    @property
    def context_message_id(self) -> str | None:
        return None if self.context is None else self.context.message_id

    @property
    def media(self) -> MediaObject | None:
        """The media to resolve before storing: a media message's, or an interactive message's header's."""
        if self.type in MEDIA_TYPES:
            found: MediaObject | None = getattr(self, self.type)
            return found
        if self.interactive is not None and self.interactive.header is not None:
            return self.interactive.header.media
        return None

    @property
    def media_kind(self) -> str | None:
        """image | video | audio | document | sticker: the kind of `media`, if there is one."""
        if self.type in MEDIA_TYPES:
            return self.type
        if self.media is not None and self.interactive is not None and self.interactive.header is not None:
            return self.interactive.header.type
        return None


@dataclass(frozen=True)
class MarkReadRequest:
    message_id: str
    # {"type": "text"}: show "typing…" to the person until the business replies (or 25 s pass)
    typing_indicator: dict[str, str] | None = None


# --- errors ---------------------------------------------------------------------------------------------

_TYPE_ERRORS = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "int_parsing": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be a boolean",
    "bool_parsing": "must be a boolean",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dataclass_type": "must be an object",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "none_required": "must be null",
}


def _param_path(loc: Sequence[int | str]) -> str:
    if not loc:
        return "(body)"
    head, *rest = loc
    return str(head) + "".join(f"[{part}]" if isinstance(part, int) else f"['{part}']" for part in rest)


def _graph_error(error: ValidationError, prefix: Sequence[int | str] = ()) -> GraphError:
    """Meta's error for the first problem pydantic found: its code, and details naming the parameter."""
    first = error.errors(include_url=False)[0]
    loc = [*prefix, *first["loc"]]
    kind = first["type"]
    path = _param_path(loc)
    if kind == "missing":
        return GraphError(131008, f"The parameter {path} is required.")
    if kind == "extra_forbidden":
        return GraphError(100, f'Unexpected key "{loc[-1]}" on param "{_param_path(loc[:-1])}".')
    if kind in _TYPE_ERRORS:
        return GraphError(100, f"Param {path} {_TYPE_ERRORS[kind]}.")
    message = str(first["msg"]).removeprefix("Value error, ").replace(" after validation", "")
    for pydantic_words in ("Input should", "String should", "List should", "Dictionary should", "Value should"):
        message = message.replace(pydantic_words, "must")
    details = f"Param {path} {message}." if message.startswith("must") else f"Param {path}: {message}."
    return GraphError(131008 if kind == "graph_missing" else 131009, details)


def _validate(model: type[BaseModel], data: object, prefix: Sequence[int | str]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _graph_error(error, prefix) from None


# --- parsing ---------------------------------------------------------------------------------------------


def parse_send_request(body: object) -> OutboundRequest | MarkReadRequest:
    """The body of `POST /{phone_number_id}/messages`, checked as Meta checks it (raises `GraphError`)."""
    if not isinstance(body, dict):
        raise GraphError(100, "The request body must be a JSON object.")
    if "status" in body:
        return _parse_mark_read(body)
    data = dict(body)
    if "type" not in data:
        data["type"] = _infer_type(data)
    envelope: _Envelope = _validate(_Envelope, data, ())
    if envelope.type not in MESSAGE_TYPES:
        raise GraphError(131051, f"Message type '{envelope.type}' is not supported.")
    if envelope.to is None and envelope.recipient is None:
        raise GraphError(131008, "The parameter to is required (or recipient, a business-scoped user id).")
    if envelope.to is not None and envelope.recipient is not None:
        raise GraphError(100, "Give either to or recipient, not both.")
    type_: MessageType = envelope.type  # type: ignore[assignment]
    if type_ not in data or data[type_] is None:
        raise GraphError(131008, f"The parameter {type_} is required for a message of type {type_}.")
    payload: dict[str, Any] = {}
    raw = data[type_]
    if type_ == "contacts":
        payload["contacts"] = _parse_contacts(raw)
    elif type_ == "interactive":
        payload["interactive"] = _parse_interactive(raw)
    else:
        payload[type_] = _validate(_PAYLOAD_MODELS[type_], raw, (type_,))
    return OutboundRequest(
        type=type_,
        to=envelope.to,
        recipient=envelope.recipient,
        context=envelope.context,
        biz_opaque_callback_data=envelope.biz_opaque_callback_data,
        **payload,
    )


def _infer_type(data: Mapping[str, Any]) -> str:
    # Graph defaults `type` to text; a body with exactly one payload key is that type.
    present = [t for t in MESSAGE_TYPES if t in data]
    if len(present) == 1:
        return present[0]
    if "text" in present or not present:
        return "text"
    raise GraphError(131008, "The parameter type is required when the body has more than one payload.")


def _parse_mark_read(body: Mapping[str, Any]) -> MarkReadRequest:
    product = body.get("messaging_product")
    if product is None:
        raise GraphError(131008, "The parameter messaging_product is required.")
    if product != "whatsapp":
        raise GraphError(131009, "Param messaging_product must be 'whatsapp'.")
    if body.get("status") != "read":
        raise GraphError(131009, "Param status must be 'read'.")
    message_id = body.get("message_id")
    if message_id is None:
        raise GraphError(131008, "The parameter message_id is required.")
    if not isinstance(message_id, str):
        raise GraphError(100, "Param message_id must be a valid string.")
    if not 0 < len(message_id) <= 256:
        raise GraphError(131009, "Param message_id must be a message id (wamid....).")
    indicator = body.get("typing_indicator")
    if indicator is not None:
        if not isinstance(indicator, dict):
            raise GraphError(100, "Param typing_indicator must be a valid dictionary.")
        if indicator.get("type") != "text":
            raise GraphError(131009, "Param typing_indicator['type'] must be 'text'.")
        unknown = set(indicator) - {"type"}
        if unknown:
            raise GraphError(100, f'Unexpected key "{sorted(unknown)[0]}" on param "typing_indicator".')
    return MarkReadRequest(message_id=message_id, typing_indicator=None if indicator is None else {"type": "text"})


def _parse_contacts(raw: object) -> tuple[ContactObject, ...]:
    if not isinstance(raw, list):
        raise GraphError(100, "Param contacts must be a valid list.")
    # Meta's schema says at most 5, its guide "up to 257": take the guide.
    if not 1 <= len(raw) <= 257:
        raise GraphError(131009, "Param contacts must have from 1 to 257 contacts.")
    return tuple(_validate(ContactObject, item, ("contacts", i)) for i, item in enumerate(raw))


def _parse_interactive(raw: object) -> InteractiveObject:
    if not isinstance(raw, dict):
        raise GraphError(100, "Param interactive must be a valid dictionary.")
    kind = raw.get("type")
    if kind is None:
        raise GraphError(131008, "The parameter interactive['type'] is required.")
    if not isinstance(kind, str):
        raise GraphError(100, "Param interactive['type'] must be a valid string.")
    model = _INTERACTIVE_MODELS.get(kind)
    if model is None:
        raise GraphError(131009, f"Param interactive['type'] must be one of {', '.join(INTERACTIVE_TYPES)}.")
    if "action" not in raw:
        raise GraphError(131008, "The parameter interactive['action'] is required.")
    parsed: InteractiveObject = _validate(model, raw, ("interactive",))
    return parsed


def media_link(request: OutboundRequest) -> str | None:
    """The URL to fetch before storing the send (a media message or media header given by `link`)."""
    found = request.media
    return None if found is None else found.link


def media_id(request: OutboundRequest) -> int | None:
    """The uploaded media the send carries (a media message or media header given by `id`)."""
    found = request.media
    if found is None or found.id is None:
        return None
    if not found.id.isdigit() or len(found.id) > 19:
        raise GraphError(100, f"media id {found.id} does not exist or this business cannot use it", subcode=33)
    return int(found.id)


def template_of(request: OutboundRequest) -> TemplateObject | None:
    return request.template


# --- stored content --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedMedia:
    """Media a business message carries, stored on our side (uploaded by id, or fetched from its link)."""

    media_id: int
    mime_type: str
    size: int
    filename: str | None = None


class RenderedTemplateLike(Protocol):
    """What `content_for` reads of `parley.templates.RenderedTemplate` (a template filled in for a send)."""

    @property
    def header(self) -> Mapping[str, Any] | None: ...

    @property
    def body(self) -> str: ...

    @property
    def footer(self) -> str | None: ...

    @property
    def buttons(self) -> Sequence[Mapping[str, Any]]: ...


def _media_view(media: ResolvedMedia) -> dict[str, Any]:
    return {"id": str(media.media_id), "mime_type": media.mime_type, "size": media.size, "filename": media.filename}


def content_for(
    request: OutboundRequest, media: ResolvedMedia | None, template: RenderedTemplateLike | None
) -> AnyContent:
    """The stored content of an outbound business message.

    `media` is the request's `media` resolved (required for media messages and media headers);
    `template` is the template rendered for a template message. A reaction is not content (it goes to
    the reactions table): asking for one is a programming error.
    """
    if request.text is not None:
        return TextContent(body=request.text.body)
    if request.type in MEDIA_TYPES:
        if media is None:
            raise ValueError(f"a {request.type} message needs its media resolved")
        caption = getattr(request.media, "caption", None)
        filename = getattr(request.media, "filename", None) or media.filename
        return MediaContent(
            media_id=media.media_id, mime_type=media.mime_type, size=media.size, filename=filename, caption=caption
        )
    if request.location is not None:
        loc = request.location
        return LocationContent(latitude=loc.latitude, longitude=loc.longitude, name=loc.name, address=loc.address)
    if request.contacts is not None:
        return ContactsContent(contacts=[c.model_dump(exclude_none=True) for c in request.contacts])
    if request.interactive is not None:
        return _interactive_content(request.interactive, media)
    if request.template is not None:
        if template is None:
            raise ValueError("a template message needs its rendered template")
        category = getattr(template, "category", None)
        return TemplateContent(
            name=request.template.name,
            language=request.template.language.code,
            category=None if category is None else str(category),
            header=None if template.header is None else dict(template.header),
            body=template.body,
            footer=template.footer,
            buttons=[dict(b) for b in template.buttons],
        )
    raise ValueError(f"a {request.type} message has no stored content")


def _interactive_content(interactive: InteractiveObject, media: ResolvedMedia | None) -> InteractiveContent:
    header: dict[str, Any] | None = None
    if interactive.header is not None:
        if interactive.header.type == "text":
            header = interactive.header.model_dump(include={"type", "text", "sub_text"}, exclude_none=True)
        else:
            if media is None:
                raise ValueError("an interactive message with a media header needs its media resolved")
            header = {"type": interactive.header.type, "media": _media_view(media)}
    return InteractiveContent(
        type=interactive.type,
        header=header,
        body=None if interactive.body is None else interactive.body.text,
        footer=None if interactive.footer is None else interactive.footer.text,
        action=interactive.action.model_dump(exclude_none=True),
    )


# --- the common shapes, decoded fast -------------------------------------------------------------------
# Most sends are a text or a template, and many calls mark a message read: msgspec checks those shapes in a few
# microseconds. Anything it does not take (another type, a null where a default applies, a number `to` too long,
# any refusal) goes through `parse_send_request`, whose errors are Meta's; so these structs may only ever be
# stricter than the models above, never looser.


class _FastText(msgspec.Struct, forbid_unknown_fields=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=TEXT_MAX)]
    preview_url: bool = False


class _FastContext(msgspec.Struct, forbid_unknown_fields=True):
    message_id: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


_NO_RAW = msgspec.Raw(b"")


class _FastSend(msgspec.Struct):
    """The envelope of a text or template send to a phone number (unknown envelope keys ignored, as Meta does)."""

    messaging_product: Literal["whatsapp"]
    type: Literal["text", "template"]
    to: str | int
    recipient: msgspec.Raw = _NO_RAW  # a business-scoped user id: the full parser's case
    recipient_type: Literal["individual"] = "individual"
    text: _FastText | None = None
    template: msgspec.Raw = _NO_RAW  # kept as bytes: the full model checks it (msgspec takes no `Raw | None`)
    context: _FastContext | None = None
    biz_opaque_callback_data: Annotated[str, msgspec.Meta(max_length=CALLBACK_DATA_MAX)] | None = None


class _FastTyping(msgspec.Struct, forbid_unknown_fields=True):
    type: Literal["text"]


class _FastRead(msgspec.Struct):
    messaging_product: Literal["whatsapp"]
    status: Literal["read"]
    message_id: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    typing_indicator: _FastTyping | None = None


_send_decoder = msgspec.json.Decoder(_FastSend)
_read_decoder = msgspec.json.Decoder(_FastRead)


def decode_common(raw: bytes) -> OutboundRequest | MarkReadRequest | None:
    """The request, if `raw` is a valid text send, template send or mark-read; None for anything else."""
    if b'"status"' in raw:  # a mark-read (or a body parse_send_request must judge)
        try:
            read = _read_decoder.decode(raw)
        except msgspec.MsgspecError:
            return None
        return MarkReadRequest(read.message_id, None if read.typing_indicator is None else {"type": "text"})
    try:
        envelope = _send_decoder.decode(raw)
    except msgspec.MsgspecError:
        return None
    if len(envelope.recipient) and bytes(envelope.recipient) != b"null":
        return None
    if isinstance(envelope.to, int) and not 0 <= envelope.to < 2**63:
        return None  # orjson (the FastAPI route's decoder) reads wider integers as floats: let it judge them
    to = str(envelope.to)
    if not 0 < len(to) <= 64:
        return None
    context = (
        None if envelope.context is None else MessageContext.model_construct(message_id=envelope.context.message_id)
    )
    if envelope.type == "text":
        if envelope.text is None:
            return None
        text = TextObject.model_construct(body=envelope.text.body, preview_url=envelope.text.preview_url)
        return OutboundRequest("text", to, None, context, envelope.biz_opaque_callback_data, text=text)
    if not len(envelope.template):
        return None
    try:
        # The very values the FastAPI route would check (orjson's, not msgspec's, reading of big numbers).
        template = TemplateObject.model_validate(orjson.loads(bytes(envelope.template)))
    except (orjson.JSONDecodeError, ValidationError):
        return None
    return OutboundRequest("template", to, None, context, envelope.biz_opaque_callback_data, template=template)
