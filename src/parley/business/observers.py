"""Hooks other domains hang on a business conversation (the team inbox hears every message in and out).

Observers run INSIDE the write unit that stored the message, so what they write commits or rolls back with
it. They must be cheap: they run on every business send and every person's message to a business.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import Connection

from parley.accounts import UserRow
from parley.business.repository import BusinessMessageRow, ConversationRow, NumberRow
from parley.graph import GraphError


@dataclass(frozen=True)
class SentBy:
    """Who sent a business message: an API client, a person on the team (an inbox agent) or an automation."""

    kind: Literal["api", "agent", "automation"] = "api"
    agent_id: int | None = None


API = SentBy()


@dataclass(frozen=True)
class ConversationMessage:
    """One message of a business conversation, in or out, as the inbox needs it."""

    number: NumberRow
    conversation: ConversationRow
    person_id: int
    person_phone: str
    person_name: str
    message_id: int
    type: str
    preview: str  # a short plain-text line for lists and search
    at: int
    direction: Literal["in", "out"]
    sent_by: SentBy | None = None  # outbound only
    link_code: str | None = None  # inbound only: the click-to-chat link the person came from
    ctwa_clid: str | None = None  # inbound only: the click that referral came from (ads attribution)
    order_value: tuple[int, str] | None = None  # inbound `order` only: its total (micros) and currency

    def with_sender(self, sent_by: SentBy) -> ConversationMessage:
        return dataclasses.replace(self, sent_by=sent_by)


class ConversationObserver(Protocol):
    def on_conversation_message(self, conn: Connection, message: ConversationMessage) -> None: ...


class ConversationObservers:
    """The observers of business conversations, told by the sender and the inbound bridge alike."""

    def __init__(self) -> None:
        self._observers: list[ConversationObserver] = []

    def add(self, observer: ConversationObserver) -> None:
        self._observers.append(observer)

    def notify_in(self, conn: Connection, message: ConversationMessage) -> None:
        for observer in self._observers:
            observer.on_conversation_message(conn, message)


class ConversationWrites(Protocol):
    """What the inbound bridge and the sweeps write the way a send does: the conversation row and status webhooks.

    The Cloud API sender implements it (one place decides a conversation's windows and a status's pricing).
    """

    def conversation_in(self, conn: Connection, number: NumberRow, person: UserRow, now: int) -> ConversationRow: ...

    def enqueue_status_in(
        self,
        conn: Connection,
        number: NumberRow,
        row: BusinessMessageRow,
        person_phone: str,
        person_bsuid: str,
        error: GraphError | None,
        now: int,
        *,
        pricing_on_read: bool = False,
        priced: dict[str, Any] | None = None,
    ) -> None: ...


PRODUCT_MESSAGE_TYPES = frozenset({"product", "product_list", "catalog_message", "carousel"})


class ProductMessageCheck(Protocol):
    """Checks a product message (interactive `product`, `product_list`, `catalog_message`, `carousel`) against the
    business's catalog inside the send's unit; the commerce domain implements it (business never imports it).

    Returns the action to store (a product list keeps only the products that exist) or None to store it as given;
    refuses with a `GraphError`.
    """

    def check_product_message_in(
        self, conn: Connection, waba_id: int, kind: str, action: dict[str, Any]
    ) -> dict[str, Any] | None: ...
