"""Messaging: chats, groups, messages, receipts, and each device's realtime stream."""

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, exists, func, select

from parley.messaging.content import (
    AnyContent,
    ContactsContent,
    EncryptedContent,
    InteractiveContent,
    LocationContent,
    MediaContent,
    MessageContent,
    OrderContent,
    OrderItem,
    PaymentContent,
    ReplyContent,
    TemplateContent,
    TextContent,
    preview_of,
    reply_choices,
)
from parley.messaging.gates import JoinGate, OpenGroups
from parley.messaging.models import DELIVERED, READ, SENT, WITHHELD, chat_members, chats, messages
from parley.messaging.observers import MessageObserver
from parley.messaging.personal_data import personal_data_in  # rights
from parley.messaging.render import render_message
from parley.messaging.repository import MessageRow, get_message
from parley.messaging.repository import shared_chat_peers as shared_chat_peers_in
from parley.messaging.service import Committed, MessagingService, SendResult, user_topic
from parley.messaging.stream import DeviceStream, LiveStreams, StreamListener


def chat_members_among(conn: Connection, chat_ids: Sequence[int], user_ids: Collection[int]) -> set[tuple[int, int]]:
    """The (chat_id, user_id) pairs where one of `user_ids` is a member of one of `chat_ids` (batched IN lists)."""
    found: set[tuple[int, int]] = set()
    users = list(user_ids)
    if not users:
        return found
    for start in range(0, len(chat_ids), 500):
        batch = chat_ids[start : start + 500]
        query = select(chat_members.c.chat_id, chat_members.c.user_id).where(
            chat_members.c.chat_id.in_(batch), chat_members.c.user_id.in_(users)
        )
        found.update((r.chat_id, r.user_id) for r in conn.execute(query))
    return found


def direct_peer_in(conn: Connection, chat_id: int, user_id: int) -> int | None:
    """The other person of `user_id`'s direct chat `chat_id`; None when it is not their direct chat."""
    m = chat_members.c
    rows = conn.execute(
        select(m.user_id).join(chats, chats.c.id == m.chat_id).where(m.chat_id == chat_id, chats.c.kind == "direct")
    ).all()
    members = {r.user_id for r in rows}
    if user_id not in members or len(members) != 2:
        return None
    (peer,) = members - {user_id}
    return int(peer)


def message_text_matches(chat_id_column: Any, lowered_like_pattern: str) -> Any:
    """A SQL condition: some live message of the chat in `chat_id_column` contains the pattern (a scan)."""
    return exists().where(
        messages.c.chat_id == chat_id_column,
        messages.c.deleted_at.is_(None),
        func.lower(messages.c.content).like(lowered_like_pattern, escape="\\"),
    )


__all__ = [
    "DELIVERED",
    "READ",
    "SENT",
    "WITHHELD",
    "AnyContent",
    "Committed",
    "ContactsContent",
    "DeviceStream",
    "EncryptedContent",
    "InteractiveContent",
    "JoinGate",
    "LiveStreams",
    "LocationContent",
    "MediaContent",
    "MessageContent",
    "MessageObserver",
    "MessageRow",
    "MessagingService",
    "OpenGroups",
    "OrderContent",
    "OrderItem",
    "PaymentContent",
    "ReplyContent",
    "SendResult",
    "StreamListener",
    "TemplateContent",
    "TextContent",
    "chat_members_among",
    "direct_peer_in",
    "get_message",
    "message_text_matches",
    "personal_data_in",  # rights
    "preview_of",
    "render_message",
    "reply_choices",
    "shared_chat_peers_in",
    "user_topic",
]
