"""A person's messaging data, for their export and their erasure (`parley.rights`)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, or_, select, update

from parley.kit.rows import Rows, rows_of
from parley.messaging import repository as repo
from parley.messaging.models import (
    chat_members,
    chats,
    group_add_invites,
    inbox,
    messages,
    presence,
    reactions,
    receipts,
)


def personal_data_in(conn: Connection, user_id: int) -> dict[str, Rows]:
    """Chats and memberships, the messages they sent (as stored), their reactions, receipts and presence."""
    member_of = select(chat_members.c.chat_id).where(chat_members.c.user_id == user_id)
    return {
        "chats": rows_of(conn, chats, chats.c.id.in_(member_of), omit=["direct_key"]),
        "memberships": rows_of(conn, chat_members, chat_members.c.user_id == user_id),
        "messages_sent": rows_of(conn, messages, messages.c.sender_id == user_id, parse=["content"]),
        "reactions": rows_of(conn, reactions, reactions.c.user_id == user_id),
        "receipts": rows_of(conn, receipts, receipts.c.user_id == user_id),
        "presence": rows_of(conn, presence, presence.c.user_id == user_id),
        "group_invitations": rows_of(
            conn,
            group_add_invites,
            or_(group_add_invites.c.inviter_id == user_id, group_add_invites.c.invitee_id == user_id),
        ),
    }


def delete_direct_messages_in(conn: Connection, user_id: int, now: int) -> list[int]:
    """Mark every message `user_id` sent in a 1:1 chat deleted for everyone (content gone); their ids."""
    direct = select(chats.c.id).where(chats.c.kind == "direct")
    ids = list(
        conn.execute(
            select(messages.c.id).where(
                messages.c.sender_id == user_id, messages.c.deleted_at.is_(None), messages.c.chat_id.in_(direct)
            )
        ).scalars()
    )
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        conn.execute(update(messages).where(messages.c.id.in_(batch)).values(deleted_at=now, content=None))
    return ids


def leave_groups_in(conn: Connection, user_id: int) -> dict[int, list[int]]:
    """Take `user_id` out of every group (an admin's group gets a new admin, as when they leave); each group's
    remaining members."""
    groups = conn.execute(
        select(chat_members.c.chat_id, chat_members.c.role)
        .join(chats, chats.c.id == chat_members.c.chat_id)
        .where(chat_members.c.user_id == user_id, chats.c.kind == "group")
    ).all()
    remaining: dict[int, list[int]] = {}
    for chat_id, role in groups:
        repo.lock_chat(conn, chat_id)
        repo.remove_member(conn, chat_id, user_id)
        members = repo.members(conn, chat_id)
        if role == "admin" and members and not any(m.role == "admin" for m in members):
            repo.set_role(conn, chat_id, members[0].user_id, "admin")
        remaining[chat_id] = [m.user_id for m in members]
    return remaining


def forget_person_in(conn: Connection, user_id: int) -> None:
    """Delete what only described the person: reactions, presence, their inbox queue, personal group invitations."""
    conn.execute(delete(reactions).where(reactions.c.user_id == user_id))
    conn.execute(delete(presence).where(presence.c.user_id == user_id))
    conn.execute(delete(inbox).where(inbox.c.user_id == user_id))
    conn.execute(
        delete(group_add_invites).where(
            or_(group_add_invites.c.inviter_id == user_id, group_add_invites.c.invitee_id == user_id)
        )
    )
