"""The console's figures: money as a person reads it, Meta's JSON costs back to exact micros, periods in the
business's time zone with its buckets, and Graph's data points laid out per day, category and market."""

from __future__ import annotations

import datetime

import pytest

from parley.console.figures import lay_out, micros_of, money, parse_period
from parley.kit.errors import InvalidInputError

# 2026-12-06 20:00 UTC is already 7 December in Kolkata (UTC+05:30).
NOW_MS = int(datetime.datetime(2026, 12, 6, 20, 0, tzinfo=datetime.UTC).timestamp() * 1000)


def test_money_keeps_sub_cent_digits_and_groups_thousands() -> None:
    assert money(1_234_500_000, "USD") == "USD 1,234.50"
    assert money(11_800, "USD") == "USD 0.0118"
    assert money(-2_500_000, "EUR") == "EUR -2.50"
    assert money(0, "INR") == "INR 0.00"


@pytest.mark.parametrize(
    ("micros", "cost"), [(11_800, 0.0118), (66_800, 0.0668), (1_234_567_891, 1234.567891), (0, 0), (1, 1e-06)]
)
def test_a_json_cost_comes_back_as_the_exact_micros_it_was_made_from(micros: int, cost: float) -> None:
    assert cost == micros / 1_000_000  # what the analytics put in the JSON
    assert micros_of(cost) == micros


def test_last_n_days_end_today_in_the_business_time_zone() -> None:
    week = parse_period(days="7", first=None, last=None, granularity=None, timezone="Asia/Kolkata", now_ms=NOW_MS)
    assert (week.first, week.last, week.granularity) == (
        datetime.date(2026, 12, 1),
        datetime.date(2026, 12, 7),
        "DAILY",
    )
    midnight = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30)))
    assert week.start_s == int(midnight.timestamp())
    assert week.end_s - week.start_s == 7 * 86_400
    assert [b[1] for b in week.buckets()][-1] == "2026-12-07"
    months = parse_period(
        days=None, first="2026-10-15", last="2026-12-02", granularity="monthly", timezone="UTC", now_ms=NOW_MS
    )
    assert [b[2] for b in months.buckets()] == ["Oct 2026", "Nov 2026", "Dec 2026"]


@pytest.mark.parametrize(
    ("days", "first", "last", "granularity", "words"),
    [
        ("14", None, None, None, "7, 30 or 90"),
        ("custom", None, None, None, "start and an end"),
        (None, "2026-02-30", "2026-03-01", None, "must be a date"),
        (None, "2026-12-01", None, None, "'to' date"),
        (None, "2026-12-05", "2026-12-01", None, "before it starts"),
        (None, "2026-12-01", "2026-12-08", None, "after today"),
        (None, "2025-11-01", "2026-12-01", None, "one year"),
        ("7", None, None, "WEEKLY", "DAILY or MONTHLY"),
    ],
)
def test_bad_periods_say_what_is_wrong(
    days: str | None, first: str | None, last: str | None, granularity: str | None, words: str
) -> None:
    with pytest.raises(InvalidInputError, match=words):
        parse_period(days=days, first=first, last=last, granularity=granularity, timezone="UTC", now_ms=NOW_MS)


def test_data_points_are_laid_out_per_day_category_and_market() -> None:
    period = parse_period(days="7", first=None, last=None, granularity="DAILY", timezone="UTC", now_ms=NOW_MS)
    day = period.buckets()[-1][0]
    pricing = [
        {
            "start": day,
            "end": day + 86_400,
            "pricing_category": "UTILITY",
            "pricing_type": "REGULAR",
            "country": "DE",
            "volume": 2,
            "cost": 0.11,
        },
        {
            "start": day,
            "end": day + 86_400,
            "pricing_category": "MARKETING",
            "pricing_type": "REGULAR",
            "country": "IN",
            "volume": 1,
            "cost": 0.0118,
        },
        {
            "start": day,
            "end": day + 86_400,
            "pricing_category": "SERVICE",
            "pricing_type": "FREE_CUSTOMER_SERVICE",
            "country": "IN",
            "volume": 3,
            "cost": 0,
        },
    ]
    found = lay_out(period, "USD", pricing, [])
    assert found.cost.categories == ["MARKETING", "UTILITY", "SERVICE"]  # the display order, not the arrival
    assert found.cost.values[-1] == [11_800, 110_000, 0] and found.cost.total == 121_800
    assert sum(found.cost.row_total(i) for i in range(6)) == 0  # the empty days are there, as zeros
    assert found.market_cost.labels == ["Germany", "India"]
    assert found.market_volume.row_total(1) == 4
    assert found.pricing_types == {"REGULAR": 3, "FREE_CUSTOMER_SERVICE": 3, "FREE_ENTRY_POINT": 0}
