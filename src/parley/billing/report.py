"""The operator's revenue report over a date range: revenue by lever from the ledger's revenue accounts
(`platform:revenue:{lever}:{currency}`, the authority), and business-messaging revenue by market from the charge
rows behind it. Days are UTC, both ends included. Whatever the ledger's messaging revenue holds that no charge
row explains (a reversal, a manual correction) is reported as `unattributed`, per currency, instead of hidden.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from parley import ledger
from parley.billing.models import CHARGED, billing_charges, billing_profiles
from parley.kit.ids import EPOCH_MS, timestamp_ms_of
from parley.kit.money import format_amount
from parley.platform.db import Database

REVENUE_PREFIX = "platform:revenue:"
DAY_MS = 86_400_000
_PAGE = 1000
# Bits below an id's millisecond (the ids' layout, found from kit.ids rather than repeated here).
_MS_SHIFT = next(bits for bits in range(64) if timestamp_ms_of(1 << bits) > EPOCH_MS)


@dataclass(frozen=True)
class LeverRevenue:
    lever: str
    currency: str
    revenue: int  # micros, net of reversals
    postings: int


@dataclass(frozen=True)
class MarketRevenue:
    market: str
    currency: str
    pricing_model: str
    messages: int  # charged messages (under CBP, also those inside a paid conversation)
    revenue: int  # micros


@dataclass(frozen=True)
class RevenueReport:
    start: datetime.date
    end: datetime.date
    levers: list[LeverRevenue]
    markets: list[MarketRevenue]

    def unattributed(self) -> dict[str, int]:
        """Messaging revenue per currency that no charge row in the range explains."""
        out = {lever.currency: lever.revenue for lever in self.levers if lever.lever == "messaging"}
        for market in self.markets:
            out[market.currency] = out.get(market.currency, 0) - market.revenue
        return out

    def totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for lever in self.levers:
            out[lever.currency] = out.get(lever.currency, 0) + lever.revenue
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "timezone": "UTC",
            "by_lever": [
                {
                    "lever": lever.lever,
                    "currency": lever.currency,
                    "revenue": format_amount(lever.revenue),
                    "postings": lever.postings,
                }
                for lever in self.levers
            ],
            "by_market": [
                {
                    "market": market.market,
                    "currency": market.currency,
                    "pricing_model": market.pricing_model,
                    "messages": market.messages,
                    "revenue": format_amount(market.revenue),
                }
                for market in self.markets
            ],
            "totals": {currency: format_amount(amount) for currency, amount in sorted(self.totals().items())},
            "unattributed": {
                currency: format_amount(amount) for currency, amount in sorted(self.unattributed().items())
            },
        }


def day_bounds(start: datetime.date, end: datetime.date) -> tuple[int, int]:
    """[first ms of `start`, first ms after `end`) in UTC."""
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    first = datetime.datetime(start.year, start.month, start.day, tzinfo=datetime.UTC)
    return int(first.timestamp()) * 1000, int(first.timestamp()) * 1000 + ((end - start).days + 1) * DAY_MS


async def revenue_report(
    db: Database, journal: ledger.Ledger, start: datetime.date, end: datetime.date
) -> RevenueReport:
    start_ms, end_ms = day_bounds(start, end)

    def unit(conn: Connection) -> RevenueReport:
        levers = [
            _lever(conn, journal, account, start_ms, end_ms)
            for account in journal.accounts(conn)
            if account.key.startswith(REVENUE_PREFIX)
        ]
        levers.sort(key=lambda lever: (lever.lever, lever.currency))
        return RevenueReport(start, end, levers, _markets(conn, start_ms, end_ms))

    return await db.read(unit)


def _lever(
    conn: Connection, journal: ledger.Ledger, account: ledger.AccountRow, start_ms: int, end_ms: int
) -> LeverRevenue:
    lever, _, currency = account.key.removeprefix(REVENUE_PREFIX).rpartition(":")
    revenue = postings = 0
    # Ids are time-ordered: the range starts right after the last id of the millisecond before it.
    after = max(((start_ms - EPOCH_MS) << _MS_SHIFT) - 1, 0)
    while True:
        page = journal.transfers_of(conn, account, after_id=after, limit=_PAGE)
        for entry in page:
            if timestamp_ms_of(entry.id) >= end_ms:
                return LeverRevenue(lever, currency, revenue, postings)
            if entry.kind in (ledger.POSTED, ledger.POST) and entry.amount:
                revenue += entry.amount if entry.credit_account_id == account.id else -entry.amount
                postings += 1
        if len(page) < _PAGE:
            return LeverRevenue(lever, currency, revenue, postings)
        after = page[-1].id


def _markets(conn: Connection, start_ms: int, end_ms: int) -> list[MarketRevenue]:
    c, p = billing_charges.c, billing_profiles.c
    rows = conn.execute(
        select(c.market, p.currency, c.pricing_model, func.count(), func.sum(c.amount))
        .join(billing_profiles, p.waba_id == c.waba_id)
        .where(c.state == CHARGED, c.settled_at >= start_ms, c.settled_at < end_ms)
        .group_by(c.market, p.currency, c.pricing_model)
    )
    markets = [MarketRevenue(row[0], row[1], row[2] or "PMP", int(row[3]), int(row[4] or 0)) for row in rows]
    markets.sort(key=lambda m: (m.currency, -m.revenue, m.market, m.pricing_model))
    return markets
