"""Catalog inputs as Meta takes them: prices in minor units or the feed's "14.99 GBP", exact per currency;
sale dates; partial updates checked against the stored product; product set filters."""

from __future__ import annotations

from typing import Any

import pytest

from parley.commerce.schemas import check_filter, matches, parse_product, string_bool
from parley.graph import GraphError

BASE = {"retailer_id": "sku", "name": "Thing", "currency": "USD"}


def values(**fields: Any) -> dict[str, Any]:
    return parse_product({**BASE, **fields}, feed=False).values


@pytest.mark.parametrize(
    ("price", "currency", "micros"),
    [
        (1499, "USD", 14_990_000),
        ("1499", "USD", 14_990_000),  # a form body sends numbers as strings
        ("14.99 USD", None, 14_990_000),
        (500, "JPY", 500_000_000),  # no minor unit: 500 yen
        ("500 JPY", None, 500_000_000),
        (1500, "KWD", 1_500_000),  # three decimals: 1.500 dinar
        ("1.505 KWD", None, 1_505_000),
        (0, "USD", 0),
    ],
)
def test_prices_convert_exactly_to_micros(price: object, currency: str | None, micros: int) -> None:
    fields: dict[str, Any] = {"retailer_id": "sku", "name": "Thing", "price": price}
    if currency is not None:
        fields["currency"] = currency
    parsed = parse_product(fields, feed=False).values
    assert parsed["price"] == micros and parsed["currency"] == (currency or str(price).split()[1])


@pytest.mark.parametrize("price", ["14.999 USD", "1.5 JPY", 14.99, True, "14,99 USD", "-1 USD", "USD 14", "abc"])
def test_prices_that_are_not_exact_or_not_prices_are_refused(price: object) -> None:
    with pytest.raises(GraphError) as refused:
        values(price=price)
    assert refused.value.code == 100 and "price" in refused.value.details


def test_sale_dates_in_both_of_metas_forms_and_their_order() -> None:
    feed = parse_product(
        {"id": "sku", "title": "T", "price": "10 USD", "sale_price": "8 USD",
         "sale_price_effective_date": "2025-01-01T00:00+00:00/2025-02-01T00:00Z"},
        feed=True,
    ).values  # fmt: skip
    assert (feed["sale_starts_at"], feed["sale_ends_at"]) == (1_735_689_600_000, 1_738_368_000_000)
    api = values(price=1000, sale_price=800, sale_price_start_date="2025-01-01", sale_price_end_date=1738368000)
    assert (api["sale_starts_at"], api["sale_ends_at"]) == (1_735_689_600_000, 1_738_368_000_000)
    with pytest.raises(GraphError, match="after"):
        values(price=1000, sale_price_start_date="2025-02-01", sale_price_end_date="2025-01-01")
    with pytest.raises(GraphError, match="two ISO-8601 dates"):
        parse_product({"id": "s", "title": "T", "price": "1 USD", "sale_price_effective_date": "2025"}, feed=True)


def test_an_update_is_checked_against_the_stored_product() -> None:
    stored = {"retailer_id": "sku", "price": 10_000_000, "currency": "USD", "sale_price": 8_000_000,
              "sale_starts_at": None, "sale_ends_at": None}  # fmt: skip
    assert parse_product({"price": 900}, feed=False, current=stored).values == {"currency": "USD", "price": 9_000_000}
    with pytest.raises(GraphError, match="below price"):
        parse_product({"price": 700}, feed=False, current=stored)
    cleared = parse_product({"price": 700, "sale_price": ""}, feed=False, current=stored).values
    assert cleared["sale_price"] is None and cleared["price"] == 7_000_000


def test_the_feed_warns_about_fields_it_does_not_keep_and_the_endpoint_refuses_unknown_ones() -> None:
    feed = parse_product(
        {"id": "s", "title": "T", "price": "1 USD", "color": "red", "whatever": 1}, feed=True, strict=False
    )
    assert feed.retailer_id == "s" and len(feed.warnings) == 2
    with pytest.raises(GraphError, match="whatever"):
        values(whatever=1)
    with pytest.raises(GraphError, match="same thing"):
        values(name="A", title="B")
    assert values(price=1, availability="OUT_OF_STOCK")["availability"] == "out of stock"


def test_product_set_filters() -> None:
    acme_in_stock = {"and": [{"brand": {"i_contains": "acme"}}, {"availability": {"neq": "out of stock"}}]}
    rule = {"or": [{"retailer_id": {"is_any": ["a", "b"]}}, acme_in_stock]}
    check_filter(rule)
    products = [
        {"retailer_id": "a", "brand": None, "availability": "out of stock"},
        {"retailer_id": "c", "brand": "ACME Ltd", "availability": "in stock"},
        {"retailer_id": "d", "brand": "ACME Ltd", "availability": "out of stock"},
    ]
    assert [p["retailer_id"] for p in products if matches(rule, p)] == ["a", "c"]
    for bad in ({}, {"price": {"eq": "1"}}, {"brand": {"eq": 1}}, {"and": []}, {"brand": {"eq": "a", "neq": "b"}}):
        with pytest.raises(GraphError):
            check_filter(bad)


def test_string_booleans() -> None:
    assert [string_bool("x", v) for v in ("true", "FALSE", True, "1", 0)] == [True, False, True, True, False]
    with pytest.raises(GraphError):
        string_bool("x", "yes")
