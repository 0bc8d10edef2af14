"""The copies of a person's number and profile name in businesses' contact lists, for their erasure
(`parley.rights`)."""

from __future__ import annotations

from sqlalchemy import Connection, update

from parley.inbox.models import inbox_contacts


def erase_person_in(conn: Connection, user_id: int, pseudonym: str, name: str) -> None:
    """Businesses keep their own notes and thread history (their records), but no longer the person's number or
    the name they gave themself."""
    conn.execute(
        update(inbox_contacts).where(inbox_contacts.c.person_id == user_id).values(phone=pseudonym, profile_name=name)
    )
