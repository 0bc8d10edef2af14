"""Insights: what an ad account's money bought, per account, campaign, ad set or ad, per day of the account's
time zone or over the whole range, in Meta's Insights shape (string numbers, money in units of the currency) and
as CSV rows for the console."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection

from parley.ads import insights_repository as repo
from parley.graph import GraphError, GraphScope, object_not_found
from parley.kit.clock import Clock
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.kit.ids import parse_id
from parley.kit.money import format_amount, minor_units
from parley.platform.db import Database
from parley.signals import shown_count  # signals: reach counts people, so it is k-anonymous

LEVELS = ("account", "campaign", "adset", "ad")
MAX_DAYS = 90
ACTION_TYPES = {
    "ConversationStarted": "onsite_conversion.messaging_conversation_started_7d",
    "Purchase": "purchase",
    "LeadSubmitted": "lead",
    "OrderCreated": "onsite_conversion.order_created",
}
ID_FIELDS = frozenset(
    {"account_id", "account_name", "campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id", "ad_name"}
)
METRIC_FIELDS = (
    "impressions",
    "reach",
    "clicks",
    "ctr",
    "spend",
    "cpm",
    "cpc",
    "actions",
    "action_values",
    "purchase_roas",
    "cost_per_action_type",
    "account_currency",
)
ALL_FIELDS = ID_FIELDS | frozenset(METRIC_FIELDS) | {"date_start", "date_stop"}
CSV_COLUMNS = (
    "date",
    "level",
    "id",
    "name",
    "impressions",
    "reach",
    "clicks",
    "ctr",
    "spend",
    "cpm",
    "cpc",
    "conversations",
    "cost_per_conversation",
    "orders",
    "purchases",
    "revenue",
    "roas",
    "leads",
    "currency",
)


@dataclass(frozen=True)
class Query:
    account_id: int
    level: str
    since: date
    until: date
    daily: bool
    within: tuple[str, int] | None = None  # (level, id): only this campaign / ad set / ad


@dataclass(frozen=True)
class InsightRow:
    """One object over one span, with the figures a report shows (money in micros)."""

    level: str
    id: int
    name: str
    campaign_id: int | None
    adset_id: int | None
    date_start: date
    date_stop: date
    currency: str
    totals: repo.Totals

    @property
    def conversations(self) -> int:
        return self.totals.events.get("ConversationStarted", 0)

    @property
    def purchases(self) -> int:
        return self.totals.events.get("Purchase", 0)

    @property
    def orders(self) -> int:
        return self.totals.events.get("OrderCreated", 0)

    @property
    def leads(self) -> int:
        return self.totals.events.get("LeadSubmitted", 0)

    @property
    def revenue(self) -> int:
        return self.totals.values.get("Purchase", 0)


@dataclass(frozen=True)
class Report:
    account: repo.AccountRow
    query: Query
    rows: list[InsightRow]


def ratio(numerator: int, denominator: int, places: int = 6) -> str:
    """numerator / denominator as a decimal string, half-up to `places`; "0" when nothing to divide by."""
    if denominator == 0:
        return "0"
    value = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    text = format(value.normalize(), "f")
    return text


class AdInsights:
    def __init__(self, db: Database, clock: Clock, conversion_rates: dict[str, str] | None = None) -> None:
        self._db, self._clock = db, clock
        self._rates = {code: Decimal(rate) for code, rate in (conversion_rates or {}).items()}

    def _converter(self, currency: str) -> Callable[[int, str], int | None]:
        """Micros of another currency in the account's `currency`, at the operator's rates (half-up to the micro);
        None when either rate is unknown."""

        def convert(micros: int, source: str) -> int | None:
            if source == currency:
                return micros
            rate_from, rate_to = self._rates.get(source), self._rates.get(currency)
            if not rate_from or not rate_to:
                return None
            return int((Decimal(micros) * rate_from / rate_to).to_integral_value(rounding=ROUND_HALF_UP))

        return convert

    # --- Graph ---------------------------------------------------------------------------------------------

    async def graph(self, scope: GraphScope, raw_object_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """`GET /{act_<id> | campaign | ad set | ad id}/insights` in Meta's shape."""
        raw = raw_object_id.removeprefix("act_")
        object_id = parse_id(raw)
        if object_id is None:
            raise object_not_found(raw_object_id)
        is_account = raw_object_id.startswith("act_")

        def find(conn: Connection) -> tuple[repo.AccountRow, tuple[str, int] | None] | None:
            if is_account:
                found = repo.account(conn, object_id)
                return None if found is None else (found, None)
            hit = repo.find_object(conn, object_id)
            if hit is None:
                return None
            owner = repo.account(conn, hit[1])
            return None if owner is None else (owner, (hit[0], object_id))

        located = await self._db.read(find)
        if located is None or located[0].waba_id != scope.waba_id:
            raise object_not_found(raw_object_id)
        account, within = located
        default_level = "account" if within is None else within[0]
        query = self.parse_query(account, params, default_level, within)
        fields = parse_field_list(params.get("fields"))
        report = await self.report(query)
        return {"data": [graph_row(row, fields, report.account) for row in report.rows]}

    def parse_query(
        self,
        account: repo.AccountRow,
        params: Mapping[str, Any],
        default_level: str,
        within: tuple[str, int] | None,
    ) -> Query:
        """level, time_range and time_increment as Meta takes them; bad ones are Graph error 100."""
        level = params.get("level") or default_level
        if level not in LEVELS:
            raise GraphError(100, f"Param level must be one of {', '.join(LEVELS)}")
        if within is not None and LEVELS.index(level) < LEVELS.index(within[0]):
            raise GraphError(100, f"Param level must be {within[0]} or below for this object")
        increment = params.get("time_increment") or "all_days"
        if increment not in ("1", "all_days"):
            raise GraphError(100, "Param time_increment must be 1 or all_days")
        today = self._clock.now_ms()
        local_today = datetime.fromtimestamp(today / 1000, zone(account.timezone)).date()
        raw_range = params.get("time_range")
        if raw_range in (None, ""):
            since, until = local_today - timedelta(days=6), local_today
        else:
            since, until = parse_time_range(raw_range)
        return Query(account.id, str(level), since, until, increment == "1", within)

    # --- the report ----------------------------------------------------------------------------------------

    async def report(self, query: Query) -> Report:
        """Rows per object (and per day when daily) that had any activity, oldest day first."""

        def read(conn: Connection) -> Report:
            account = repo.account(conn, query.account_id)
            assert account is not None
            tz = zone(account.timezone)
            names = repo.names(conn, account.id)
            spans = [(d, d) for d in _days(query.since, query.until)] if query.daily else [(query.since, query.until)]
            ad_ids = _ads_within(names, query.within)
            rows: list[InsightRow] = []
            for first, last in spans:
                start, end = _ms(first, tz), _ms(last + timedelta(days=1), tz)
                figures = repo.totals(conn, ad_ids, self._converter(account.currency), query.level, start, end)
                for object_id in sorted(figures):
                    rows.append(_row(query.level, object_id, account, names, first, last, figures[object_id]))
            return Report(account, query, rows)

        return await self._db.read(read)

    async def for_console(
        self,
        waba_id: int,
        since: str | None,
        until: str | None,
        campaign: str | None,
        *,
        level: str = "ad",
        daily: bool = False,
    ) -> Report | None:
        """The business's report for the console (None: it has no ad account); the range defaults to the last 7
        days of the account's zone; `campaign` narrows to one of its campaigns. Bad input: InvalidInputError."""

        def find(conn: Connection) -> tuple[repo.AccountRow | None, tuple[str, int] | None]:
            account = repo.account_of_waba(conn, waba_id)
            if account is None or not campaign:
                return account, None
            campaign_id = parse_id(campaign)
            hit = None if campaign_id is None else repo.find_object(conn, campaign_id)
            if campaign_id is None or hit != ("campaign", account.id):
                raise NotFoundError(f"campaign {campaign} is not one of this business's campaigns")
            return account, ("campaign", campaign_id)

        account, within = await self._db.read(find)
        if account is None:
            return None
        try:
            params: dict[str, Any] = {"level": level, "time_increment": "1" if daily else "all_days"}
            if since or until:
                params["time_range"] = {"since": since or "", "until": until or ""}
            query = self.parse_query(account, params, level, within)
        except GraphError as error:
            raise InvalidInputError(error.details.removeprefix("Param time_range: ")) from error
        return await self.report(query)

    async def account_of_waba(self, waba_id: int) -> repo.AccountRow | None:
        return await self._db.read(lambda conn: repo.account_of_waba(conn, waba_id))

    async def names(self, account_id: int) -> repo.Names:
        return await self._db.read(lambda conn: repo.names(conn, account_id))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_time_range(raw: Any) -> tuple[date, date]:
    """`{"since": "YYYY-MM-DD", "until": "YYYY-MM-DD"}` (a JSON string in a query), at most 90 days."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise GraphError(100, 'Param time_range must be {"since":"YYYY-MM-DD","until":"YYYY-MM-DD"}') from exc
    if not isinstance(value, dict) or set(value) != {"since", "until"}:
        raise GraphError(100, 'Param time_range must be {"since":"YYYY-MM-DD","until":"YYYY-MM-DD"}')
    return parse_dates(value["since"], value["until"])


def parse_dates(raw_since: Any, raw_until: Any) -> tuple[date, date]:
    try:
        since, until = date.fromisoformat(str(raw_since)), date.fromisoformat(str(raw_until))
    except ValueError as exc:
        raise GraphError(100, "Param time_range: since and until must be dates written YYYY-MM-DD") from exc
    if len(str(raw_since)) != 10 or len(str(raw_until)) != 10:
        raise GraphError(100, "Param time_range: since and until must be dates written YYYY-MM-DD")
    if since > until:
        raise GraphError(100, "Param time_range: since must not be after until")
    if (until - since).days + 1 > MAX_DAYS:
        raise GraphError(100, f"Param time_range covers more than {MAX_DAYS} days")
    return since, until


def parse_field_list(raw: Any) -> list[str]:
    if raw in (None, ""):
        return ["impressions", "reach", "clicks", "spend", "actions"]
    fields = [f.strip() for f in str(raw).split(",") if f.strip()]
    unknown = [f for f in fields if f not in ALL_FIELDS]
    if unknown:
        raise GraphError(100, f"Param fields: {unknown[0]} is not a valid insights field")
    return fields


def _ads_within(names: repo.Names, within: tuple[str, int] | None) -> list[int]:
    """The account's ads, or those of one campaign / ad set / the one ad."""
    if within is None:
        return sorted(names.ads)
    level, object_id = within
    if level == "ad":
        return [object_id]
    if level == "adset":
        return sorted(a for a, (_, s) in names.ads.items() if s == object_id)
    return sorted(a for a, (_, s) in names.ads.items() if names.ad_sets.get(s, ("", 0))[1] == object_id)


def _days(since: date, until: date) -> list[date]:
    return [since + timedelta(days=i) for i in range((until - since).days + 1)]


def _ms(day: date, tz: ZoneInfo) -> int:
    return int(datetime.combine(day, time(0), tz).timestamp() * 1000)


def _row(
    level: str,
    object_id: int,
    account: repo.AccountRow,
    names: repo.Names,
    first: date,
    last: date,
    totals: repo.Totals,
) -> InsightRow:
    campaign_id: int | None = None
    adset_id: int | None = None
    if level == "account":
        name = account.name
    elif level == "campaign":
        name, campaign_id = names.campaigns.get(object_id, ""), object_id
    elif level == "adset":
        name, campaign_id = names.ad_sets.get(object_id, ("", 0))
        adset_id = object_id
    else:
        name, adset_id = names.ads.get(object_id, ("", 0))
        campaign_id = names.ad_sets.get(adset_id, ("", None))[1]
    return InsightRow(level, object_id, name, campaign_id, adset_id, first, last, account.currency, totals)


def money(micros: int, currency: str) -> str:
    """Units of the currency as Meta writes spend ("12.34"), rounded half-up to its minor unit."""
    try:
        places = minor_units(currency)
    except ValueError:
        places = 2
    return format_amount(micros, places)


def graph_row(row: InsightRow, fields: list[str], account: repo.AccountRow) -> dict[str, Any]:
    t, cur = row.totals, row.currency
    out: dict[str, Any] = {}
    ids: dict[str, Any] = {"account_id": str(account.id), "account_name": account.name}
    if row.level == "campaign":
        ids.update(campaign_id=str(row.id), campaign_name=row.name)
    elif row.level == "adset":
        ids.update(adset_id=str(row.id), adset_name=row.name, campaign_id=str(row.campaign_id))
    elif row.level == "ad":
        ids.update(ad_id=str(row.id), ad_name=row.name, adset_id=str(row.adset_id), campaign_id=str(row.campaign_id))
    actions = [
        {"action_type": kind, "value": str(t.events[name])} for name, kind in ACTION_TYPES.items() if t.events.get(name)
    ]
    for name in fields:
        if name in ID_FIELDS:
            if name in ids:
                out[name] = ids[name]
        elif name == "impressions":
            out[name] = str(t.impressions)
        elif name == "reach":
            out[name] = shown_count(t.reach)  # signals: "fewer than 100" below the k-anonymity floor
        elif name == "clicks":
            out[name] = str(t.clicks)
        elif name == "ctr":
            out[name] = ratio(t.clicks * 100, t.impressions)
        elif name == "spend":
            out[name] = money(t.spend, cur)
        elif name == "cpm":
            out[name] = ratio(t.spend * 1000, t.impressions * 1_000_000)
        elif name == "cpc":
            out[name] = ratio(t.spend, t.clicks * 1_000_000)
        elif name == "actions" and actions:
            out[name] = actions
        elif name == "action_values" and t.values.get("Purchase"):
            out[name] = [{"action_type": "purchase", "value": money(t.values["Purchase"], cur)}]
        elif name == "purchase_roas" and t.spend and t.values.get("Purchase"):
            out[name] = [{"action_type": "omni_purchase", "value": ratio(t.values["Purchase"], t.spend)}]
        elif name == "cost_per_action_type" and actions:
            out[name] = [
                {"action_type": a["action_type"], "value": ratio(t.spend, int(a["value"]) * 1_000_000)} for a in actions
            ]
        elif name == "account_currency":
            out[name] = cur
    out["date_start"] = row.date_start.isoformat()
    out["date_stop"] = row.date_stop.isoformat()
    return out


def csv_text(report: Report) -> str:
    """One line per object per span: what the console's "Download CSV" gives."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        t, cur = row.totals, row.currency
        writer.writerow(
            [
                row.date_start.isoformat()
                if row.date_start == row.date_stop
                else f"{row.date_start.isoformat()}/{row.date_stop.isoformat()}",
                row.level,
                row.id,
                _csv_safe(row.name),
                t.impressions,
                shown_count(t.reach),  # signals
                t.clicks,
                ratio(t.clicks * 100, t.impressions),
                money(t.spend, cur),
                ratio(t.spend * 1000, t.impressions * 1_000_000),
                ratio(t.spend, t.clicks * 1_000_000),
                row.conversations,
                ratio(t.spend, row.conversations * 1_000_000),
                row.orders,
                row.purchases,
                money(row.revenue, cur),
                ratio(row.revenue, t.spend),
                row.leads,
                cur,
            ]
        )
    return buffer.getvalue()


def _csv_safe(text: str) -> str:
    """A name a spreadsheet would run as a formula is written as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
