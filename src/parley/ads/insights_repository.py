"""Aggregates of the ads tables for insights: per object of one level, over one span of time, in a few grouped
statements (impressions and reach, clicks, conversions), each on an indexed column."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Connection, Table, distinct, func, select

from parley.ads.models import ad_accounts, ad_campaigns, ad_clicks, ad_conversions, ad_impressions, ad_sets, ads

LEVEL_COLUMN = {"account": "account_id", "campaign": "campaign_id", "adset": "ad_set_id", "ad": "ad_id"}


@dataclass
class Totals:
    """One object's figures over one span; money in micros of the account's currency."""

    impressions: int = 0
    reach: int = 0
    clicks: int = 0
    spend: int = 0
    events: dict[str, int] = field(default_factory=dict)  # event_name -> count
    values: dict[str, int] = field(default_factory=dict)  # event_name -> micros of the account's currency


def _key(table: Table, level: str) -> Column[Any]:
    return table.c[LEVEL_COLUMN[level]]


def totals(
    conn: Connection,
    ad_ids: list[int],
    convert: Callable[[int, str], int | None],
    level: str,
    start: int,
    end: int,
) -> dict[int, Totals]:
    """Figures per object of `level` over [start, end) ms of these ads (each table's (ad_id, time) index).
    `convert(micros, currency)`: a value in the account's currency, None where no rate is known (left out)."""
    out: dict[int, Totals] = {}
    if not ad_ids:
        return out

    def where(table: Table, time: Column[Any]) -> list[Any]:
        return [table.c.ad_id.in_(ad_ids), time >= start, time < end]

    imp = ad_impressions
    for key, count, reach, spent in conn.execute(
        select(
            _key(imp, level), func.count(), func.count(distinct(imp.c.viewer)), func.coalesce(func.sum(imp.c.price), 0)
        )
        .where(*where(imp, imp.c.created_at))
        .group_by(_key(imp, level))
    ):
        row = out.setdefault(int(key), Totals())
        row.impressions, row.reach, row.spend = int(count), int(reach), int(spent)
    clk = ad_clicks
    for key, count, spent in conn.execute(
        select(_key(clk, level), func.count(), func.coalesce(func.sum(clk.c.price), 0))
        .where(*where(clk, clk.c.created_at))
        .group_by(_key(clk, level))
    ):
        row = out.setdefault(int(key), Totals())
        row.clicks = int(count)
        row.spend += int(spent)
    conv = ad_conversions
    for key, name, count in conn.execute(
        select(_key(conv, level), conv.c.event_name, func.count())
        .where(*where(conv, conv.c.event_time))
        .group_by(_key(conv, level), conv.c.event_name)
    ):
        out.setdefault(int(key), Totals()).events[str(name)] = int(count)
    for key, name, currency, value in conn.execute(
        select(_key(conv, level), conv.c.event_name, conv.c.currency, func.coalesce(func.sum(conv.c.value), 0))
        .where(*where(conv, conv.c.event_time), conv.c.currency.is_not(None))
        .group_by(_key(conv, level), conv.c.event_name, conv.c.currency)
    ):
        converted = convert(int(value), str(currency))
        if converted is not None:
            values = out.setdefault(int(key), Totals()).values
            values[str(name)] = values.get(str(name), 0) + converted
    return out


@dataclass(frozen=True)
class AccountRow:
    id: int
    waba_id: int
    name: str
    currency: str
    timezone: str


def _account_where(conn: Connection, clause: Any) -> AccountRow | None:
    row = conn.execute(
        select(
            ad_accounts.c.id, ad_accounts.c.waba_id, ad_accounts.c.name, ad_accounts.c.currency, ad_accounts.c.timezone
        ).where(clause)
    ).first()
    return None if row is None else AccountRow(int(row[0]), int(row[1]), str(row[2]), str(row[3]), str(row[4]))


def account(conn: Connection, account_id: int) -> AccountRow | None:
    return _account_where(conn, ad_accounts.c.id == account_id)


def account_of_waba(conn: Connection, waba_id: int) -> AccountRow | None:
    return _account_where(conn, ad_accounts.c.waba_id == waba_id)


def find_object(conn: Connection, object_id: int) -> tuple[str, int] | None:
    """(level, account id) of a campaign, ad set or ad with this id."""
    for level, table in (("campaign", ad_campaigns), ("adset", ad_sets), ("ad", ads)):
        row = conn.execute(select(table.c.account_id).where(table.c.id == object_id)).first()
        if row is not None:
            return level, int(row[0])
    return None


@dataclass(frozen=True)
class Names:
    """What each object of an account is called and where it sits (ad -> ad set -> campaign)."""

    campaigns: dict[int, str]
    ad_sets: dict[int, tuple[str, int]]  # id -> (name, campaign id)
    ads: dict[int, tuple[str, int]]  # id -> (name, ad set id)


def names(conn: Connection, account_id: int) -> Names:
    return Names(
        {
            int(i): str(n)
            for i, n in conn.execute(
                select(ad_campaigns.c.id, ad_campaigns.c.name).where(ad_campaigns.c.account_id == account_id)
            )
        },
        {
            int(i): (str(n), int(c))
            for i, n, c in conn.execute(
                select(ad_sets.c.id, ad_sets.c.name, ad_sets.c.campaign_id).where(ad_sets.c.account_id == account_id)
            )
        },
        {
            int(i): (str(n), int(s))
            for i, n, s in conn.execute(
                select(ads.c.id, ads.c.name, ads.c.ad_set_id).where(ads.c.account_id == account_id)
            )
        },
    )
