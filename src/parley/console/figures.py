"""The figures the console's overview and analytics show, read from the billing service's analytics: the very
`pricing_analytics` / `conversation_analytics` the Graph API answers (one computation), laid out per bucket,
category and market in the business's time zone. Amounts stay integer micros until they are formatted."""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from parley.billing import local_day
from parley.graph import parse_fields
from parley.kit.errors import InvalidInputError
from parley.kit.money import format_amount
from parley.kit.phone import country_name

PERIOD_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
GRANULARITIES = ("DAILY", "MONTHLY")
MAX_PERIOD_DAYS = 366
LOOKBACK_DAYS = 365  # analytics go back one year

# Display order and names of Meta's pricing / conversation categories.
CATEGORY_NAMES = {
    "MARKETING": "Marketing",
    "MARKETING_LITE": "Marketing lite",
    "UTILITY": "Utility",
    "AUTHENTICATION": "Authentication",
    "AUTHENTICATION_INTERNATIONAL": "Authentication (international)",
    "SERVICE": "Service",
    "REFERRAL_CONVERSION": "Free entry point",
}
PRICING_TYPE_NAMES = {
    "REGULAR": "Charged",
    "FREE_CUSTOMER_SERVICE": "Free (service window)",
    "FREE_ENTRY_POINT": "Free entry point",
}
_PRICING_DIMENSIONS = "[PRICING_CATEGORY,PRICING_TYPE,COUNTRY]"
_CONVERSATION_DIMENSIONS = "[CONVERSATION_CATEGORY,CONVERSATION_TYPE,CONVERSATION_DIRECTION,COUNTRY]"


def category_name(code: str) -> str:
    return CATEGORY_NAMES.get(code, code.replace("_", " ").capitalize())


def category_class(code: str) -> str:
    """The CSS class colouring a category's bars and swatches."""
    return "bar-" + code.lower().replace("_", "-")


def money(micros: int, currency: str) -> str:
    """`USD 1,234.50`; sub-cent amounts keep their digits (`USD 0.0118`), as rate cards have them."""
    text = format_amount(micros)
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, fraction = digits.partition(".")
    return f"{currency} {sign}{int(whole):,}{'.' + fraction if fraction else ''}"


def micros_of(cost: float | int) -> int:
    """Meta's JSON cost (currency units, the nearest double of an exact micro amount) back to exact micros."""
    return int(Decimal(repr(cost)).scaleb(6).to_integral_value())


# --- periods ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole local days `first`..`last` of the business's time zone, bucketed daily or monthly."""

    first: datetime.date
    last: datetime.date
    granularity: str
    timezone: str
    days: int | None  # 7, 30 or 90 when picked as "the last n days"

    def _midnight(self, day: datetime.date) -> int:
        return int(datetime.datetime(day.year, day.month, day.day, tzinfo=zoneinfo.ZoneInfo(self.timezone)).timestamp())

    @property
    def start_s(self) -> int:
        return self._midnight(self.first)

    @property
    def end_s(self) -> int:
        return self._midnight(self.last + datetime.timedelta(days=1))

    def buckets(self) -> list[tuple[int, str, str]]:
        """(start unix s, key, label) of every bucket in the period, empty ones included."""
        out = []
        if self.granularity == "MONTHLY":
            month = self.first.replace(day=1)
            while month <= self.last:
                out.append((self._midnight(month), month.strftime("%Y-%m"), month.strftime("%b %Y")))
                month = datetime.date(month.year + month.month // 12, month.month % 12 + 1, 1)
        else:
            day = self.first
            while day <= self.last:
                out.append((self._midnight(day), day.isoformat(), f"{day.day} {day.strftime('%b')}"))
                day += datetime.timedelta(days=1)
        return out

    def graph_fields(self) -> str:
        """The Graph `fields=` that answers the same figures: `GET /v23.0/{waba_id}?fields=…`."""
        span = f".start({self.start_s}).end({self.end_s}).granularity({self.granularity})"
        return (
            f"pricing_analytics{span}.dimensions({_PRICING_DIMENSIONS}),"
            f"conversation_analytics{span}.dimensions({_CONVERSATION_DIMENSIONS})"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "days": self.days,
            "granularity": self.granularity,
            "timezone": self.timezone,
            "start": self.start_s,
            "end": self.end_s,
        }


def parse_period(
    *, days: str | None, first: str | None, last: str | None, granularity: str | None, timezone: str, now_ms: int
) -> Period:
    """The period a person picked: `days` 7, 30 or 90 (the last n days, today included), or `days=custom` (or no
    `days`) with `from` and `to` dates; InvalidInputError says what is wrong."""
    today = local_day(now_ms, timezone)
    grain = (granularity or "DAILY").strip().upper()
    if grain not in GRANULARITIES:
        raise InvalidInputError(f"granularity must be DAILY or MONTHLY, not {granularity!r}")
    picked = (days or "").strip().lower()
    if picked in ("", "custom") and (first or last):
        start, end = _date(first, "from"), _date(last, "to")
        if end < start:
            raise InvalidInputError(f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
        if end > today:
            raise InvalidInputError(f"the period cannot end after today ({today.isoformat()})")
        if start < today - datetime.timedelta(days=LOOKBACK_DAYS):
            raise InvalidInputError("analytics go back one year: pick a start date within the last 365 days")
        return Period(start, end, grain, timezone, None)
    if picked == "custom":
        raise InvalidInputError("pick a start and an end date for a custom period")
    count = DEFAULT_DAYS if picked == "" else _choice(picked)
    return Period(today - datetime.timedelta(days=count - 1), today, grain, timezone, count)


def _choice(raw: str) -> int:
    if raw.isascii() and raw.isdigit() and int(raw) in PERIOD_DAYS:
        return int(raw)
    raise InvalidInputError(f"the period is the last 7, 30 or 90 days, or custom dates; not {raw[:20]!r}")


def _date(raw: str | None, name: str) -> datetime.date:
    if not raw:
        raise InvalidInputError(f"a custom period needs a '{name}' date (YYYY-MM-DD)")
    try:
        return datetime.date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInputError(f"'{name}' must be a date such as 2026-11-30, not {raw[:20]!r}") from None


def month_to_date(timezone: str, now_ms: int) -> Period:
    """This month so far, as one monthly bucket."""
    today = local_day(now_ms, timezone)
    return Period(today.replace(day=1), today, "MONTHLY", timezone, None)


# --- breakdowns ------------------------------------------------------------------------------------------------


@dataclass
class Breakdown:
    """Values per row (a day, a month, a market) and per category: one chart and the table under it."""

    keys: list[str]
    labels: list[str]
    categories: list[str] = field(default_factory=list)
    values: list[list[int]] = field(default_factory=list)  # [row][category]

    def add(self, row: int, category: str, value: int) -> None:
        if category not in self.categories:
            self.categories.append(category)
            for line in self.values:
                line.append(0)
        self.values[row][self.categories.index(category)] += value

    def ordered(self) -> Breakdown:
        order = sorted(self.categories, key=lambda c: (list(CATEGORY_NAMES).index(c) if c in CATEGORY_NAMES else 99, c))
        columns = [self.categories.index(c) for c in order]
        values = [[line[j] for j in columns] for line in self.values]
        return Breakdown(self.keys, self.labels, order, values)

    def row_total(self, row: int) -> int:
        return sum(self.values[row])

    def column(self, category: str) -> list[int]:
        j = self.categories.index(category)
        return [line[j] for line in self.values]

    def column_total(self, category: str) -> int:
        return sum(self.column(category))

    @property
    def total(self) -> int:
        return sum(sum(line) for line in self.values)

    def as_json(self, render: Any = None) -> list[dict[str, Any]]:
        shown = render or (lambda v: v)
        return [
            {
                "key": key,
                "label": label,
                "by_category": {c: shown(v) for c, v in zip(self.categories, line, strict=True)},
                "total": shown(sum(line)),
            }
            for key, label, line in zip(self.keys, self.labels, self.values, strict=True)
        ]


def _empty(keys: list[str], labels: list[str]) -> Breakdown:
    return Breakdown(keys, labels, [], [[] for _ in keys])


@dataclass(frozen=True)
class Analytics:
    """A period's pricing and conversation analytics, as the Graph API returns them and laid out for the page."""

    period: Period
    currency: str
    pricing_points: list[dict[str, Any]]  # Graph's data_points, untouched
    conversation_points: list[dict[str, Any]]
    cost: Breakdown  # micros per bucket and category
    volume: Breakdown  # messages per bucket and category
    market_cost: Breakdown  # micros per country and category
    market_volume: Breakdown  # messages per country and category
    conversations: Breakdown  # conversations per bucket and category
    pricing_types: dict[str, int]  # messages per pricing type (REGULAR, FREE_CUSTOMER_SERVICE, FREE_ENTRY_POINT)
    conversation_kinds: dict[str, int]  # opened, business_initiated, user_initiated, free_entry, free_tier


async def analytics_for(container: Any, waba_id: int, period: Period) -> Analytics:
    """Ask the billing service what the Graph API would answer for `period.graph_fields()`."""
    business = container.business
    scope = await business.scope_of(waba_id)
    numbers = (await business.list_phone_numbers(scope, str(waba_id)))["data"]
    found = await container.billing.analytics(waba_id, parse_fields(period.graph_fields()), numbers)
    profile = await container.billing.billing_profile(waba_id)
    [pricing] = found["pricing_analytics"]["data"]
    [talks] = found["conversation_analytics"]["data"]
    return lay_out(period, profile.currency, list(pricing["data_points"]), list(talks["data_points"]))


def lay_out(period: Period, currency: str, pricing: list[dict[str, Any]], talks: list[dict[str, Any]]) -> Analytics:
    buckets = period.buckets()
    row_of = {start: i for i, (start, _key, _label) in enumerate(buckets)}
    keys, labels = [b[1] for b in buckets], [b[2] for b in buckets]
    cost, volume, conversations = _empty(keys, labels), _empty(keys, labels), _empty(keys, labels)
    countries = sorted({str(p.get("country", "")) for p in pricing})
    country_row = {c: i for i, c in enumerate(countries)}
    names = [country_name(c) if c else "Unknown" for c in countries]
    market_cost, market_volume = _empty(countries, names), _empty(countries, names)
    pricing_types = dict.fromkeys(PRICING_TYPE_NAMES, 0)
    for point in pricing:
        row = row_of[int(point["start"])]
        category = str(point.get("pricing_category", ""))
        micros, count = micros_of(point.get("cost", 0)), int(point.get("volume", 0))
        cost.add(row, category, micros)
        volume.add(row, category, count)
        market = country_row[str(point.get("country", ""))]
        market_cost.add(market, category, micros)
        market_volume.add(market, category, count)
        kind = str(point.get("pricing_type", ""))
        pricing_types[kind] = pricing_types.get(kind, 0) + count
    kinds = dict.fromkeys(("opened", "business_initiated", "user_initiated", "free_entry", "free_tier"), 0)
    for point in talks:
        count = int(point.get("conversation", 0))
        conversations.add(row_of[int(point["start"])], str(point.get("conversation_category", "")), count)
        kinds["opened"] += count
        if point.get("conversation_direction") == "BUSINESS_INITIATED":
            kinds["business_initiated"] += count
        elif point.get("conversation_direction") == "USER_INITIATED":
            kinds["user_initiated"] += count
        if point.get("conversation_type") == "FREE_ENTRY":
            kinds["free_entry"] += count
        elif point.get("conversation_type") == "FREE_TIER":
            kinds["free_tier"] += count
    return Analytics(
        period,
        currency,
        pricing,
        talks,
        cost.ordered(),
        volume.ordered(),
        market_cost.ordered(),
        market_volume.ordered(),
        conversations.ordered(),
        pricing_types,
        kinds,
    )


def analytics_json(found: Analytics) -> dict[str, Any]:
    """The JSON answer of `/inbox/api/console/analytics` (amounts as exact decimal strings in `currency`)."""

    def amount(micros: int) -> str:
        return format_amount(micros)

    return {
        "period": found.period.as_json(),
        "currency": found.currency,
        "graph_fields": found.period.graph_fields(),
        "pricing_analytics": {"data": [{"data_points": found.pricing_points}]},
        "conversation_analytics": {"data": [{"data_points": found.conversation_points}]},
        "totals": {
            "cost": amount(found.cost.total),
            "volume": found.volume.total,
            "conversations": found.conversations.total,
            "by_pricing_type": found.pricing_types,
            "conversation_kinds": found.conversation_kinds,
        },
        "cost": found.cost.as_json(amount),
        "volume": found.volume.as_json(),
        "markets": [
            {**row, "volume": found.market_volume.row_total(i)}
            for i, row in enumerate(found.market_cost.as_json(amount))
        ],
        "conversations": found.conversations.as_json(),
    }
