"""Queries of the ads tables that more than one ads module needs; each module keeps its own narrower queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from parley.ads.models import ad_accounts


def account_of_waba(conn: Connection, waba_id: int) -> dict[str, Any] | None:
    """The ad account of a business account, if it has one."""
    row = conn.execute(select(ad_accounts).where(ad_accounts.c.waba_id == waba_id)).first()
    return None if row is None else dict(row._mapping)
