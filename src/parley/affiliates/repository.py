"""Affiliate queries: driver-agnostic SQLAlchemy Core on the caller's connection."""

from __future__ import annotations

from sqlalchemy import Connection, Row, select

from parley.affiliates.models import affiliate_links


def link_by_code(conn: Connection, code: str) -> Row[tuple[object, ...]] | None:
    """The affiliate link with this referral code, revoked or not."""
    return conn.execute(select(affiliate_links).where(affiliate_links.c.code == code)).first()
