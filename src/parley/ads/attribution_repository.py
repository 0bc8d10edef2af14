"""Queries of attribution and the Conversions API: which ad a link or click belongs to, a person's last click and
last impression, and the conversions rows (one per account, source and event id)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from parley.ads.models import ad_accounts, ad_clicks, ad_conversions, ad_datasets, ad_impressions, ads


@dataclass(frozen=True)
class AdRef:
    """Where an ad sits: what a conversion row copies so insights can group it at any level."""

    ad_id: int
    ad_set_id: int
    campaign_id: int
    account_id: int
    waba_id: int


_AD_COLUMNS = (ads.c.id, ads.c.ad_set_id, ads.c.campaign_id, ads.c.account_id, ad_accounts.c.waba_id)


def _ref(row: Any) -> AdRef:
    return AdRef(int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]))


def ad_of_link(conn: Connection, link_code: str) -> AdRef | None:
    """The ad whose click-to-chat link this is, if any (most links are not ads')."""
    row = conn.execute(
        select(*_AD_COLUMNS).join(ad_accounts, ad_accounts.c.id == ads.c.account_id).where(ads.c.link_code == link_code)
    ).first()
    return None if row is None else _ref(row)


def ad_of(conn: Connection, ad_id: int) -> AdRef | None:
    row = conn.execute(
        select(*_AD_COLUMNS).join(ad_accounts, ad_accounts.c.id == ads.c.account_id).where(ads.c.id == ad_id)
    ).first()
    return None if row is None else _ref(row)


@dataclass(frozen=True)
class ClickRow:
    ctwa_clid: str
    ad_id: int
    account_id: int
    created_at: int


def click(conn: Connection, ctwa_clid: str) -> ClickRow | None:
    row = conn.execute(
        select(ad_clicks.c.ctwa_clid, ad_clicks.c.ad_id, ad_clicks.c.account_id, ad_clicks.c.created_at).where(
            ad_clicks.c.ctwa_clid == ctwa_clid
        )
    ).first()
    return None if row is None else ClickRow(str(row[0]), int(row[1]), int(row[2]), int(row[3]))


def last_click(conn: Connection, account_id: int, viewer: str, person_id: int, since: int) -> ClickRow | None:
    """The newest click on this account's ads since `since` by this person: made while signed in (their viewer
    id), or a click whose chat they started (from a browser that was not signed in). Two indexed lookups."""
    columns = (ad_clicks.c.ctwa_clid, ad_clicks.c.ad_id, ad_clicks.c.account_id, ad_clicks.c.created_at)
    signed_in = conn.execute(
        select(*columns)
        .where(ad_clicks.c.viewer == viewer, ad_clicks.c.created_at >= since, ad_clicks.c.account_id == account_id)
        .order_by(ad_clicks.c.created_at.desc(), ad_clicks.c.ctwa_clid.desc())
        .limit(1)
    ).first()
    started = conn.execute(
        select(*columns)
        .join(ad_conversions, ad_conversions.c.ctwa_clid == ad_clicks.c.ctwa_clid)
        .where(
            ad_conversions.c.person_id == person_id,
            ad_conversions.c.account_id == account_id,
            ad_conversions.c.source == "chat",
            ad_clicks.c.created_at >= since,
        )
        .order_by(ad_clicks.c.created_at.desc(), ad_clicks.c.ctwa_clid.desc())
        .limit(1)
    ).first()
    found = [r for r in (signed_in, started) if r is not None]
    if not found:
        return None
    row = max(found, key=lambda r: (int(r[3]), str(r[0])))
    return ClickRow(str(row[0]), int(row[1]), int(row[2]), int(row[3]))


def last_impression_ad(conn: Connection, account_id: int, viewer: str, since: int) -> int | None:
    """The ad of the newest impression this viewer saw of this account's ads since `since`."""
    row = conn.execute(
        select(ad_impressions.c.ad_id)
        .where(
            ad_impressions.c.viewer == viewer,
            ad_impressions.c.account_id == account_id,
            ad_impressions.c.created_at >= since,
        )
        .order_by(ad_impressions.c.created_at.desc(), ad_impressions.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else int(row[0])


@dataclass(frozen=True)
class ConversionRow:
    id: int
    account_id: int
    campaign_id: int
    ad_set_id: int
    ad_id: int
    ctwa_clid: str | None
    attribution: str
    source: str
    event_name: str
    event_id: str
    value: int
    currency: str | None
    person_id: int | None
    event_time: int
    created_at: int


def has_conversion(conn: Connection, account_id: int, source: str, event_id: str) -> bool:
    found = conn.execute(
        select(ad_conversions.c.id).where(
            ad_conversions.c.account_id == account_id,
            ad_conversions.c.source == source,
            ad_conversions.c.event_id == event_id,
        )
    ).first()
    return found is not None


def insert_conversion(conn: Connection, row: ConversionRow) -> bool:
    """Stores the conversion unless this account already has this source's event id (a replay, even a concurrent
    one: the unique index decides): True if new."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(ad_conversions).values(**row.__dict__).on_conflict_do_nothing()
    return conn.execute(statement).rowcount == 1


def conversions_of_ad(conn: Connection, ad_id: int) -> list[ConversionRow]:
    rows = conn.execute(
        select(ad_conversions).where(ad_conversions.c.ad_id == ad_id).order_by(ad_conversions.c.event_time)
    ).all()
    return [ConversionRow(**row._mapping) for row in rows]


# --- datasets -----------------------------------------------------------------------------------------


def dataset_of_waba(conn: Connection, waba_id: int) -> int | None:
    row = conn.execute(select(ad_datasets.c.id).where(ad_datasets.c.waba_id == waba_id)).first()
    return None if row is None else int(row[0])


def waba_of_dataset(conn: Connection, dataset_id: int) -> int | None:
    row = conn.execute(select(ad_datasets.c.waba_id).where(ad_datasets.c.id == dataset_id)).first()
    return None if row is None else int(row[0])


def insert_dataset(conn: Connection, dataset_id: int, waba_id: int, now: int) -> int:
    """The WABA's dataset: the existing one, else this new one (two racing first calls get the same one)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(ad_datasets).values(id=dataset_id, waba_id=waba_id, created_at=now).on_conflict_do_nothing()
    )
    found = dataset_of_waba(conn, waba_id)
    assert found is not None
    return found
