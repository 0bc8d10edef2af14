"""A person's affiliate links and what they earned, for their export and their erasure (`parley.rights`)."""

from __future__ import annotations

from sqlalchemy import Connection, and_, select, update
from sqlalchemy.sql import ColumnElement

from parley.affiliates.models import affiliate_clicks, affiliate_commissions, affiliate_links
from parley.affiliates.service import PERSON
from parley.kit.rows import Rows, rows_of


def _links_of(user_id: int) -> ColumnElement[bool]:
    return and_(affiliate_links.c.affiliate_kind == PERSON, affiliate_links.c.affiliate_id == user_id)


def personal_data_in(conn: Connection, user_id: int) -> dict[str, Rows]:
    """Their links, the commissions earned through them, and the links they clicked."""
    theirs = select(affiliate_links.c.id).where(_links_of(user_id))
    return {
        "affiliate_links": rows_of(conn, affiliate_links, _links_of(user_id)),
        "affiliate_commissions": rows_of(conn, affiliate_commissions, affiliate_commissions.c.link_id.in_(theirs)),
        "affiliate_clicks": rows_of(conn, affiliate_clicks, affiliate_clicks.c.person_id == user_id),
    }


def erase_person_in(conn: Connection, user_id: int, now: int) -> None:
    """Their links stop working; commissions stay, as money."""
    conn.execute(
        update(affiliate_links).where(_links_of(user_id), affiliate_links.c.revoked_at.is_(None)).values(revoked_at=now)
    )
