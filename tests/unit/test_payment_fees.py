"""Parley Pay's fee schedule: exact integer fees, half-up to the minor unit, refunds returning the fee in proportion."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parley.config import PaymentFeeSettings
from parley.payments.fees import FeeSchedule, fee_of, fee_refund

CENTAVO = 10_000  # micros
amounts = st.integers(min_value=0, max_value=10**15)
rates = st.integers(min_value=0, max_value=10_000)


def test_brazil_merchant_payments_cost_3_99_percent_by_default_and_p2p_is_free() -> None:
    schedule = FeeSchedule.from_settings(PaymentFeeSettings())
    assert schedule.merchant_rate("BR", "physical-goods") == 399
    assert schedule.merchant_fee(110_000_000, "BRL", "BR", None) == 4_390_000  # R$ 4.389 -> R$ 4.39
    assert schedule.merchant_fee(110_000_000, "INR", "IN", "digital-goods") == 0
    assert schedule.p2p_fee(110_000_000, "BRL") == 0


def test_the_most_specific_rate_wins() -> None:
    schedule = FeeSchedule.from_settings(
        PaymentFeeSettings(merchant_bps={"IN": 100, "IN/digital-goods": 150}, default_bps=50)
    )
    assert schedule.merchant_rate("IN", "digital-goods") == 150
    assert schedule.merchant_rate("IN", "physical-goods") == 100
    assert schedule.merchant_rate("MX", None) == 50


def test_halves_round_up_to_the_minor_unit() -> None:
    assert fee_of(125_000, 4_000, "BRL") == 50_000  # 0.05 exactly
    assert fee_of(12_500, 4_000, "BRL") == 10_000  # 0.005 -> 0.01
    assert fee_of(12_499, 4_000, "BRL") == 0  # 0.0049996 -> 0.00
    assert fee_of(1_000_000, 399, "JPY") == 0  # ¥0.0399 -> ¥0


@given(amount=amounts, bps=rates)
def test_fee_plus_net_is_the_amount_and_the_fee_is_a_whole_minor_unit_or_all(amount: int, bps: int) -> None:
    fee = fee_of(amount, bps, "BRL")
    net = amount - fee
    assert fee + net == amount
    assert 0 <= fee <= amount and net >= 0
    assert fee % CENTAVO == 0 or fee == amount
    # Never more than half a centavo from the exact commission (unless capped at the amount).
    assert fee == amount or abs(fee * 10_000 - amount * bps) <= CENTAVO * 10_000 // 2


@given(a=amounts, b=amounts, bps=rates)
def test_the_fee_never_falls_when_the_amount_rises(a: int, b: int, bps: int) -> None:
    low, high = sorted((a, b))
    assert fee_of(low, bps, "BRL") <= fee_of(high, bps, "BRL")


@given(amount=amounts, low=rates, high=rates)
def test_the_fee_never_falls_when_the_rate_rises(amount: int, low: int, high: int) -> None:
    low, high = sorted((low, high))
    assert fee_of(amount, low, "BRL") <= fee_of(amount, high, "BRL")


@given(
    centavos=st.integers(min_value=1, max_value=10**8),
    bps=rates,
    parts=st.lists(st.integers(min_value=1, max_value=10**8), min_size=1, max_size=8),
)
def test_refunds_in_any_parts_return_exactly_the_fee(centavos: int, bps: int, parts: list[int]) -> None:
    # Order amounts and refunds are whole centavos (Meta's offset 100).
    amount = centavos * CENTAVO
    parts = [part * CENTAVO for part in parts]
    fee = fee_of(amount, bps, "BRL")
    refunded = fee_back = 0
    for part in parts:
        left = amount - refunded
        if left == 0:
            break
        refund = min(part, left)
        back = fee_refund(fee, amount, refunded, fee_back, refund, "BRL")
        assert 0 <= back <= fee - fee_back
        assert back <= refund  # the merchant never gives back a negative share
        refunded, fee_back = refunded + refund, fee_back + back
    if refunded < amount:
        fee_back += fee_refund(fee, amount, refunded, fee_back, amount - refunded, "BRL")
    assert fee_back == fee


def test_a_partial_refund_returns_the_fee_in_proportion_half_up() -> None:
    # 4.39 × 33 / 110 = 1.317 -> 1.32
    assert fee_refund(4_390_000, 110_000_000, 0, 0, 33_000_000, "BRL") == 1_320_000
    # the last refund takes exactly the rest
    assert fee_refund(4_390_000, 110_000_000, 33_000_000, 1_320_000, 77_000_000, "BRL") == 3_070_000
