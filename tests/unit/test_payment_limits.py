"""Parley Pay's market caps and amount rules: exact micros, the currency's minor unit, caps that name themselves."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest

from parley.config import MarketCaps, PersonPaySettings
from parley.kit.errors import InvalidInputError
from parley.payments.limits import (
    InvalidPayAmountError,
    MarketLimits,
    PaymentCapError,
    day_and_month_start,
    month_bounds,
    pay_amount,
)

LIMITS = MarketLimits(PersonPaySettings())
BR = LIMITS.caps_for("BR")


@pytest.mark.parametrize(
    ("text", "currency", "micros"),
    [("12.50", "BRL", 12_500_000), ("1", "BRL", 1_000_000), ("0.01", "INR", 10_000), ("100000", "INR", 10**11)],
)
def test_amounts_are_exact_micros(text: str, currency: str, micros: int) -> None:
    assert pay_amount(text, currency) == micros


@pytest.mark.parametrize(
    ("text", "currency", "says"),
    [
        ("12.505", "BRL", "at most 2 decimal places"),
        ("5.5", "JPY", "at most 0 decimal places"),
        ("-1", "BRL", "negative"),
        ("0", "BRL", "more than zero"),
        ("0.000", "BRL", "more than zero"),
        ("twelve", "BRL", "not a decimal number"),
        ("1e3", "BRL", "exponent"),
        ("NaN", "BRL", "not a finite number"),
        ("1", "XYZ", "not an ISO 4217"),
    ],
)
def test_bad_amounts_say_what_is_wrong(text: str, currency: str, says: str) -> None:
    with pytest.raises(InvalidPayAmountError, match=says):
        pay_amount(text, currency)


def test_the_market_is_the_phone_numbers_country() -> None:
    assert LIMITS.market_of("+5511987654321") == "BR"
    assert LIMITS.market_of("+919876543210") == "IN"
    assert LIMITS.market_of("+14155550100") == "US"


def test_brazil_per_payment_caps_are_inclusive() -> None:
    LIMITS.check_payment(BR, 1_000_000_000, "BRL")
    LIMITS.check_payment(BR, 1_000_000, "BRL")
    with pytest.raises(PaymentCapError, match=r"the limit per payment is 1000\.00 BRL"):
        LIMITS.check_payment(BR, 1_000_010_000, "BRL")
    with pytest.raises(PaymentCapError, match=r"the minimum payment is 1\.00 BRL"):
        LIMITS.check_payment(BR, 990_000, "BRL")
    with pytest.raises(PaymentCapError, match="are in BRL, not USD"):
        LIMITS.check_payment(BR, 5_000_000, "USD")


def test_brazil_day_and_month_caps_count_what_was_sent() -> None:
    LIMITS.check_running(BR, 1_000_000, "BRL", count_today=19, sent_this_month=0)
    with pytest.raises(PaymentCapError, match="20 payments per day"):
        LIMITS.check_running(BR, 1_000_000, "BRL", count_today=20, sent_this_month=0)
    LIMITS.check_running(BR, 1_000_000_000, "BRL", count_today=0, sent_this_month=4_000_000_000)
    with pytest.raises(PaymentCapError, match=r"5000\.00 BRL; 999\.99 BRL is left"):
        LIMITS.check_running(BR, 1_000_000_000, "BRL", count_today=0, sent_this_month=4_000_010_000)


def test_india_caps_one_payment_only() -> None:
    india = LIMITS.caps_for("IN")
    LIMITS.check_payment(india, 100_000 * 1_000_000, "INR")
    with pytest.raises(PaymentCapError, match=r"100000\.00 INR"):
        LIMITS.check_payment(india, 100_000 * 1_000_000 + 10_000, "INR")
    LIMITS.check_running(india, 10**11, "INR", count_today=500, sent_this_month=10**15)


def test_other_markets_are_configurable() -> None:
    limits = MarketLimits(PersonPaySettings(other_markets=MarketCaps(max_per_payment="50"), currencies=["USD", "EUR"]))
    caps = limits.caps_for("US")
    limits.check_payment(caps, 50_000_000, "USD")
    with pytest.raises(PaymentCapError, match=r"50\.00 EUR"):
        limits.check_payment(caps, 50_010_000, "EUR")
    with pytest.raises(InvalidPayAmountError, match="USD, EUR"):
        limits.check_payment(caps, 1_000_000, "BRL")


def test_days_and_months_run_in_the_markets_time_zone() -> None:
    sao_paulo = zoneinfo.ZoneInfo("America/Sao_Paulo")
    # 01:30 UTC on 1 March is still 28 February, 22:30, in Sao Paulo.
    now = int(datetime.datetime(2027, 3, 1, 1, 30, tzinfo=datetime.UTC).timestamp() * 1000)
    day, month = day_and_month_start(now, sao_paulo)
    assert datetime.datetime.fromtimestamp(day / 1000, sao_paulo) == datetime.datetime(2027, 2, 28, tzinfo=sao_paulo)
    assert datetime.datetime.fromtimestamp(month / 1000, sao_paulo) == datetime.datetime(2027, 2, 1, tzinfo=sao_paulo)


def test_month_bounds_cover_december_and_refuse_nonsense() -> None:
    start, end = month_bounds("2026-12", zoneinfo.ZoneInfo("UTC"))
    assert end - start == 31 * 86_400_000
    for bad in ("2026-13", "2026-1", "26-01", "latest"):
        with pytest.raises(InvalidInputError):
            month_bounds(bad, zoneinfo.ZoneInfo("UTC"))
