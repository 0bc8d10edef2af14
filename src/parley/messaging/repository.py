"""Messaging queries: plain functions of a Connection. Every history query is keyset on an index."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, case, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from parley.accounts import users_table as users
from parley.messaging.models import (
    SENT,
    chat_members,
    chats,
    group_add_invites,
    group_invites,
    inbox,
    messages,
    presence,
    reactions,
    receipts,
)


@dataclass(frozen=True)
class MessageRow:
    id: int
    chat_id: int
    sender_id: int
    sender_name: str
    client_id: str
    type: str
    content: str | None
    context_id: int | None
    created_at: int
    edited_at: int | None
    deleted_at: int | None


@dataclass(frozen=True)
class ChatRow:
    id: int
    kind: str
    name: str | None
    created_at: int


@dataclass(frozen=True)
class MemberRow:
    user_id: int
    phone: str
    name: str
    role: str
    kind: str = "person"  # person | business


_message_columns = (
    messages.c.id,
    messages.c.chat_id,
    messages.c.sender_id,
    users.c.name.label("sender_name"),
    messages.c.client_id,
    messages.c.type,
    messages.c.content,
    messages.c.context_id,
    messages.c.created_at,
    messages.c.edited_at,
    messages.c.deleted_at,
)


def _message(r: object) -> MessageRow:
    return MessageRow(*r)  # type: ignore[misc]


def _select_messages() -> Select[Any]:
    return select(*_message_columns).join(users, users.c.id == messages.c.sender_id)


# --- chats and members ---------------------------------------------------------------------------


def direct_key(a: int, b: int) -> str:
    return f"{min(a, b)}:{max(a, b)}"


_FIND_DIRECT_CHAT = select(chats.c.id).where(chats.c.direct_key == bindparam("key"))


def find_direct_chat(conn: Connection, key: str) -> int | None:
    return conn.execute(_FIND_DIRECT_CHAT, {"key": key}).scalar_one_or_none()


def insert_chat(
    conn: Connection, chat_id: int, kind: str, name: str | None, key: str | None, created_by: int, now: int
) -> None:
    conn.execute(
        insert(chats).values(id=chat_id, kind=kind, name=name, direct_key=key, created_by=created_by, created_at=now)
    )


def lock_chat(conn: Connection, chat_id: int) -> None:
    """Hold the chat's row until commit, so membership changes to one chat (and the size check) queue up."""
    conn.execute(select(chats.c.id).where(chats.c.id == chat_id).with_for_update())


def get_chat(conn: Connection, chat_id: int) -> ChatRow | None:
    r = conn.execute(
        select(chats.c.id, chats.c.kind, chats.c.name, chats.c.created_at).where(chats.c.id == chat_id)
    ).first()
    return None if r is None else ChatRow(r.id, r.kind, r.name, r.created_at)


def add_members(conn: Connection, chat_id: int, user_roles: dict[int, str], now: int) -> None:
    if user_roles:
        conn.execute(
            insert(chat_members),
            [{"chat_id": chat_id, "user_id": u, "role": role, "joined_at": now} for u, role in user_roles.items()],
        )


def remove_member(conn: Connection, chat_id: int, user_id: int) -> bool:
    result = conn.execute(
        chat_members.delete().where(chat_members.c.chat_id == chat_id, chat_members.c.user_id == user_id)
    )
    return bool(result.rowcount)


def set_role(conn: Connection, chat_id: int, user_id: int, role: str) -> bool:
    result = conn.execute(
        update(chat_members)
        .where(chat_members.c.chat_id == chat_id, chat_members.c.user_id == user_id)
        .values(role=role)
    )
    return bool(result.rowcount)


def member_role(conn: Connection, chat_id: int, user_id: int) -> str | None:
    return conn.execute(
        select(chat_members.c.role).where(chat_members.c.chat_id == chat_id, chat_members.c.user_id == user_id)
    ).scalar_one_or_none()


_MEMBER_IDS = select(chat_members.c.user_id).where(chat_members.c.chat_id == bindparam("chat_id"))


def member_ids(conn: Connection, chat_id: int) -> list[int]:
    return list(conn.execute(_MEMBER_IDS, {"chat_id": chat_id}).scalars())


def members(conn: Connection, chat_id: int) -> list[MemberRow]:
    rows = conn.execute(
        select(chat_members.c.user_id, users.c.phone, users.c.name, chat_members.c.role, users.c.kind)
        .join(users, users.c.id == chat_members.c.user_id)
        .where(chat_members.c.chat_id == chat_id)
        .order_by(chat_members.c.joined_at, chat_members.c.user_id)
    )
    return [MemberRow(r.user_id, r.phone, r.name, r.role, r.kind) for r in rows]


def count_members(conn: Connection, chat_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(chat_members).where(chat_members.c.chat_id == chat_id)
        ).scalar_one()
    )


def chats_of(conn: Connection, user_id: int) -> list[ChatRow]:
    rows = conn.execute(
        select(chats.c.id, chats.c.kind, chats.c.name, chats.c.created_at)
        .join(chat_members, chat_members.c.chat_id == chats.c.id)
        .where(chat_members.c.user_id == user_id)
    )
    return [ChatRow(r.id, r.kind, r.name, r.created_at) for r in rows]


def last_visible_message(conn: Connection, chat_id: int, user_id: int) -> MessageRow | None:
    r = conn.execute(
        _visible(_select_messages(), user_id)
        .where(messages.c.chat_id == chat_id)
        .order_by(messages.c.id.desc())
        .limit(1)
    ).first()
    return None if r is None else _message(r)


def unread_count(conn: Connection, chat_id: int, user_id: int) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(receipts)
            .join(messages, messages.c.id == receipts.c.message_id)
            .where(
                receipts.c.user_id == user_id,
                receipts.c.status.in_((SENT, SENT + 1)),
                messages.c.chat_id == chat_id,
                messages.c.deleted_at.is_(None),
            )
        ).scalar_one()
    )


# --- messages ------------------------------------------------------------------------------------


def get_message(conn: Connection, message_id: int) -> MessageRow | None:
    r = conn.execute(_select_messages().where(messages.c.id == message_id)).first()
    return None if r is None else _message(r)


def update_message(conn: Connection, message_id: int, **values: object) -> None:
    conn.execute(update(messages).where(messages.c.id == message_id).values(**values))


def _visible(query: Select[Any], user_id: int) -> Select[Any]:
    """Hide messages withheld from this user (sent by someone they had blocked)."""
    return query.outerjoin(receipts, and_(receipts.c.message_id == messages.c.id, receipts.c.user_id == user_id)).where(
        or_(receipts.c.status.is_(None), receipts.c.status != 0)
    )


def page_query(chat_id: int, user_id: int, before: int | None, limit: int) -> Select[Any]:
    """Newest first, `limit` rows strictly older than `before`: a range scan on (chat_id, id)."""
    query = _visible(_select_messages(), user_id).where(messages.c.chat_id == chat_id)
    if before is not None:
        query = query.where(messages.c.id < before)
    return query.order_by(messages.c.id.desc()).limit(limit)


def page(conn: Connection, chat_id: int, user_id: int, before: int | None, limit: int) -> list[MessageRow]:
    return [_message(r) for r in conn.execute(page_query(chat_id, user_id, before, limit))]


def search_page(
    conn: Connection, user_id: int, lowered_like_pattern: str, before: int | None, limit: int
) -> list[MessageRow]:
    """Newest first, `limit` live messages visible to this user, in their chats, whose stored content contains
    the pattern (a scan of their chats' messages, each by the (chat_id, id) index; the caller keeps the page
    small). The match is on the stored JSON, so callers check the text itself."""
    my_chats = select(chat_members.c.chat_id).where(chat_members.c.user_id == user_id)
    query = _visible(_select_messages(), user_id).where(
        messages.c.chat_id.in_(my_chats.scalar_subquery()),
        messages.c.deleted_at.is_(None),
        messages.c.type != "encrypted",  # ciphertext: the person's devices search what they decrypted
        func.lower(messages.c.content).like(lowered_like_pattern, escape="\\"),
    )
    if before is not None:
        query = query.where(messages.c.id < before)
    return [_message(r) for r in conn.execute(query.order_by(messages.c.id.desc()).limit(limit))]


# --- receipts, reactions, inbox ------------------------------------------------------------------


def own_statuses(conn: Connection, user_id: int, message_ids: Sequence[int]) -> dict[int, int]:
    if not message_ids:
        return {}
    # `user_id + 0`: without statistics SQLite would walk all of this user's receipts through
    # ix_receipts_user_status; the primary key (message_id, user_id) finds exactly these few.
    rows = conn.execute(
        select(receipts.c.message_id, receipts.c.status).where(
            receipts.c.message_id.in_(message_ids), receipts.c.user_id + 0 == user_id
        )
    )
    return {r.message_id: r.status for r in rows}


def aggregate_statuses(conn: Connection, message_ids: Sequence[int]) -> dict[int, int]:
    """The lowest status over all recipients who were delivered to (withheld ones do not count)."""
    if not message_ids:
        return {}
    rows = conn.execute(
        select(receipts.c.message_id, func.min(receipts.c.status))
        .where(receipts.c.message_id.in_(message_ids), receipts.c.status > 0)
        .group_by(receipts.c.message_id)
    )
    return {r[0]: r[1] for r in rows}


def receipts_of(conn: Connection, message_id: int) -> list[tuple[int, int, int | None, int | None]]:
    rows = conn.execute(
        select(receipts.c.user_id, receipts.c.status, receipts.c.delivered_at, receipts.c.read_at)
        .where(receipts.c.message_id == message_id, receipts.c.status > 0)
        .order_by(receipts.c.user_id)
    )
    return [(r.user_id, r.status, r.delivered_at, r.read_at) for r in rows]


def set_reaction(conn: Connection, message_id: int, user_id: int, emoji: str, now: int) -> None:
    conn.execute(reactions.delete().where(reactions.c.message_id == message_id, reactions.c.user_id == user_id))
    if emoji:
        conn.execute(insert(reactions).values(message_id=message_id, user_id=user_id, emoji=emoji, created_at=now))


def reactions_of(conn: Connection, message_ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    out: dict[int, list[tuple[int, str]]] = {}
    if not message_ids:
        return out
    rows = conn.execute(
        select(reactions.c.message_id, reactions.c.user_id, reactions.c.emoji)
        .where(reactions.c.message_id.in_(message_ids))
        .order_by(reactions.c.created_at)
    )
    for r in rows:
        out.setdefault(r.message_id, []).append((r.user_id, r.emoji))
    return out


_INSERT_INBOX = insert(inbox)


def append_inbox(conn: Connection, seqs: dict[int, int], message_id: int, event: str, now: int) -> None:
    if seqs:
        conn.execute(
            _INSERT_INBOX,
            [
                {"user_id": u, "seq": s, "message_id": message_id, "event": event, "created_at": now}
                for u, s in seqs.items()
            ],
        )


def inbox_after(conn: Connection, user_id: int, after_seq: int, limit: int) -> list[tuple[int, int, str]]:
    rows = conn.execute(
        select(inbox.c.seq, inbox.c.message_id, inbox.c.event)
        .where(inbox.c.user_id == user_id, inbox.c.seq > after_seq)
        .order_by(inbox.c.seq)
        .limit(limit)
    )
    return [(r.seq, r.message_id, r.event) for r in rows]


def get_messages(conn: Connection, message_ids: Iterable[int]) -> dict[int, MessageRow]:
    ids = list(message_ids)
    if not ids:
        return {}
    return {r.id: _message(r) for r in conn.execute(_select_messages().where(messages.c.id.in_(ids)))}


# --- invites --------------------------------------------------------------------------------------


def insert_invite(conn: Connection, code: str, chat_id: int, created_by: int, now: int) -> None:
    conn.execute(insert(group_invites).values(code=code, chat_id=chat_id, created_by=created_by, created_at=now))


def active_invite_chat(conn: Connection, code: str) -> int | None:
    return conn.execute(
        select(group_invites.c.chat_id).where(group_invites.c.code == code, group_invites.c.revoked_at.is_(None))
    ).scalar_one_or_none()


def revoke_invite(conn: Connection, chat_id: int, code: str, now: int) -> bool:
    result = conn.execute(
        update(group_invites)
        .where(group_invites.c.code == code, group_invites.c.chat_id == chat_id, group_invites.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)


# --- personal invitations (someone's privacy settings did not let an admin add them) ---------------------


@dataclass(frozen=True)
class GroupAddInviteRow:
    id: int
    chat_id: int
    inviter_id: int
    invitee_id: int
    expires_at: int
    accepted_at: int | None


def wrote_to(conn: Connection, writers: Collection[int], reader_id: int) -> set[int]:
    """Which of `writers` have sent `reader_id` a message in their 1:1 chat (`reader_id` is their contact)."""
    keys = {direct_key(w, reader_id): w for w in writers}
    if not keys:
        return set()
    query = select(chats.c.direct_key).where(
        chats.c.direct_key.in_(list(keys)),
        # In a 1:1 chat every message not from the reader is from the other person.
        exists().where(messages.c.chat_id == chats.c.id, messages.c.sender_id != reader_id),
    )
    return {keys[k] for k in conn.execute(query).scalars()}


def pending_invites(conn: Connection, chat_id: int, invitee_ids: Collection[int], now: int) -> dict[int, int]:
    """The unexpired, unaccepted invitation to this group (its id) each of `invitee_ids` already holds."""
    if not invitee_ids:
        return {}
    query = select(group_add_invites.c.invitee_id, group_add_invites.c.id).where(
        group_add_invites.c.chat_id == chat_id,
        group_add_invites.c.invitee_id.in_(list(invitee_ids)),
        group_add_invites.c.accepted_at.is_(None),
        group_add_invites.c.expires_at > now,
    )
    return {r.invitee_id: r.id for r in conn.execute(query)}


def insert_group_add_invite(conn: Connection, row: GroupAddInviteRow, now: int) -> None:
    conn.execute(
        insert(group_add_invites).values(
            id=row.id,
            chat_id=row.chat_id,
            inviter_id=row.inviter_id,
            invitee_id=row.invitee_id,
            created_at=now,
            expires_at=row.expires_at,
        )
    )


def get_group_add_invite(conn: Connection, invite_id: int) -> GroupAddInviteRow | None:
    r = conn.execute(select(group_add_invites).where(group_add_invites.c.id == invite_id).with_for_update()).first()
    if r is None:
        return None
    return GroupAddInviteRow(r.id, r.chat_id, r.inviter_id, r.invitee_id, r.expires_at, r.accepted_at)


def accept_group_add_invite(conn: Connection, invite_id: int, now: int) -> None:
    conn.execute(update(group_add_invites).where(group_add_invites.c.id == invite_id).values(accepted_at=now))


# --- presence ----------------------------------------------------------------------------------


def stream_opened(conn: Connection, user_id: int, now: int) -> None:
    # An upsert: two devices connecting at once for the first time must not collide on the primary key.
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(presence).values(user_id=user_id, streams=1, last_seen_at=now)
    conn.execute(statement.on_conflict_do_update(index_elements=["user_id"], set_={"streams": presence.c.streams + 1}))


def stream_closed(conn: Connection, user_id: int, now: int) -> None:
    remaining = case((presence.c.streams > 0, presence.c.streams - 1), else_=0)
    conn.execute(update(presence).where(presence.c.user_id == user_id).values(streams=remaining, last_seen_at=now))


def forget_open_streams(conn: Connection, now: int) -> None:
    """Whoever was counted online was last seen about now (their streams ended with the previous process)."""
    conn.execute(update(presence).where(presence.c.streams > 0).values(streams=0, last_seen_at=now))


def presence_of(conn: Connection, user_id: int) -> tuple[bool, int | None]:
    """(online, last seen) as the streams left them; (False, None) for someone who never opened one."""
    row = conn.execute(select(presence.c.streams, presence.c.last_seen_at).where(presence.c.user_id == user_id)).first()
    return (False, None) if row is None else (row.streams > 0, row.last_seen_at)


def shared_chat_peers(conn: Connection, user_id: int, among: Sequence[int] | None) -> set[int]:
    """Who of `among` (None: anyone) shares a chat with `user_id`, the user excluded."""
    mine, theirs = chat_members.alias("mine"), chat_members.alias("theirs")
    query = (
        select(theirs.c.user_id)
        .distinct()
        .join(mine, mine.c.chat_id == theirs.c.chat_id)
        .where(mine.c.user_id == user_id, theirs.c.user_id != user_id)
    )
    if among is None:
        return {r.user_id for r in conn.execute(query)}
    found: set[int] = set()
    ids = list(among)
    for start in range(0, len(ids), 500):
        found.update(r.user_id for r in conn.execute(query.where(theirs.c.user_id.in_(ids[start : start + 500]))))
    return found
