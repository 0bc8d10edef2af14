"""Queries of the ads tables that more than one ads module needs; each module keeps its own narrower queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, update

from parley.ads.models import ad_accounts, ad_campaigns, ad_preferences, ad_set_spend, ad_sets, ad_write_keys, ads


def account_of_waba(conn: Connection, waba_id: int) -> dict[str, Any] | None:
    """The ad account of a business account, if it has one."""
    row = conn.execute(select(ad_accounts).where(ad_accounts.c.waba_id == waba_id)).first()
    return None if row is None else dict(row._mapping)


# --- the Marketing-API surface (manager.py) -------------------------------------------------------------------


def _one(conn: Connection, table: Table, object_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(table).where(table.c.id == object_id)).first()
    return None if row is None else dict(row._mapping)


def get_account(conn: Connection, account_id: int) -> dict[str, Any] | None:
    return _one(conn, ad_accounts, account_id)


def get_campaign(conn: Connection, campaign_id: int) -> dict[str, Any] | None:
    return _one(conn, ad_campaigns, campaign_id)


def get_ad_set(conn: Connection, ad_set_id: int) -> dict[str, Any] | None:
    return _one(conn, ad_sets, ad_set_id)


def get_ad(conn: Connection, ad_id: int) -> dict[str, Any] | None:
    return _one(conn, ads, ad_id)


def insert_row(conn: Connection, table: Table, values: dict[str, Any]) -> None:
    conn.execute(insert(table).values(**values))


def update_row(conn: Connection, table: Table, object_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(table).where(table.c.id == object_id).values(**values))


def page_of(
    conn: Connection, table: Table, account_id: int, after: int | None, limit: int, **where: int
) -> list[dict[str, Any]]:
    """Up to `limit` live (not DELETED) rows of an account after a keyset cursor, oldest first."""
    query = select(table).where(table.c.account_id == account_id, table.c.status != "DELETED")
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    if after is not None:
        query = query.where(table.c.id > after)
    return [dict(r._mapping) for r in conn.execute(query.order_by(table.c.id).limit(limit))]


def statuses_of(conn: Connection, table: Table, account_id: int) -> dict[int, str]:
    query = select(table.c.id, table.c.status).where(table.c.account_id == account_id)
    return {r.id: r.status for r in conn.execute(query)}


def rows_of_account(conn: Connection, table: Table, account_id: int) -> list[dict[str, Any]]:
    query = select(table).where(table.c.account_id == account_id, table.c.status != "DELETED").order_by(table.c.id)
    return [dict(r._mapping) for r in conn.execute(query)]


def ads_of_set(conn: Connection, ad_set_id: int) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(ads).where(ads.c.ad_set_id == ad_set_id))]


def spent_by_account(conn: Connection, account_id: int) -> int:
    """Micros an account has spent over its life (the ad server's per-day counters)."""
    query = (
        select(func.coalesce(func.sum(ad_set_spend.c.spent), 0))
        .select_from(ad_set_spend.join(ad_sets, ad_sets.c.id == ad_set_spend.c.ad_set_id))
        .where(ad_sets.c.account_id == account_id)
    )
    return int(conn.execute(query).scalar_one())


def spent_on_day(conn: Connection, account_id: int, day: str) -> dict[int, int]:
    """{ad set id: micros spent} on one day of the account's time zone."""
    query = (
        select(ad_set_spend.c.ad_set_id, ad_set_spend.c.spent)
        .select_from(ad_set_spend.join(ad_sets, ad_sets.c.id == ad_set_spend.c.ad_set_id))
        .where(ad_sets.c.account_id == account_id, ad_set_spend.c.day == day)
    )
    return {r.ad_set_id: int(r.spent) for r in conn.execute(query)}


def write_key(conn: Connection, waba_id: int, key: str) -> tuple[str, int] | None:
    query = select(ad_write_keys.c.fingerprint, ad_write_keys.c.object_id).where(
        ad_write_keys.c.waba_id == waba_id, ad_write_keys.c.idempotency_key == key
    )
    row = conn.execute(query).first()
    return None if row is None else (row.fingerprint, int(row.object_id))


def remember_write_key(conn: Connection, waba_id: int, key: str, fingerprint: str, object_id: int, now: int) -> None:
    conn.execute(
        insert(ad_write_keys).values(
            waba_id=waba_id, idempotency_key=key, fingerprint=fingerprint, object_id=object_id, created_at=now
        )
    )


# --- people's ad preferences (preferences.py) ------------------------------------------------------------------


def get_preferences(conn: Connection, viewer: str) -> dict[str, Any] | None:
    row = conn.execute(select(ad_preferences).where(ad_preferences.c.viewer == viewer)).first()
    return None if row is None else dict(row._mapping)


def save_preferences(conn: Connection, viewer: str, interests: str, consented_at: int | None, now: int) -> None:
    values = {"interests": interests, "consented_at": consented_at, "updated_at": now}
    changed = conn.execute(update(ad_preferences).where(ad_preferences.c.viewer == viewer).values(**values))
    if changed.rowcount == 0:
        conn.execute(insert(ad_preferences).values(viewer=viewer, **values))
