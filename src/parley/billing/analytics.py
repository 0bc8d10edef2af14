"""`pricing_analytics` and `conversation_analytics` of a WABA in Meta's shapes, computed from the charge rows.

The charge rows hold exactly what the ledger posted for each message (statements reconcile the two), so these
figures always agree with the ledger and with the statements. Buckets follow the business's time zone; a
message counts in the bucket of its delivery (when it was priced). Costs are JSON numbers in currency units,
as Meta sends them, converted from exact micros. Meta's shapes (cloud-api.md §7):

    pricing_analytics.start(unix).end(unix).granularity(DAILY|HALF_HOUR|MONTHLY)
        [.phone_numbers([..]).country_codes([..]).metric_types([COST,VOLUME]).pricing_types([..])
         .pricing_categories([..]).dimensions([COUNTRY,PHONE,PRICING_CATEGORY,PRICING_TYPE,TIER])]
    -> {"data": [{"data_points": [{"start", "end", <dimensions asked>, "volume", "cost"}]}]}

    conversation_analytics.start(unix).end(unix).granularity(HALF_HOUR|DAILY|MONTHLY)
        [.phone_numbers .country_codes .metric_types([COST,CONVERSATION]) .conversation_categories
         .conversation_types([FREE_ENTRY,FREE_TIER,REGULAR]) .conversation_directions .dimensions([...])]
    -> {"data": [{"data_points": [{"start", "end", <dimensions asked>, "conversation", "cost"}]}]}

`pricing_analytics` covers messages priced per message (PMP), `conversation_analytics` the conversations of the
conversation-based model (CBP): charged conversations as priced, free-entry-point (72 h) and free service
(24 h) conversations grouped from their messages.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, select

from parley.billing import repository as repo
from parley.billing.models import CHARGED, FREE, billing_charges, billing_conversations
from parley.billing.statements import display_tier, zone_of
from parley.graph import FieldSpec, GraphError
from parley.kit.clock import Clock
from parley.platform.db import Database

ANALYTICS_FIELDS = frozenset({"pricing_analytics", "conversation_analytics"})
LOOKBACK_S = 366 * 86_400  # Meta keeps a year of messaging, conversation and pricing analytics
HOUR_MS = 3_600_000
FREE_ENTRY_HOURS = 72
SERVICE_HOURS = 24

_PRICING_CATEGORIES = frozenset(
    {
        "AUTHENTICATION",
        "AUTHENTICATION_INTERNATIONAL",
        "MARKETING",
        "MARKETING_LITE",
        "SERVICE",
        "UTILITY",
        "REFERRAL_CONVERSION",
    }
)


@dataclass(frozen=True)
class _Field:
    granularities: tuple[str, ...]
    metrics: tuple[str, ...]
    enumerated: Mapping[str, frozenset[str]]  # list parameter -> allowed values
    dimensions: frozenset[str]


_FIELDS = {
    "pricing_analytics": _Field(
        ("DAILY", "HALF_HOUR", "MONTHLY"),
        ("VOLUME", "COST"),
        {
            "metric_types": frozenset({"COST", "VOLUME"}),
            "pricing_types": frozenset({"REGULAR", "FREE_CUSTOMER_SERVICE", "FREE_ENTRY_POINT"}),
            "pricing_categories": _PRICING_CATEGORIES,
        },
        frozenset({"COUNTRY", "PHONE", "PRICING_CATEGORY", "PRICING_TYPE", "TIER"}),
    ),
    "conversation_analytics": _Field(
        ("HALF_HOUR", "DAILY", "MONTHLY"),
        ("CONVERSATION", "COST"),
        {
            "metric_types": frozenset({"COST", "CONVERSATION"}),
            "conversation_categories": _PRICING_CATEGORIES,
            "conversation_types": frozenset({"FREE_ENTRY", "FREE_TIER", "REGULAR"}),
            "conversation_directions": frozenset({"BUSINESS_INITIATED", "USER_INITIATED", "UNKNOWN"}),
        },
        frozenset({"CONVERSATION_CATEGORY", "CONVERSATION_DIRECTION", "CONVERSATION_TYPE", "COUNTRY", "PHONE"}),
    ),
}


@dataclass(frozen=True)
class AnalyticsQuery:
    field: str
    start_s: int
    end_s: int
    granularity: str
    phone_numbers: frozenset[str] | None  # digits (or phone number ids); None: all
    country_codes: frozenset[str] | None
    metrics: tuple[str, ...]
    filters: Mapping[str, frozenset[str]]  # enumerated list parameter -> values asked (absent: all)
    dimensions: tuple[str, ...]


def wanted(specs: Iterable[FieldSpec]) -> bool:
    return any(spec.name in ANALYTICS_FIELDS for spec in specs)


def parse_query(spec: FieldSpec, now_ms: int) -> AnalyticsQuery:
    """The parameters of one analytics field; GraphError 100 says what is wrong with them."""
    field = _FIELDS[spec.name]
    known = {"start", "end", "granularity", "phone_numbers", "country_codes", "dimensions", *field.enumerated}
    unknown = sorted(set(spec.params) - known)
    if unknown:
        raise GraphError(100, f"{spec.name} has no parameter {unknown[0]} (it takes {', '.join(sorted(known))})")
    start, end = _unix(spec, "start"), _unix(spec, "end")
    if end <= start:
        raise GraphError(100, f"{spec.name}: end ({end}) must be after start ({start})")
    if start < now_ms // 1000 - LOOKBACK_S:
        raise GraphError(100, f"{spec.name}: start is more than one year ago; analytics go back one year")
    granularity = spec.params.get("granularity", "").strip().upper()
    if granularity not in field.granularities:
        raise GraphError(100, f"{spec.name}: granularity must be one of {', '.join(field.granularities)}")
    filters: dict[str, frozenset[str]] = {}
    for name, allowed in field.enumerated.items():
        if name in spec.params:
            values = frozenset(value.upper() for value in _list(spec, name))
            if values - allowed:
                raise GraphError(
                    100, f"{spec.name}: {name} takes {', '.join(sorted(allowed))}, not {sorted(values - allowed)[0]}"
                )
            if values:
                filters[name] = values
    metrics = tuple(m for m in field.metrics if m in filters.pop("metric_types", frozenset(field.metrics)))
    dimensions = tuple(dict.fromkeys(value.upper() for value in _list(spec, "dimensions")))
    bad = [d for d in dimensions if d not in field.dimensions]
    if bad:
        raise GraphError(100, f"{spec.name}: dimensions are {', '.join(sorted(field.dimensions))}, not {bad[0]}")
    phones = None
    if _list(spec, "phone_numbers"):
        phones = frozenset(_digits(value, spec.name) for value in _list(spec, "phone_numbers"))
    countries = None
    if _list(spec, "country_codes"):
        countries = frozenset(_country(value, spec.name) for value in _list(spec, "country_codes"))
    return AnalyticsQuery(spec.name, start, end, granularity, phones, countries, metrics, filters, dimensions)


def _unix(spec: FieldSpec, name: str) -> int:
    raw = spec.params.get(name)
    if raw is None:
        raise GraphError(100, f"{spec.name} needs .{name}(unix time in seconds)")
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 11:
        raise GraphError(100, f"{spec.name}: {name} must be a unix time in seconds, not {raw[:32]!r}")
    return int(text)


def _list(spec: FieldSpec, name: str) -> list[str]:
    """`[a,"b"]`, `["a", "b"]` or `a,b` -> ["a", "b"]."""
    raw = spec.params.get(name)
    if raw is None:
        return []
    text = raw.strip()
    if text.startswith("[") != text.endswith("]"):
        raise GraphError(100, f'{spec.name}: {name} must be a list such as ["A","B"]')
    if text.startswith("["):
        text = text[1:-1]
    items = [item.strip().strip("\"'").strip() for item in text.split(",")]
    return [item for item in items if item]


def _digits(value: str, field: str) -> str:
    digits = value.removeprefix("+")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 20:
        raise GraphError(100, f"{field}: phone_numbers holds phone numbers such as 16505550111, not {value[:32]!r}")
    return digits


def _country(value: str, field: str) -> str:
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        raise GraphError(100, f"{field}: country_codes holds two-letter codes such as US, not {value[:32]!r}")
    return value.upper()


# --- computing -------------------------------------------------------------------------------------------------


class _Buckets:
    """Bucket of a moment (unix ms) at a granularity, aligned to the business's time zone."""

    def __init__(self, granularity: str, timezone: str) -> None:
        self._granularity, self._zone = granularity, zone_of(timezone)
        self._days: dict[datetime.date, tuple[int, int]] = {}

    def __call__(self, ms: int) -> tuple[int, int]:
        seconds = ms // 1000
        local = datetime.datetime.fromtimestamp(seconds, self._zone)
        if self._granularity == "HALF_HOUR":
            offset = local.utcoffset() or datetime.timedelta()
            start = seconds - (seconds + int(offset.total_seconds())) % 1800
            return start, start + 1800
        day = local.date()
        if self._granularity == "MONTHLY":
            day = day.replace(day=1)
        found = self._days.get(day)
        if found is None:
            if self._granularity == "MONTHLY":
                following = datetime.date(day.year + day.month // 12, day.month % 12 + 1, 1)
            else:
                following = day + datetime.timedelta(days=1)
            found = (self._midnight(day), self._midnight(following))
            self._days[day] = found
        return found

    def _midnight(self, day: datetime.date) -> int:
        return int(datetime.datetime(day.year, day.month, day.day, tzinfo=self._zone).timestamp())


def _cost(micros: int) -> float:
    # Display only (the money path stays in integers): the nearest double prints as the exact decimal.
    return micros / 1_000_000


async def waba_analytics(
    db: Database,
    clock: Clock,
    waba_id: int,
    specs: Sequence[FieldSpec],
    phone_numbers: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The analytics fields `specs` ask for, keyed by field name; `phone_numbers` are the WABA's numbers as
    Graph shows them (`id`, `display_phone_number`)."""
    now = clock.now_ms()
    queries = [parse_query(spec, now) for spec in specs if spec.name in ANALYTICS_FIELDS]
    if not queries:
        return {}
    directory = {int(n["id"]): str(n["display_phone_number"]).removeprefix("+") for n in phone_numbers}

    def unit(conn: Connection) -> dict[str, Any]:
        profile = repo.get_profile(conn, waba_id)
        timezone = "UTC" if profile is None else profile.timezone
        out: dict[str, Any] = {}
        for query in queries:
            compute = _pricing if query.field == "pricing_analytics" else _conversations
            out[query.field] = {"data": [{"data_points": compute(conn, waba_id, query, timezone, directory)}]}
        return out

    return await db.read(unit)


def _phone_filter(query: AnalyticsQuery, directory: Mapping[int, str]) -> Callable[[int], bool]:
    phones = query.phone_numbers
    if phones is None:
        return lambda _number_id: True
    return lambda number_id: directory.get(number_id) in phones or str(number_id) in phones


def _aggregate(
    events: Iterable[tuple[int, dict[str, Any], int]],
    query: AnalyticsQuery,
    timezone: str,
    count_name: str,
) -> list[dict[str, Any]]:
    """Events (when ms, dimension values, cost micros) summed per bucket and per the dimensions asked."""
    bucket_of = _Buckets(query.granularity, timezone)
    totals: dict[tuple[Any, ...], list[int]] = {}
    for at, values, cost in events:
        start, end = bucket_of(at)
        key = (start, end, *(values.get(name) for name in query.dimensions))
        slot = totals.setdefault(key, [0, 0])
        slot[0] += 1
        slot[1] += cost
    points = []
    for key in sorted(totals, key=lambda k: (k[0], k[1], *("" if v is None else str(v) for v in k[2:]))):
        start, end, *dims = key
        point: dict[str, Any] = {"start": start, "end": end}
        for name, value in zip(query.dimensions, dims, strict=True):
            if value is not None:
                point[_DIMENSION_FIELDS[name]] = value
        count, cost = totals[key]
        if count_name.upper() in query.metrics:
            point[count_name] = count
        if "COST" in query.metrics:
            point["cost"] = _cost(cost)
        points.append(point)
    return points


_DIMENSION_FIELDS = {
    "COUNTRY": "country",
    "PHONE": "phone_number",
    "PRICING_CATEGORY": "pricing_category",
    "PRICING_TYPE": "pricing_type",
    "TIER": "tier",
    "CONVERSATION_CATEGORY": "conversation_category",
    "CONVERSATION_DIRECTION": "conversation_direction",
    "CONVERSATION_TYPE": "conversation_type",
}


def _delivered(conn: Connection, waba_id: int, since_ms: int, until_ms: int) -> list[repo.ChargeRow]:
    c = billing_charges.c
    rows = conn.execute(
        select(billing_charges)
        .where(and_(c.waba_id == waba_id, c.settled_at >= since_ms, c.settled_at < until_ms))
        .where(c.state.in_((CHARGED, FREE)))
    )
    return [repo.ChargeRow(**row._mapping) for row in rows]


def _pricing(
    conn: Connection, waba_id: int, query: AnalyticsQuery, timezone: str, directory: Mapping[int, str]
) -> list[dict[str, Any]]:
    in_phones = _phone_filter(query, directory)
    types = query.filters.get("pricing_types")
    categories = query.filters.get("pricing_categories")

    def events() -> Iterable[tuple[int, dict[str, Any], int]]:
        for row in _delivered(conn, waba_id, query.start_s * 1000, query.end_s * 1000):
            if row.pricing_model != "PMP" or row.settled_at is None:
                continue
            pricing_type = (row.pricing_type or "free_customer_service").upper()
            category = "REFERRAL_CONVERSION" if pricing_type == "FREE_ENTRY_POINT" else (row.category or "").upper()
            if (types is not None and pricing_type not in types) or (
                categories is not None and category not in categories
            ):
                continue
            if not in_phones(row.phone_number_id) or (
                query.country_codes is not None and row.country not in query.country_codes
            ):
                continue
            values = {
                "COUNTRY": row.country,
                "PHONE": directory.get(row.phone_number_id, str(row.phone_number_id)),
                "PRICING_CATEGORY": category,
                "PRICING_TYPE": pricing_type,
                "TIER": display_tier(row),
            }
            yield row.settled_at, values, row.amount

    return _aggregate(events(), query, timezone, "volume")


def _conversations(
    conn: Connection, waba_id: int, query: AnalyticsQuery, timezone: str, directory: Mapping[int, str]
) -> list[dict[str, Any]]:
    in_phones = _phone_filter(query, directory)
    start_ms, end_ms = query.start_s * 1000, query.end_s * 1000
    wanted_types = query.filters.get("conversation_types")
    categories = query.filters.get("conversation_categories")
    directions = query.filters.get("conversation_directions")
    found: list[tuple[int, dict[str, Any], int]] = []

    def keep(at: int, number_id: int, country: str, kind: str, category: str, direction: str, cost: int) -> None:
        if not start_ms <= at < end_ms or not in_phones(number_id):
            return
        if query.country_codes is not None and country not in query.country_codes:
            return
        if (
            (wanted_types is not None and kind not in wanted_types)
            or (categories is not None and category not in categories)
            or (directions is not None and direction not in directions)
        ):
            return
        values = {
            "COUNTRY": country,
            "PHONE": directory.get(number_id, str(number_id)),
            "CONVERSATION_TYPE": kind,
            "CONVERSATION_CATEGORY": category,
            "CONVERSATION_DIRECTION": direction,
        }
        found.append((at, values, cost))

    # Charged conversations, as priced when their first message was delivered.
    v, c = billing_conversations.c, billing_charges.c
    opened = conn.execute(
        select(v.opened_at, v.phone_number_id, v.category, c.country, c.amount)
        .join(billing_charges, c.message_id == v.opened_by)
        .where(v.waba_id == waba_id, v.opened_at >= start_ms, v.opened_at < end_ms)
    )
    for row in opened:
        category = row.category.upper()
        direction = "USER_INITIATED" if category == "SERVICE" else "BUSINESS_INITIATED"
        keep(row.opened_at, row.phone_number_id, row.country, "REGULAR", category, direction, row.amount)
    # Free conversations: a free-entry-point window lasts 72 h, a service conversation 24 h, from its first message.
    lookback = FREE_ENTRY_HOURS * HOUR_MS
    free = [
        r
        for r in _delivered(conn, waba_id, start_ms - lookback, end_ms)
        if r.pricing_model == "CBP" and r.pricing_type in ("free_entry_point", "free_customer_service")
    ]
    free.sort(key=lambda r: (r.pricing_type or "", r.phone_number_id, r.person_id, r.settled_at or 0))
    open_until: dict[tuple[str | None, int, int], int] = {}
    for r in free:
        at = r.settled_at or 0
        key = (r.pricing_type, r.phone_number_id, r.person_id)
        if at < open_until.get(key, 0):
            continue
        entry = r.pricing_type == "free_entry_point"
        open_until[key] = at + (FREE_ENTRY_HOURS if entry else SERVICE_HOURS) * HOUR_MS
        if entry:
            keep(at, r.phone_number_id, r.country, "FREE_ENTRY", "REFERRAL_CONVERSION", "USER_INITIATED", 0)
        else:
            keep(at, r.phone_number_id, r.country, "FREE_TIER", "SERVICE", "USER_INITIATED", 0)
    return _aggregate(found, query, timezone, "conversation")
