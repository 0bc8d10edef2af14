"""Insights arithmetic and parsing without a database: ratios, money strings, the date range, CSV safety."""

from __future__ import annotations

from datetime import date

import pytest

from parley.ads.insights import (
    InsightRow,
    Query,
    Report,
    csv_text,
    money,
    parse_dates,
    parse_field_list,
    parse_time_range,
    ratio,
)
from parley.ads.insights_repository import AccountRow, Totals
from parley.graph import GraphError


def test_ratios_are_exact_half_up_and_zero_without_a_denominator() -> None:
    assert ratio(1, 3) == "0.333333" and ratio(2, 3) == "0.666667" and ratio(5, 2) == "2.5"
    assert ratio(10, 0) == "0" and ratio(0, 7) == "0" and ratio(300, 3) == "100"


def test_money_uses_the_currency_minor_unit() -> None:
    assert money(12_345_000, "USD") == "12.35" and money(1_500_000, "JPY") == "2" and money(1_234_500, "KWD") == "1.235"


def test_the_range_is_checked() -> None:
    assert parse_time_range('{"since":"2026-01-01","until":"2026-01-31"}') == (date(2026, 1, 1), date(2026, 1, 31))
    assert parse_dates("2026-01-01", "2026-03-31") == (date(2026, 1, 1), date(2026, 3, 31))  # 90 days
    for since, until in [("2026-01-01", "2026-04-01"), ("2026-02-02", "2026-02-01"), ("2026-2-1", "2026-02-02")]:
        with pytest.raises(GraphError):
            parse_dates(since, until)
    for raw in ['{"since":"2026-01-01"}', "[]", "{", {"since": "2026-01-01", "until": "x"}]:
        with pytest.raises(GraphError):
            parse_time_range(raw)


def test_fields_are_checked() -> None:
    assert parse_field_list(None) == ["impressions", "reach", "clicks", "spend", "actions"]
    assert parse_field_list("ad_id, spend") == ["ad_id", "spend"]
    with pytest.raises(GraphError):
        parse_field_list("spend,frequency_of_joy")


def test_the_csv_writes_a_formula_like_name_as_text() -> None:
    account = AccountRow(1, 2, "Acct", "USD", "UTC")
    day = date(2026, 5, 1)
    totals = Totals(
        impressions=10, reach=8, clicks=2, spend=3_000_000, events={"Purchase": 1}, values={"Purchase": 6_000_000}
    )
    row = InsightRow("ad", 9, "=HYPERLINK(1)", 5, 7, day, day, "USD", totals)
    text = csv_text(Report(account, Query(1, "ad", day, day, True), [row]))
    header, line = text.strip().split("\r\n")
    assert header.startswith("date,level,id,name,impressions")
    # Reach (8 people) is below the k-anonymity floor: suppressed, the advertiser's own events stay exact.
    assert line == "2026-05-01,ad,9,'=HYPERLINK(1),10,fewer than 100,2,20,3.00,300,1.5,0,0,0,1,6.00,2,0,USD"
