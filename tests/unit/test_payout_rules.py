"""The payout rules that need no database: which accounts are merchant payables, and what a bank can move."""

from __future__ import annotations

import pytest

from parley.payments.payouts import parse_payable_key, whole_minor_units


@pytest.mark.parametrize(
    ("key", "parsed"),
    [
        ("waba:42:payable:BRL", (42, "BRL")),
        ("waba:42:wallet", None),  # the messaging wallet, billing's
        ("waba:x:payable:BRL", None),
        ("waba:42:payable:REAL", None),
        ("person:42:wallet:BRL", None),
        ("platform:provider:sandbox:BRL", None),
    ],
)
def test_only_merchant_payables_are_paid_out(key: str, parsed: tuple[int, str] | None) -> None:
    assert parse_payable_key(key) == parsed


@pytest.mark.parametrize(
    ("micros", "currency", "paid"),
    [
        (48_005_000, "BRL", 48_000_000),  # the half cent waits
        (48_009_999, "USD", 48_000_000),  # rounded down, never up: the platform never pays what it does not owe
        (1_999_999, "JPY", 1_000_000),  # no minor unit
        (1_234_567, "KWD", 1_234_000),  # three decimals
        (9_999, "BRL", 0),
        (-5_000_000, "BRL", -5_000_000),  # owed: nothing is paid (callers pay only above zero)
    ],
)
def test_a_bank_moveswhole_minor_units_units(micros: int, currency: str, paid: int) -> None:
    assert whole_minor_units(micros, currency) == paid
