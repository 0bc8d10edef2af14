"""A person's ad interests, for their export and their erasure (`parley.rights`). Ads know people only by an
opaque viewer id (`ViewerIds.of_person`)."""

from __future__ import annotations

from sqlalchemy import Connection, delete

from parley.ads.models import ad_preferences
from parley.kit.rows import Rows, rows_of


def personal_data_in(conn: Connection, viewer: str) -> dict[str, Rows]:
    """The interests they chose for ads, and when they consented."""
    return {"ad_preferences": rows_of(conn, ad_preferences, ad_preferences.c.viewer == viewer)}


def erase_person_in(conn: Connection, viewer: str) -> None:
    conn.execute(delete(ad_preferences).where(ad_preferences.c.viewer == viewer))
