"""How the console's pages show figures: charts from breakdowns, money in the business's currency, times in its
time zone, quality ratings and messaging-limit tiers in words (never by colour alone)."""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

from parley.console.figures import Breakdown, category_class, category_name, money
from parley.web.charts import Chart, Series, bar_chart, nice_top, whole_number_top

QUALITY = {
    "GREEN": ("High", "quality-green"),
    "YELLOW": ("Medium", "quality-yellow"),
    "RED": ("Low", "quality-red"),
}
TIER_SHORT = {
    "TIER_250": "250",
    "TIER_2K": "2K",
    "TIER_10K": "10K",
    "TIER_100K": "100K",
    "TIER_UNLIMITED": "Unlimited",
}
CHANGE_KINDS = {"quality": "Quality rating", "tier": "Messaging limit", "throughput": "Throughput"}


def quality_text(rating: str) -> str:
    """`GREEN` -> "Green · high quality": the word carries the meaning, the colour only repeats it."""
    word = QUALITY.get(rating, (rating.lower(), ""))[0]
    return f"{rating.capitalize()} · {word.lower()} quality"


def quality_class(rating: str) -> str:
    return QUALITY.get(rating, ("", "quality-unknown"))[1]


def tier_text(tier: str, limit: int | None) -> str:
    short = TIER_SHORT.get(tier, tier)
    if limit is None:
        return f"{short}: no limit on people per 24 h"
    return f"Tier {short}: up to {limit:,} people per 24 h"


def local_time(ms: int, timezone: str) -> str:
    moment = datetime.datetime.fromtimestamp(ms / 1000, zoneinfo.ZoneInfo(timezone))
    return f"{moment.day} {moment.strftime('%b %Y, %H:%M')}"


def iso_time(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).isoformat().replace("+00:00", "Z")


def breakdown_chart(breakdown: Breakdown, currency: str | None = None) -> Chart:
    """A stacked bar per row, one colour per category; money when `currency` is given, counts otherwise."""

    def shown(value: float) -> str:
        if currency is not None:
            return money(round(value), currency)
        return f"{value:,.0f}"  # counts: whole_number_top keeps every tick whole

    series = [Series(category_name(c), category_class(c), breakdown.column(c)) for c in breakdown.categories]
    return bar_chart(breakdown.labels, series, shown, axis_top=nice_top if currency else whole_number_top)


def page_helpers(currency: str, timezone: str) -> dict[str, Any]:
    """What the console templates format with (Jinja globals for one page)."""
    return {
        "money": lambda micros: money(micros, currency),
        "amount": lambda micros: money(micros, currency).removeprefix(currency + " "),  # in tables: header says
        "count": lambda n: f"{n:,}",
        "messages": lambda n: f"{n:,} message" if n == 1 else f"{n:,} messages",
        "category_name": category_name,
        "category_class": category_class,
        "quality_text": quality_text,
        "quality_class": quality_class,
        "tier_text": tier_text,
        "local_time": lambda ms: local_time(ms, timezone),
        "iso_time": iso_time,
        "change_kind": lambda kind: CHANGE_KINDS.get(kind, kind),
        "currency": currency,
        "timezone": timezone,
    }
