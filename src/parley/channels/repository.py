"""Channel queries: driver-agnostic SQLAlchemy Core on the caller's connection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from parley.channels.models import (
    channel_admins,
    channel_follows,
    channel_poll_votes,
    channel_posts,
    channel_reaction_counts,
    channel_reactions,
    channels,
)


def channel_row(conn: Connection, channel_id: int) -> Row[tuple[object, ...]] | None:
    """The channel `channel_id`, deleted or not."""
    return conn.execute(select(channels).where(channels.c.id == channel_id)).first()


def channel_owner_in(conn: Connection, channel_id: int) -> int | None:
    """The owner of a live channel; None when there is no such channel (or it was deleted)."""
    c = channels.c
    owner = conn.execute(select(c.owner_id).where(c.id == channel_id, c.deleted_at.is_(None))).scalar()
    return None if owner is None else int(owner)


def channel_waba_in(conn: Connection, channel_id: int) -> int | None:
    """The business account that runs channel `channel_id`; None for a person's channel."""
    waba = conn.execute(select(channels.c.waba_id).where(channels.c.id == channel_id)).scalar()
    return None if waba is None else int(waba)


def is_channel_admin_in(conn: Connection, channel_id: int, user_id: int) -> bool:
    """Whether `user_id` is the owner or an admin who accepted, of channel `channel_id`."""
    a = channel_admins.c
    found = conn.execute(
        select(a.role).where(a.channel_id == channel_id, a.user_id == user_id, a.accepted_at.is_not(None))
    ).first()
    return found is not None


def adjust_subscriber_count_in(conn: Connection, channel_id: int, delta: int) -> None:
    """Add `delta` (+1 / -1) to the channel's count of paying subscribers (the subscriptions package keeps it)."""
    conn.execute(
        update(channels).where(channels.c.id == channel_id).values(subscriber_count=channels.c.subscriber_count + delta)
    )


# --- the rest of the channel queries (the service's) ---------------------------------------------------------


def live_channel(conn: Connection, channel_id: int) -> Row[tuple[object, ...]] | None:
    return conn.execute(select(channels).where(channels.c.id == channel_id, channels.c.deleted_at.is_(None))).first()


def channel_by_code(conn: Connection, code: str) -> Row[tuple[object, ...]] | None:
    c = channels.c
    return conn.execute(select(channels).where(c.invite_code == code, c.deleted_at.is_(None))).first()


def admin_row(conn: Connection, channel_id: int, user_id: int) -> Row[tuple[object, ...]] | None:
    a = channel_admins.c
    return conn.execute(select(channel_admins).where(a.channel_id == channel_id, a.user_id == user_id)).first()


def admin_rows(conn: Connection, channel_id: int) -> list[Row[tuple[object, ...]]]:
    a = channel_admins.c
    query = select(channel_admins).where(a.channel_id == channel_id).order_by(a.invited_at)
    return list(conn.execute(query))


def admin_ids(conn: Connection, channel_id: int) -> set[int]:
    """The owner and the admins who accepted."""
    a = channel_admins.c
    query = select(a.user_id).where(a.channel_id == channel_id, a.accepted_at.is_not(None))
    return {int(r[0]) for r in conn.execute(query)}


def follow_row(conn: Connection, channel_id: int, user_id: int) -> Row[tuple[object, ...]] | None:
    f = channel_follows.c
    return conn.execute(select(channel_follows).where(f.channel_id == channel_id, f.user_id == user_id)).first()


def followed_channel_ids(conn: Connection, user_id: int) -> list[int]:
    """The channels `user_id` follows or runs (one indexed read each: the live index's load on stream open)."""
    followed = conn.execute(select(channel_follows.c.channel_id).where(channel_follows.c.user_id == user_id))
    a = channel_admins.c
    runs = conn.execute(select(a.channel_id).where(a.user_id == user_id, a.accepted_at.is_not(None)))
    return sorted({int(r[0]) for r in followed} | {int(r[0]) for r in runs})


def post_row(conn: Connection, channel_id: int, post_id: int) -> Row[tuple[object, ...]] | None:
    p = channel_posts.c
    return conn.execute(
        select(channel_posts).where(p.id == post_id, p.channel_id == channel_id, p.deleted_at.is_(None))
    ).first()


def post_by_client_id(conn: Connection, channel_id: int, client_id: str) -> Row[tuple[object, ...]] | None:
    p = channel_posts.c
    return conn.execute(select(channel_posts).where(p.channel_id == channel_id, p.client_id == client_id)).first()


def reaction_counts(conn: Connection, post_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    if not post_ids:
        return counts
    r = channel_reaction_counts.c
    query = select(r.post_id, r.emoji, r.count).where(r.post_id.in_(post_ids), r.count > 0).order_by(r.emoji)
    for post_id, emoji, count in conn.execute(query):
        counts.setdefault(int(post_id), {})[emoji] = int(count)
    return counts


def my_reactions(conn: Connection, user_id: int, post_ids: Sequence[int]) -> dict[int, str]:
    if not post_ids:
        return {}
    r = channel_reactions.c
    query = select(r.post_id, r.emoji).where(r.user_id == user_id, r.post_id.in_(post_ids))
    return {int(row.post_id): row.emoji for row in conn.execute(query)}


def poll_counts(conn: Connection, post_ids: Sequence[int]) -> dict[int, dict[int, int]]:
    counts: dict[int, dict[int, int]] = {}
    if not post_ids:
        return counts
    v = channel_poll_votes.c
    query = select(v.post_id, v.option, func.count()).where(v.post_id.in_(post_ids)).group_by(v.post_id, v.option)
    for post_id, option, n in conn.execute(query):
        counts.setdefault(int(post_id), {})[int(option)] = int(n)
    return counts


def my_votes(conn: Connection, user_id: int, post_ids: Sequence[int]) -> dict[int, int]:
    if not post_ids:
        return {}
    v = channel_poll_votes.c
    query = select(v.post_id, v.option).where(v.user_id == user_id, v.post_id.in_(post_ids))
    return {int(row.post_id): int(row.option) for row in conn.execute(query)}


def add_reaction_count(conn: Connection, post_id: int, emoji: str, delta: int) -> None:
    # An upsert: two people reacting with a new emoji at once must not collide on the primary key.
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(channel_reaction_counts).values(post_id=post_id, emoji=emoji, count=max(delta, 0))
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["post_id", "emoji"], set_={"count": channel_reaction_counts.c.count + delta}
        )
    )


def insert_once(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert unless the primary key is taken (a double click, a race of two requests): whether it was inserted."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return bool(conn.execute(dialect.insert(table).values(**values).on_conflict_do_nothing()).rowcount)


def lock_channel(conn: Connection, channel_id: int) -> None:
    """Hold the channel's row until the unit ends (PostgreSQL; SQLite has one writer): a retried post with the
    same client_id waits for the first to commit, then finds it."""
    conn.execute(select(channels.c.id).where(channels.c.id == channel_id).with_for_update())


def delete_post_children(conn: Connection, post_ids: Sequence[int]) -> None:
    """A removed post's reactions, their counts and its poll votes (nothing of it stays)."""
    if not post_ids:
        return
    for table in (channel_reactions, channel_reaction_counts, channel_poll_votes):
        conn.execute(delete(table).where(table.c.post_id.in_(post_ids)))
