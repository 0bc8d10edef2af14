"""The ad server's queries: what may serve (read on reload), and the flush and click writes. SQLAlchemy Core: the
hot path never touches the database; these run once per reload, flush or click."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from parley.ads.models import (
    ad_accounts,
    ad_campaigns,
    ad_clicks,
    ad_preferences,
    ad_set_spend,
    ad_sets,
    ads,
)
from parley.platform.db.driver import DriverCursor, insert_sql, numbered

ACTIVE = "ACTIVE"
APPROVED = "APPROVED"


@dataclass(frozen=True)
class Targeting:
    countries: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    interests: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> Targeting:
        """The stored JSON; anything unreadable targets nobody by interest and everyone by market (never raises)."""
        try:
            data = json.loads(text or "{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}

        def names(key: str, upper: bool) -> frozenset[str]:
            values = data.get(key) or []
            if key == "countries" and not values and isinstance(data.get("geo_locations"), dict):
                values = data["geo_locations"].get("countries") or []  # Meta's shape
            if not isinstance(values, list):
                return frozenset()
            return frozenset((str(v).upper() if upper else str(v).lower()) for v in values if v)

        return cls(names("countries", True), names("languages", False), names("interests", False))


@dataclass
class ServableAd:
    """An ad whose ad, ad set, campaign and account are all ACTIVE and whose creative is approved."""

    ad_id: int
    ad_set_id: int
    campaign_id: int
    account_id: int
    waba_id: int
    currency: str
    timezone: str
    headline: str
    body: str
    media_type: str | None
    call_to_action: str
    quality: float
    start_time: int
    end_time: int | None
    daily_budget: int | None
    lifetime_budget: int | None
    bid_strategy: str
    bid_amount: int | None
    billing_event: str
    pacing: str
    frequency_cap: int
    targeting: Targeting = field(default_factory=Targeting)


@dataclass
class SetTotals:
    """Durable counters of an ad set: today's spend (account day), lifetime spend, events and clicks."""

    day_spent: int = 0
    lifetime_spent: int = 0
    impressions: int = 0
    clicks: int = 0


def servable_ads(conn: Connection) -> list[ServableAd]:
    query = (
        select(
            ads.c.id,
            ads.c.ad_set_id,
            ads.c.campaign_id,
            ads.c.account_id,
            ad_accounts.c.waba_id,
            ad_accounts.c.currency,
            ad_accounts.c.timezone,
            ads.c.headline,
            ads.c.body,
            ads.c.media_type,
            ads.c.call_to_action,
            ads.c.quality,
            ad_sets.c.start_time,
            ad_sets.c.end_time,
            ad_sets.c.daily_budget,
            ad_sets.c.lifetime_budget,
            ad_sets.c.bid_strategy,
            ad_sets.c.bid_amount,
            ad_sets.c.billing_event,
            ad_sets.c.pacing,
            ad_sets.c.frequency_cap,
            ad_sets.c.targeting,
        )
        .select_from(
            ads.join(ad_sets, ad_sets.c.id == ads.c.ad_set_id)
            .join(ad_campaigns, ad_campaigns.c.id == ads.c.campaign_id)
            .join(ad_accounts, ad_accounts.c.id == ads.c.account_id)
        )
        .where(
            ads.c.status == ACTIVE,
            ads.c.review_status == APPROVED,
            ad_sets.c.status == ACTIVE,
            ad_campaigns.c.status == ACTIVE,
            ad_accounts.c.status == ACTIVE,
        )
    )
    result = []
    for r in conn.execute(query):
        values: list[Any] = list(r)
        targeting = Targeting.parse(values.pop())
        result.append(ServableAd(*values, targeting=targeting))  # type: ignore[misc]
    return result


def set_totals(conn: Connection, days: dict[int, str]) -> dict[int, SetTotals]:
    """Counters of the given ad sets; `days`: each ad set's current day in its account's time zone."""
    if not days:
        return {}
    totals = {set_id: SetTotals() for set_id in days}
    query = select(
        ad_set_spend.c.ad_set_id,
        ad_set_spend.c.day,
        ad_set_spend.c.spent,
        ad_set_spend.c.impressions,
        ad_set_spend.c.clicks,
    ).where(ad_set_spend.c.ad_set_id.in_(list(days)))
    for set_id, day, spent, impressions, clicks in conn.execute(query):
        t = totals[set_id]
        t.lifetime_spent += spent
        t.impressions += impressions
        t.clicks += clicks
        if day == days[set_id]:
            t.day_spent += spent
    return totals


def account_spend(conn: Connection, account_ids: list[int]) -> dict[int, int]:
    """Each account's spend over its life (for spend_cap)."""
    if not account_ids:
        return {}
    query = (
        select(ad_sets.c.account_id, func.coalesce(func.sum(ad_set_spend.c.spent), 0))
        .select_from(ad_set_spend.join(ad_sets, ad_sets.c.id == ad_set_spend.c.ad_set_id))
        .where(ad_sets.c.account_id.in_(account_ids))
        .group_by(ad_sets.c.account_id)
    )
    return {int(a): int(s) for a, s in conn.execute(query)}


def spend_caps(conn: Connection, account_ids: list[int]) -> dict[int, int | None]:
    if not account_ids:
        return {}
    query = select(ad_accounts.c.id, ad_accounts.c.spend_cap).where(ad_accounts.c.id.in_(account_ids))
    return {int(a): cap for a, cap in conn.execute(query)}


def consented_interests(conn: Connection) -> dict[str, frozenset[str]]:
    """Every viewer's consented interest segments (people who withdrew or never chose have none). Read on each
    reload so a slot never waits for the database; a row per consenting person is small."""
    query = select(ad_preferences.c.viewer, ad_preferences.c.interests).where(
        ad_preferences.c.consented_at.is_not(None), ad_preferences.c.interests != ""
    )
    found = {}
    for viewer, interests in conn.execute(query):
        segments = frozenset(p.strip().lower() for p in interests.split(",") if p.strip())
        if segments:
            found[viewer] = segments
    return found


IMPRESSION_COLUMNS = (
    "id",
    "ad_id",
    "ad_set_id",
    "campaign_id",
    "account_id",
    "viewer",
    "placement",
    "market",
    "price",
    "created_at",
)
_INSERT_IMPRESSIONS = insert_sql("ad_impressions", IMPRESSION_COLUMNS)
_INSERT_IMPRESSIONS_PG = numbered(_INSERT_IMPRESSIONS)


def insert_impressions(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """A flush's impressions on the driver's cursor (one executemany: thousands of rows a second, where
    SQLAlchemy's per-row cost would hold the event loop's GIL for tens of milliseconds)."""
    if rows:
        cursor = DriverCursor(conn)
        cursor.run_many(_INSERT_IMPRESSIONS if cursor.dialect == "sqlite" else _INSERT_IMPRESSIONS_PG, rows)


def add_spend(conn: Connection, ad_set_id: int, day: str, spent: int, impressions: int, clicks: int) -> None:
    """Upsert the day's counters (update first; insert when the day has no row yet)."""
    changed = conn.execute(
        update(ad_set_spend)
        .where(ad_set_spend.c.ad_set_id == ad_set_id, ad_set_spend.c.day == day)
        .values(
            spent=ad_set_spend.c.spent + spent,
            impressions=ad_set_spend.c.impressions + impressions,
            clicks=ad_set_spend.c.clicks + clicks,
        )
    ).rowcount
    if not changed:
        conn.execute(
            insert(ad_set_spend).values(
                ad_set_id=ad_set_id, day=day, spent=spent, impressions=impressions, clicks=clicks
            )
        )


@dataclass(frozen=True)
class ClickFacts:
    ad_id: int
    ad_set_id: int
    campaign_id: int
    account_id: int
    waba_id: int
    currency: str
    timezone: str
    billing_event: str
    link_code: str
    prefilled_text: str
    daily_budget: int | None
    lifetime_budget: int | None


def click_facts(conn: Connection, ad_id: int) -> ClickFacts | None:
    row = conn.execute(
        select(
            ads.c.id,
            ads.c.ad_set_id,
            ads.c.campaign_id,
            ads.c.account_id,
            ad_accounts.c.waba_id,
            ad_accounts.c.currency,
            ad_accounts.c.timezone,
            ad_sets.c.billing_event,
            ads.c.link_code,
            ads.c.prefilled_text,
            ad_sets.c.daily_budget,
            ad_sets.c.lifetime_budget,
        )
        .select_from(
            ads.join(ad_sets, ad_sets.c.id == ads.c.ad_set_id).join(ad_accounts, ad_accounts.c.id == ads.c.account_id)
        )
        .where(ads.c.id == ad_id)
    ).first()
    return None if row is None else ClickFacts(*row)  # type: ignore[call-arg]


def click_of_impression(conn: Connection, impression_id: int) -> str | None:
    return conn.execute(
        select(ad_clicks.c.ctwa_clid).where(ad_clicks.c.impression_id == impression_id)
    ).scalar_one_or_none()


def insert_click(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(ad_clicks).values(**values))


def spent_of(conn: Connection, ad_set_id: int, day: str | None) -> int:
    """An ad set's durable spend: on `day`, or over its life (None)."""
    query = select(func.coalesce(func.sum(ad_set_spend.c.spent), 0)).where(ad_set_spend.c.ad_set_id == ad_set_id)
    if day is not None:
        query = query.where(ad_set_spend.c.day == day)
    return int(conn.execute(query).scalar_one())
