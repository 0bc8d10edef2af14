"""Hooks other domains hang on a business conversation (the team inbox hears every message in and out).

Observers run INSIDE the write unit that stored the message, so what they write commits or rolls back with
it. They must be cheap: they run on every business send and every person's message to a business.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy import Connection

from parley.business.repository import ConversationRow, NumberRow


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

    def with_sender(self, sent_by: SentBy) -> ConversationMessage:
        return dataclasses.replace(self, sent_by=sent_by)


class ConversationObserver(Protocol):
    def on_conversation_message(self, conn: Connection, message: ConversationMessage) -> None: ...
