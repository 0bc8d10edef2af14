"""Media queries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select

from parley.media.models import media, media_shares


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


def get_media(conn: Connection, media_id: int) -> MediaRow | None:
    r = conn.execute(select(media).where(media.c.id == media_id)).first()
    if r is None:
        return None
    return MediaRow(r.id, r.owner_id, r.kind, r.mime_type, r.size, r.sha256, r.filename, r.path)


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


def share_media(conn: Connection, media_id: int, chat_id: int) -> None:
    exists = conn.execute(
        select(media_shares.c.media_id).where(media_shares.c.media_id == media_id, media_shares.c.chat_id == chat_id)
    ).first()
    if exists is None:
        conn.execute(insert(media_shares).values(media_id=media_id, chat_id=chat_id))


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
