"""Media queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from parley.media.models import media, media_shares, profile_photos


@dataclass(frozen=True)
class MediaRow:
    id: int
    owner_id: int
    kind: str
    mime_type: str
    size: int
    sha256: str
    filename: str | None
    path: str
    used_at: int | None = None  # when it was put to use (sent, fetched by a chat's member); None: an unsent upload


def get_media(conn: Connection, media_id: int) -> MediaRow | None:
    r = conn.execute(select(media).where(media.c.id == media_id)).first()
    return None if r is None else _row(r)


def _row(r: Any) -> MediaRow:
    return MediaRow(r.id, r.owner_id, r.kind, r.mime_type, r.size, r.sha256, r.filename, r.path, r.used_at)


def insert_media(conn: Connection, row: MediaRow, now: int) -> None:
    conn.execute(
        insert(media).values(
            id=row.id,
            owner_id=row.owner_id,
            kind=row.kind,
            mime_type=row.mime_type,
            size=row.size,
            sha256=row.sha256,
            filename=row.filename,
            path=row.path,
            created_at=now,
        )
    )


def share_media(conn: Connection, media_id: int, chat_id: int, now: int) -> None:
    """The media is in this chat (its members may download it); it is sent, so it no longer expires."""
    exists = conn.execute(
        select(media_shares.c.media_id).where(media_shares.c.media_id == media_id, media_shares.c.chat_id == chat_id)
    ).first()
    if exists is None:
        conn.execute(insert(media_shares).values(media_id=media_id, chat_id=chat_id))
        mark_media_used(conn, media_id, now)


def mark_media_used(conn: Connection, media_id: int, now: int) -> None:
    """Put to use (sent, or made a profile picture): kept, and no longer counted as an unsent upload."""
    conn.execute(update(media).where(media.c.id == media_id, media.c.used_at.is_(None)).values(used_at=now))


def unsent_bytes(conn: Connection, owner_id: int) -> int:
    query = select(func.coalesce(func.sum(media.c.size), 0)).where(
        media.c.owner_id == owner_id, media.c.used_at.is_(None)
    )
    return int(conn.execute(query).scalar_one())


def delete_unsent_before(conn: Connection, created_before: int, limit: int) -> list[MediaRow]:
    """Delete up to `limit` uploads never put to use and stored before `created_before`; the deleted rows."""
    query = (
        select(media)
        .where(media.c.used_at.is_(None), media.c.created_at < created_before)
        .order_by(media.c.created_at)
        .limit(limit)
    )
    rows = [_row(r) for r in conn.execute(query)]
    if rows:
        # `used_at IS NULL` again: only what is still unsent in this transaction goes.
        gone = delete(media).where(media.c.id.in_([r.id for r in rows]), media.c.used_at.is_(None))
        deleted = {int(r.id) for r in conn.execute(gone.returning(media.c.id))}
        rows = [r for r in rows if r.id in deleted]
    return rows


def chats_sharing(conn: Connection, media_id: int) -> list[int]:
    return [r.chat_id for r in conn.execute(select(media_shares.c.chat_id).where(media_shares.c.media_id == media_id))]


def delete_unshared_media(conn: Connection, media_id: int) -> MediaRow | None:
    """Delete a media row that no chat shares (people still need shared files); the deleted row, if any."""
    row = get_media(conn, media_id)
    if row is None or chats_sharing_any(conn, media_id):
        return None
    conn.execute(delete(media).where(media.c.id == media_id))
    return row


def chats_sharing_any(conn: Connection, media_id: int) -> bool:
    return (
        conn.execute(select(media_shares.c.chat_id).where(media_shares.c.media_id == media_id).limit(1)).first()
        is not None
    )


def set_profile_photo(conn: Connection, user_id: int, media_id: int | None, now: int) -> None:
    """Make `media_id` the person's profile photo (None removes it)."""
    conn.execute(delete(profile_photos).where(profile_photos.c.user_id == user_id))
    if media_id is not None:
        conn.execute(insert(profile_photos).values(user_id=user_id, media_id=media_id, updated_at=now))
        mark_media_used(conn, media_id, now)


def profile_photos_of(conn: Connection, user_ids: Iterable[int]) -> dict[int, int]:
    """The profile photo (media id) of each of `user_ids` that has one."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    query = select(profile_photos.c.user_id, profile_photos.c.media_id).where(profile_photos.c.user_id.in_(ids))
    return {r.user_id: r.media_id for r in conn.execute(query)}


def is_profile_photo(conn: Connection, media_id: int) -> bool:
    query = select(profile_photos.c.user_id).where(profile_photos.c.media_id == media_id).limit(1)
    return conn.execute(query).first() is not None
