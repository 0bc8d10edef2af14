"""Block and report queries."""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, insert, select, update

from parley.privacy.models import blocks, privacy_settings, reports

GROUP_ADD_CHOICES = ("everyone", "contacts", "nobody")
LAST_SEEN_CHOICES = GROUP_ADD_CHOICES

_BLOCKERS_AMONG = select(blocks.c.blocker_id).where(
    blocks.c.blocked_id == bindparam("sender_id"), blocks.c.blocker_id.in_(bindparam("ids", expanding=True))
)


def blockers_among(conn: Connection, sender_id: int, user_ids: Iterable[int]) -> set[int]:
    """Which of `user_ids` have blocked `sender_id`."""
    ids = list(user_ids)
    if not ids:
        return set()
    rows = conn.execute(_BLOCKERS_AMONG, {"sender_id": sender_id, "ids": ids})
    return {r.blocker_id for r in rows}


def add_block(conn: Connection, blocker_id: int, blocked_id: int, now: int) -> bool:
    """True when this is a new block (blocking twice is one block)."""
    exists = conn.execute(
        select(blocks.c.blocker_id).where(blocks.c.blocker_id == blocker_id, blocks.c.blocked_id == blocked_id)
    ).first()
    if exists is None:
        conn.execute(insert(blocks).values(blocker_id=blocker_id, blocked_id=blocked_id, created_at=now))
    return exists is None


def remove_block(conn: Connection, blocker_id: int, blocked_id: int) -> bool:
    result = conn.execute(blocks.delete().where(blocks.c.blocker_id == blocker_id, blocks.c.blocked_id == blocked_id))
    return bool(result.rowcount)


def list_blocked(conn: Connection, blocker_id: int) -> list[tuple[int, int]]:
    rows = conn.execute(
        select(blocks.c.blocked_id, blocks.c.created_at)
        .where(blocks.c.blocker_id == blocker_id)
        .order_by(blocks.c.created_at)
    )
    return [(r.blocked_id, r.created_at) for r in rows]


def insert_report(
    conn: Connection,
    report_id: int,
    reporter_id: int,
    reported_user_id: int,
    chat_id: int | None,
    message_ids: list[int],
    reason: str,
    now: int,
) -> None:
    conn.execute(
        insert(reports).values(
            id=report_id,
            reporter_id=reporter_id,
            reported_user_id=reported_user_id,
            chat_id=chat_id,
            message_ids=json.dumps([str(m) for m in message_ids]),
            reason=reason,
            created_at=now,
        )
    )


def group_add_policies(conn: Connection, user_ids: Iterable[int]) -> dict[int, str]:
    """Who may add each of `user_ids` to groups: "everyone" (the default), "contacts" or "nobody"."""
    return _policies(conn, "group_add", user_ids)


def last_seen_policies(conn: Connection, user_ids: Iterable[int]) -> dict[int, str]:
    """Who may see each of `user_ids`' last seen and online: "everyone" (the default), "contacts" or "nobody"."""
    return _policies(conn, "last_seen", user_ids)


def _policies(conn: Connection, setting: str, user_ids: Iterable[int]) -> dict[int, str]:
    ids = list(set(user_ids))
    policies = dict.fromkeys(ids, "everyone")
    if ids:
        column = privacy_settings.c[setting]
        query = select(privacy_settings.c.user_id, column).where(privacy_settings.c.user_id.in_(ids))
        policies.update({r[0]: r[1] for r in conn.execute(query)})
    return policies


def set_policy(conn: Connection, user_id: int, setting: str, choice: str, now: int) -> None:
    """Set one of the person's privacy settings (`group_add`, `last_seen`); the others keep their values."""
    updated = conn.execute(
        update(privacy_settings)
        .where(privacy_settings.c.user_id == user_id)
        .values({setting: choice, "updated_at": now})
    )
    if not updated.rowcount:
        conn.execute(insert(privacy_settings).values({"user_id": user_id, setting: choice, "updated_at": now}))
