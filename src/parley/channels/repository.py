"""Channel queries: driver-agnostic SQLAlchemy Core on the caller's connection."""

from __future__ import annotations

from sqlalchemy import Connection, Row, select, update

from parley.channels.models import channel_admins, channels


def channel_row(conn: Connection, channel_id: int) -> Row[tuple[object, ...]] | None:
    """The channel `channel_id`, deleted or not."""
    return conn.execute(select(channels).where(channels.c.id == channel_id)).first()


def channel_owner_in(conn: Connection, channel_id: int) -> int | None:
    """The owner of a live channel; None when there is no such channel (or it was deleted)."""
    c = channels.c
    owner = conn.execute(select(c.owner_id).where(c.id == channel_id, c.deleted_at.is_(None))).scalar()
    return None if owner is None else int(owner)


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
