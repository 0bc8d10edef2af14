"""A person's uploads, for their export and their erasure (`parley.rights`).

Erasure takes files down in two steps, because a file cannot be deleted inside a transaction: the erasing unit
unshares everything the person uploaded (no one can download it from then on), then each file is deleted and only
after that its row. A crash in between leaves rows whose files may still exist; running the erasure again
finishes them, since it starts from the rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, or_, select

from parley.kit.rows import Rows, rows_of
from parley.media.models import media, media_shares, profile_photos
from parley.media.repository import MediaRow, _row


def personal_data_in(conn: Connection, user_id: int) -> dict[str, Rows]:
    """What they uploaded (the files go beside it in the archive), where it was shared, their profile photo."""
    theirs = select(media.c.id).where(media.c.owner_id == user_id)
    return {
        "media": rows_of(conn, media, media.c.owner_id == user_id, omit=["path"]),
        "media_shares": rows_of(conn, media_shares, media_shares.c.media_id.in_(theirs)),
        "profile_photo": rows_of(conn, profile_photos, profile_photos.c.user_id == user_id),
    }


def media_of_in(conn: Connection, user_id: int) -> list[MediaRow]:
    """Everything `user_id` uploaded, oldest first."""
    return [_row(r) for r in conn.execute(select(media).where(media.c.owner_id == user_id).order_by(media.c.id))]


def unshare_all_in(conn: Connection, user_id: int) -> None:
    """No one may download anything `user_id` uploaded any more, and they have no profile photo."""
    theirs = select(media.c.id).where(media.c.owner_id == user_id)
    conn.execute(delete(media_shares).where(media_shares.c.media_id.in_(theirs)))
    conn.execute(
        delete(profile_photos).where(or_(profile_photos.c.user_id == user_id, profile_photos.c.media_id.in_(theirs)))
    )


def delete_media_rows_in(conn: Connection, media_ids: Sequence[int]) -> None:
    """Forget uploads whose files are gone (or are about to be: see the module's note)."""
    for start in range(0, len(media_ids), 500):
        conn.execute(delete(media_shares).where(media_shares.c.media_id.in_(media_ids[start : start + 500])))
        conn.execute(delete(media).where(media.c.id.in_(media_ids[start : start + 500])))
