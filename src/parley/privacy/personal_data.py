"""A person's blocks, reports and privacy settings, for their export and their erasure (`parley.rights`)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, or_

from parley.kit.rows import Rows, rows_of
from parley.privacy.models import blocks, privacy_settings, reports


def personal_data_in(conn: Connection, user_id: int) -> dict[str, Rows]:
    """Who they blocked, the reports they filed, their privacy settings."""
    return {
        "blocks": rows_of(conn, blocks, blocks.c.blocker_id == user_id),
        "reports_filed": rows_of(conn, reports, reports.c.reporter_id == user_id, parse=["message_ids"]),
        "privacy_settings": rows_of(conn, privacy_settings, privacy_settings.c.user_id == user_id),
    }


def erase_person_in(conn: Connection, user_id: int) -> None:
    """Blocks either way and settings go; abuse reports stay (under the pseudonymous id) for the safety team."""
    conn.execute(delete(blocks).where(or_(blocks.c.blocker_id == user_id, blocks.c.blocked_id == user_id)))
    conn.execute(delete(privacy_settings).where(privacy_settings.c.user_id == user_id))
