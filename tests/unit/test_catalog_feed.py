"""Meta's catalog feed CSV read line by line (by the products endpoint's validator): prices, dates, line numbers."""

from __future__ import annotations

import pytest

from parley.commerce.feed import FeedError, parse_feed


def test_good_lines_become_product_fields_with_exact_prices_and_sale_dates() -> None:
    feed = parse_feed(
        b"\xef\xbb\xbfID,Title,Price,Sale_Price,Sale_Price_Effective_Date,Availability,quantity_to_sell_on_facebook,gtin\n"
        b"a,Mug,14.99 brl,12.50 BRL,2026-01-01T00:00-03:00/2026-02-01,in_stock,7,123\n"
        b"b,Yen thing,1500 JPY,,,out of stock,,\n"
    )
    assert feed.errors == [] and feed.ignored_columns == ["gtin"]
    mug, yen = feed.items
    assert (mug.line, mug.retailer_id) == (2, "a")
    assert mug.fields.values["price"] == 14_990_000 and mug.fields.values["currency"] == "BRL"
    assert mug.fields.values["sale_price"] == 12_500_000 and mug.fields.values["availability"] == "in stock"
    assert mug.fields.values["sale_starts_at"] == 1_767_236_400_000  # 2026-01-01 03:00 UTC
    assert mug.fields.values["sale_ends_at"] == 1_769_904_000_000  # 2026-02-01 00:00 UTC (no zone: UTC)
    assert mug.fields.values["stock"] == 7
    assert (yen.fields.values["price"], yen.fields.values["availability"], yen.fields.values["stock"]) == (
        1_500_000_000,
        "out of stock",
        None,
    )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("x,T,14.999 BRL", "more decimals than BRL has"),
        ("x,T,1.5 JPY", "more decimals than JPY has"),
        ("x,T,10 XYZ", "not an ISO 4217"),
        ("x,T,1499", "currency is required"),
        ("x,T,1e3 USD", "not a price"),
        ("x,,1 USD", "title cannot be empty"),
        ("x,T,1 USD,2 USD", "below price"),
        ("x,T,2 USD,1 EUR", "sale_price is in EUR"),
        ("x,T,2 USD,,2026-01-01", "joined by '/'"),
        ("x,T,2 USD,1 USD,2026-02-01/2026-01-01", "end_date must be after"),
        ("x,T,2 USD,1 USD,yesterday/", "must be an ISO-8601 date"),
        ("x,T,2 USD,,,-3", "quantity_to_sell_on_facebook"),
        ("x,T,2 USD,,,,javascript:alert(1)", "http:// or https:// URL"),
        ("x,T,2 USD,,,,,broken", "condition must be one of new, refurbished, used (got 'broken')"),
    ],
)
def test_a_bad_line_is_refused_with_its_reason(line: str, reason: str) -> None:
    header = "id,title,price,sale_price,sale_price_effective_date,quantity_to_sell_on_facebook,link,condition\n"
    feed = parse_feed((header + line + "\n").encode())
    assert feed.items == []
    [error] = feed.errors
    assert error.line == 2 and reason in error.message


def test_line_numbers_count_physical_lines_and_duplicates_are_refused_everywhere() -> None:
    feed = parse_feed(
        b'id,title,description,price\na,One,"two\nline description",1 USD\n\nb,Two,,2 USD\na,Again,,3 USD\nc,,,\n'
    )
    assert [(i.line, i.retailer_id) for i in feed.items] == [(5, "b")]
    assert [(e.line, e.retailer_id) for e in feed.errors] == [(2, "a"), (6, "a"), (7, "c")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"title,price\n", "missing: id"),
        (b"id,title,price\n\xff\n", "not UTF-8"),
        (b"id,title,price\x00\n", "not a CSV"),
    ],
)
def test_an_unusable_file_is_refused_whole(data: bytes, reason: str) -> None:
    with pytest.raises(FeedError, match=reason):
        parse_feed(data)
