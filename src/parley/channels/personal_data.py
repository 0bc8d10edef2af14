"""A person's channels, follows and reactions, for their export and their erasure (`parley.rights`)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select, update

from parley.channels.models import channel_admins, channel_follows, channel_poll_votes, channel_reactions, channels
from parley.kit.rows import Rows, rows_by


def personal_data_in(conn: Connection, user_id: int) -> dict[str, Rows]:
    """Channels they own, their admin roles, what they follow (private), their reactions and poll votes."""
    return rows_by(
        conn,
        user_id,
        {
            "channels_owned": channels.c.owner_id,
            "channel_roles": channel_admins.c.user_id,
            "channels_followed": channel_follows.c.user_id,
            "channel_reactions": channel_reactions.c.user_id,
            "channel_poll_votes": channel_poll_votes.c.user_id,
        },
    )


def erase_person_in(conn: Connection, user_id: int, now: int) -> None:
    """Follows go (follower counts follow), admin roles go, and their own channels close as when the owner deletes
    them; business-run channels stay with their business. Reactions and votes stay in the counts, anonymous."""
    followed = list(
        conn.execute(select(channel_follows.c.channel_id).where(channel_follows.c.user_id == user_id)).scalars()
    )
    conn.execute(delete(channel_follows).where(channel_follows.c.user_id == user_id))
    for start in range(0, len(followed), 500):
        conn.execute(
            update(channels)
            .where(channels.c.id.in_(followed[start : start + 500]))
            .values(follower_count=channels.c.follower_count - 1)
        )
    conn.execute(delete(channel_admins).where(channel_admins.c.user_id == user_id, channel_admins.c.role != "owner"))
    conn.execute(
        update(channels)
        .where(channels.c.owner_id == user_id, channels.c.waba_id.is_(None), channels.c.deleted_at.is_(None))
        .values(deleted_at=now, discoverable=False)
    )
