"""Commission maths: a rate of an order's total rounded down to the minor unit, claw-backs in proportion to what
was refunded, never more than was earned, exactly all of it on a full refund."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.affiliates import clawback_due, commission_of

MICROS = 1_000_000


def test_five_percent_of_an_order_rounds_down_to_the_cent() -> None:
    assert commission_of(110 * MICROS, 500, "BRL") == 5_500_000
    assert commission_of(10_990_000, 500, "BRL") == 540_000  # 0.5495 -> 0.54: the merchant never pays a fraction
    assert commission_of(999 * MICROS, 750, "JPY") == 74 * MICROS  # JPY has no minor unit: 74.925 -> 74
    assert commission_of(1_234_567, 1, "KWD") == 0  # 0.000123 KWD is below the fils: nothing


def test_a_rate_outside_zero_to_one_hundred_percent_is_refused() -> None:
    with pytest.raises(ValueError):
        commission_of(MICROS, 10_001, "USD")
    with pytest.raises(ValueError):
        commission_of(-1, 500, "USD")


def test_a_partial_refund_claws_back_in_proportion_and_a_full_one_takes_the_rest() -> None:
    amount, total = 5_500_000, 110 * MICROS
    first = clawback_due(amount, 0, 50 * MICROS, total, "BRL")  # 50 of 110 refunded
    assert first == 2_500_000
    second = clawback_due(amount, first, 60 * MICROS, total, "BRL")  # 10 more: 60 of 110
    assert second == 3_000_000 - first
    assert clawback_due(amount, first + second, total, total, "BRL") == amount - first - second


def test_a_refund_too_small_to_round_to_a_cent_claws_back_nothing_yet() -> None:
    assert clawback_due(540_000, 0, 10_000, 10_990_000, "BRL") == 0


@given(
    total_cents=st.integers(min_value=1, max_value=10**9),
    rate_bp=st.integers(min_value=1, max_value=5000),
    cuts=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=8),
)
def test_partial_refunds_adding_up_to_the_order_claw_back_exactly_the_commission(
    total_cents: int, rate_bp: int, cuts: list[int]
) -> None:
    total = total_cents * 10_000
    amount = commission_of(total, rate_bp, "USD")
    refunded = clawed = 0
    steps = sorted({min(total, c * 10_000) for c in cuts} | {total})
    for step in steps:
        refunded = step
        due = clawback_due(amount, clawed, refunded, total, "USD")
        assert due >= 0
        clawed += due
        assert clawed <= amount
        assert clawed <= amount * refunded // total or refunded == total  # never ahead of the refunded share
    assert clawed == amount
