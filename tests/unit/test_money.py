"""Exact money helpers: parsing and printing amounts, minor-unit rounding, markups and discounts."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.kit.money import (
    MAX_MICROS,
    MICROS,
    apply_discount,
    apply_markup,
    divide_half_up,
    format_amount,
    minor_units,
    parse_amount,
    round_to_minor,
)

amounts = st.integers(min_value=-(10**15), max_value=10**15)


def half_up(value: Decimal, quantum: Decimal = Decimal(1)) -> Decimal:
    return value.quantize(quantum, rounding=ROUND_HALF_UP)  # ROUND_HALF_UP is away from zero for .5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25.50", 25_500_000),
        ("0.0618", 61_800),
        ("10", 10_000_000),
        ("0.000001", 1),
        ("0", 0),
        ("007.5", 7_500_000),
        (" 3.25\n", 3_250_000),
        ("9223372036854.775807", MAX_MICROS),
    ],
)
def test_parse_amount_reads_decimal_currency_units_exactly(text: str, expected: int) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("NaN", "finite"),
        ("inf", "finite"),
        ("-Infinity", "finite"),
        ("1e3", "exponent"),
        ("2.5E-2", "exponent"),
        ("0.0000001", "more than 6 decimal places"),
        ("abc", "not a decimal"),
        ("1,50", "not a decimal"),
        ("1.2.3", "not a decimal"),
        (".5", "not a decimal"),
        ("5.", "not a decimal"),
        ("+5", "not a decimal"),
        ("1_000", "not a decimal"),
        ("１２", "not a decimal"),  # full-width digits are not ASCII decimals
        ("-1", "negative"),
        ("9223372036854.775808", "too large"),
        ("1" * 5000, "too large"),
    ],
)
def test_parse_amount_rejects_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_amount(text)


def test_parse_amount_accepts_a_minus_only_when_allowed() -> None:
    assert parse_amount("-1.5", allow_negative=True) == -1_500_000
    assert parse_amount("-0.000001", allow_negative=True) == -1
    with pytest.raises(ValueError, match="negative"):
        parse_amount("-0.01")


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=6, allow_nan=False, allow_infinity=False))
def test_parse_amount_matches_decimal_arithmetic(value: Decimal) -> None:
    text = f"{value:f}"
    assert parse_amount(text, allow_negative=True) == int(value * MICROS)


@pytest.mark.parametrize(
    ("micros", "expected"),
    [
        (25_500_000, "25.50"),
        (61_800, "0.0618"),
        (-1_000_000, "-1.00"),
        (0, "0.00"),
        (1, "0.000001"),
        (-1, "-0.000001"),
        (10_000, "0.01"),
        (123_456_789_000_000, "123456789.00"),
        (MAX_MICROS, "9223372036854.775807"),
    ],
)
def test_format_amount_shows_two_to_six_decimals(micros: int, expected: str) -> None:
    assert format_amount(micros) == expected


def test_format_amount_with_fewer_places_rounds_half_up() -> None:
    assert format_amount(1_234_567, places=2) == "1.23"
    assert format_amount(1_235_000, places=2) == "1.24"
    assert format_amount(-1_235_000, places=2) == "-1.24"
    assert format_amount(-4_999, places=2) == "0.00"  # no "-0.00"
    assert format_amount(1_500_000, places=0) == "2"  # whole units, as JPY prints
    assert format_amount(61_850, places=4) == "0.0619"
    with pytest.raises(ValueError):
        format_amount(1, places=7)


@given(amounts)
def test_format_then_parse_gives_back_the_same_micros(micros: int) -> None:
    text = format_amount(micros)
    assert "e" not in text.lower()
    assert len(text.split(".")[1]) >= 2
    assert parse_amount(text, allow_negative=True) == micros
    assert Decimal(text) == Decimal(micros) / MICROS


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [
        ("USD", 2),
        ("EUR", 2),
        ("GBP", 2),
        ("INR", 2),
        ("BRL", 2),
        ("IDR", 2),
        ("JPY", 0),
        ("CLP", 0),
        ("KRW", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("OMR", 3),
        ("CLF", 4),
    ],
)
def test_minor_units_follow_iso_4217(currency: str, exponent: int) -> None:
    assert minor_units(currency) == exponent


@pytest.mark.parametrize("currency", ["XYZ", "usd", "", "US", "DOLLAR"])
def test_minor_units_refuses_what_is_not_a_currency_code(currency: str) -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        minor_units(currency)


@pytest.mark.parametrize(
    ("micros", "currency", "expected"),
    [
        (1_005_000, "USD", 1_010_000),  # exactly half a cent rounds up
        (1_004_999, "USD", 1_000_000),
        (-1_005_000, "USD", -1_010_000),  # and away from zero when negative
        (-1_004_999, "USD", -1_000_000),
        (1_500_000, "JPY", 2_000_000),
        (2_499_999, "JPY", 2_000_000),
        (1_234_500, "KWD", 1_235_000),
        (1_234_499, "KWD", 1_234_000),
        (61_800, "USD", 60_000),
        (0, "USD", 0),
    ],
)
def test_round_to_minor_rounds_half_up_and_stays_in_micros(micros: int, currency: str, expected: int) -> None:
    assert round_to_minor(micros, currency) == expected


@given(amounts, st.sampled_from(["USD", "JPY", "KWD", "CLF"]))
def test_round_to_minor_agrees_with_decimal_half_up(micros: int, currency: str) -> None:
    quantum = Decimal(1).scaleb(-minor_units(currency))
    expected = half_up(Decimal(micros) / MICROS, quantum) * MICROS
    assert round_to_minor(micros, currency) == int(expected)


def test_apply_markup_is_exact_and_rounds_half_up_to_a_micro() -> None:
    assert apply_markup(61_800, 2500) == 77_250  # 0.0618 USD + 25 % = 0.07725
    assert apply_markup(11_300, 2500) == 14_125
    assert apply_markup(3, 5000) == 5  # 4.5 micros -> 5
    assert apply_markup(1, 4999) == 1  # 1.4999 micros -> 1
    assert apply_markup(1_000_000, 0) == 1_000_000
    with pytest.raises(ValueError):
        apply_markup(1, -10_001)


@given(amounts, st.integers(min_value=-10_000, max_value=100_000))
def test_apply_markup_agrees_with_decimal_half_up(micros: int, markup_bps: int) -> None:
    expected = half_up(Decimal(micros) * (Decimal(10_000 + markup_bps) / Decimal(10_000)))
    assert apply_markup(micros, markup_bps) == int(expected)


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10_000))
def test_apply_discount_never_raises_a_price(micros: int, discount_bps: int) -> None:
    discounted = apply_discount(micros, discount_bps)
    assert 0 <= discounted <= micros
    assert discounted == int(half_up(Decimal(micros) * (10_000 - discount_bps) / 10_000))


def test_apply_discount_refuses_discounts_outside_0_to_100_percent() -> None:
    with pytest.raises(ValueError):
        apply_discount(100, -1)
    with pytest.raises(ValueError):
        apply_discount(100, 10_001)


def test_divide_half_up_rounds_halves_away_from_zero() -> None:
    assert [divide_half_up(n, 2) for n in (-3, -1, 1, 3)] == [-2, -1, 1, 2]
    assert divide_half_up(7, 3) == 2
    assert divide_half_up(-7, 3) == -2
    with pytest.raises(ValueError):
        divide_half_up(1, 0)
