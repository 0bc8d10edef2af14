"""A top-up typed in the wallet's currency becomes exact micros, in whole minor units and within the bounds."""

from __future__ import annotations

import pytest

from parley.billing import BillingService, InvalidAmountError
from parley.config import BillingSettings
from parley.kit.clock import FrozenClock
from parley.kit.ids import IdGenerator
from parley.ledger import Ledger
from parley.platform.bus import MemoryBus


def _billing(**settings: str) -> BillingService:
    clock = FrozenClock()
    ids = IdGenerator(clock)
    return BillingService(None, MemoryBus(), clock, ids, Ledger(ids, clock), BillingSettings(**settings))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "currency", "micros"),
    [
        ("25.00", "USD", 25_000_000),
        ("25", "USD", 25_000_000),
        (" 0025.10 ", "USD", 25_100_000),
        ("19.99", "EUR", 19_990_000),
        ("9999.99", "USD", 9_999_990_000),
        ("10000", "USD", 10_000_000_000),
        ("500", "JPY", 500_000_000),
        ("5.125", "KWD", 5_125_000),  # three decimal places in Kuwaiti dinar
        ("0.1", "USD", None),  # below the minimum
    ],
)
def test_amounts_are_exact_micros(text: str, currency: str, micros: int | None) -> None:
    service = _billing()
    if micros is None:
        with pytest.raises(InvalidAmountError, match=r"between 5\.00 and 10000\.00 USD"):
            service.topup_amount(text, currency)
    else:
        assert service.topup_amount(text, currency) == micros


def test_a_sum_of_many_small_amounts_stays_exact() -> None:
    # 0.1 + 0.2 is not 0.3 in floating point; in micros it is.
    service = _billing(topup_min="0.01")
    assert service.topup_amount("0.10", "USD") + service.topup_amount("0.20", "USD") == service.topup_amount(
        "0.30", "USD"
    )


@pytest.mark.parametrize(
    ("text", "currency", "says"),
    [
        ("", "USD", "empty"),
        ("twenty", "USD", "not a decimal number"),
        ("25.001", "USD", "at most 2 decimal places"),
        ("500.5", "JPY", "at most 0 decimal places"),
        ("-25", "USD", "negative"),
        ("2.5e1", "USD", "exponent"),
        ("NaN", "USD", "finite"),
        ("1,000.00", "USD", "not a decimal number"),
        ("10000.01", "USD", "between"),
        ("99999999999999999999", "USD", "too large"),
    ],
)
def test_bad_amounts_say_what_is_wrong(text: str, currency: str, says: str) -> None:
    with pytest.raises(InvalidAmountError, match=says):
        _billing().topup_amount(text, currency)


def test_the_operator_sets_the_bounds() -> None:
    service = _billing(topup_min="100", topup_max="200")
    assert service.topup_amount("150", "USD") == 150_000_000
    with pytest.raises(InvalidAmountError, match=r"between 100\.00 and 200\.00 USD"):
        service.topup_amount("99.99", "USD")
