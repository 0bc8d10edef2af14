"""Subscription period maths: anniversaries clamp to a short month's last day and come back to the anchor's day;
the platform's cut and pro-rata refunds round down to the currency's minor unit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.subscriptions.periods import (
    DAY_MS,
    anniversary,
    months_since,
    next_period_end,
    platform_cut,
    prorated_refund,
    share_of,
)


def ms(year: int, month: int, day: int, hour: int = 9, minute: int = 30) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()) * 1000


@pytest.mark.parametrize(
    ("anchor", "months", "expected"),
    [
        (ms(2027, 1, 31), 1, ms(2027, 2, 28)),  # 31 Jan -> 28 Feb
        (ms(2028, 1, 31), 1, ms(2028, 2, 29)),  # a leap year: 29 Feb
        (ms(2027, 1, 31), 2, ms(2027, 3, 31)),  # back to the 31st, not stuck on the 28th
        (ms(2027, 1, 31), 3, ms(2027, 4, 30)),
        (ms(2026, 12, 7), 1, ms(2027, 1, 7)),  # over the year end
        (ms(2026, 12, 7), 13, ms(2028, 1, 7)),
        (ms(2027, 8, 30), 6, ms(2028, 2, 29)),
    ],
)
def test_anniversaries_clamp_to_the_month_end(anchor: int, months: int, expected: int) -> None:
    assert anniversary(anchor, months) == expected


def test_milliseconds_of_the_anchor_are_kept() -> None:
    assert anniversary(ms(2027, 5, 3) + 123, 1) == ms(2027, 6, 3) + 123


def test_the_period_after_a_clamped_anniversary_ends_on_the_anchor_day() -> None:
    anchor = ms(2027, 1, 31)
    feb = anniversary(anchor, 1)
    assert months_since(anchor, feb) == 1
    assert next_period_end(anchor, feb) == ms(2027, 3, 31)
    assert next_period_end(anchor, anchor) == feb


@given(st.integers(min_value=ms(2000, 1, 1), max_value=ms(2090, 1, 1)), st.integers(min_value=1, max_value=240))
def test_anniversaries_move_forward_between_28_and_31_days_a_month(anchor: int, months: int) -> None:
    previous, current = anniversary(anchor, months - 1), anniversary(anchor, months)
    assert 28 * DAY_MS <= current - previous <= 31 * DAY_MS
    assert months_since(anchor, current) == months


def test_the_cut_rounds_down_to_the_minor_unit() -> None:
    assert platform_cut(49_900_000, 1000, "BRL") == 4_990_000
    assert platform_cut(49_990_000, 1000, "BRL") == 4_990_000  # 4.999 -> 4.99: the creator gets the rounding
    assert platform_cut(999_000_000, 1000, "JPY") == 99_000_000  # yen have no minor unit
    assert platform_cut(10_000, 10_000, "USD") == 10_000


def test_a_prorated_refund_counts_whole_days_left() -> None:
    start, end = ms(2027, 1, 7), ms(2027, 2, 7)  # 31 days
    assert prorated_refund(49_900_000, start, end, start, "BRL") == 49_900_000
    assert prorated_refund(49_900_000, start, end, start + 1, "BRL") == 49_900_000 * 30 // 31 // 10_000 * 10_000
    assert prorated_refund(49_900_000, start, end, start + 10 * DAY_MS, "BRL") == 33_800_000  # 21/31 -> 33.80
    assert prorated_refund(49_900_000, start, end, end - 1, "BRL") == 0  # the last day has begun
    assert prorated_refund(49_900_000, start, end, end + DAY_MS, "BRL") == 0


def test_the_cut_goes_back_in_proportion() -> None:
    assert share_of(33_800_000, 49_900_000, 4_990_000, "BRL") == 3_380_000
    assert share_of(49_900_000, 49_900_000, 4_990_000, "BRL") == 4_990_000  # all of it back: the whole cut
    assert share_of(1, 0, 5, "BRL") == 0


@given(st.integers(min_value=1, max_value=10**12), st.integers(min_value=0, max_value=10_000))
def test_the_refund_never_exceeds_the_charge_nor_the_cut_back_the_cut(amount: int, bps: int) -> None:
    amount = amount // 10_000 * 10_000 or 10_000
    cut = platform_cut(amount, bps, "BRL")
    start = ms(2027, 3, 1)
    back = prorated_refund(amount, start, anniversary(start, 1), start + 5 * DAY_MS, "BRL")
    assert 0 <= back <= amount and 0 <= share_of(back, amount, cut, "BRL") <= cut
