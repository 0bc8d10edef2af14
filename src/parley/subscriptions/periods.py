"""Subscription period maths: monthly anniversaries (clamped to a short month's last day), the platform's cut, and
the pro-rata refund of an unused period. Pure functions of epoch milliseconds and micros."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

from parley.kit.money import BPS, minor_units

DAY_MS = 86_400_000
_MICROS_PER_MINOR = {0: 1_000_000, 1: 100_000, 2: 10_000, 3: 1_000, 4: 100}


def anniversary(anchor_ms: int, months: int) -> int:
    """`months` months after `anchor_ms` (UTC), on the anchor's day of month or the month's last day when it is
    shorter (a subscription from 31 January renews on 28 or 29 February, then on 31 March), same time of day."""
    anchor = datetime.fromtimestamp(anchor_ms // 1000, UTC)
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    day = min(anchor.day, calendar.monthrange(year, month + 1)[1])
    moved = anchor.replace(year=year, month=month + 1, day=day)
    return int(moved.timestamp()) * 1000 + anchor_ms % 1000


def months_since(anchor_ms: int, at_ms: int) -> int:
    """Whole calendar months from the anchor's month to `at_ms`'s (for an anniversary: its number)."""
    a = datetime.fromtimestamp(anchor_ms // 1000, UTC)
    b = datetime.fromtimestamp(at_ms // 1000, UTC)
    return (b.year - a.year) * 12 + b.month - a.month


def next_period_end(anchor_ms: int, period_start_ms: int) -> int:
    """The end of the monthly period that starts on the anniversary `period_start_ms` (or on the anchor itself)."""
    return anniversary(anchor_ms, months_since(anchor_ms, period_start_ms) + 1)


def minor_step(currency: str) -> int:
    """Micros in one minor unit of the currency (10,000 for BRL's centavo)."""
    return _MICROS_PER_MINOR[minor_units(currency)]


def platform_cut(amount: int, bps: int, currency: str) -> int:
    """The platform's cut of a charge: amount × bps / 10,000, rounded down to the minor unit (the creator gets
    the rounding), never more than the amount."""
    step = minor_step(currency)
    return min(amount, amount * bps // (BPS * step) * step)


def prorated_refund(amount: int, start_ms: int, end_ms: int, now_ms: int, currency: str) -> int:
    """The unused part of a period paid `amount`, by whole days left: amount × days left / days in the period,
    rounded down to the minor unit. Nothing once the period is over; all of it before it began."""
    total_days = max(1, (end_ms - start_ms) // DAY_MS)
    left_days = min(total_days, max(0, (end_ms - max(now_ms, start_ms)) // DAY_MS))
    step = minor_step(currency)
    return amount * left_days // (total_days * step) * step


def share_of(part: int, whole: int, value: int, currency: str) -> int:
    """`value` × part / whole, rounded down to the minor unit (the cut given back with a partial refund)."""
    if whole <= 0:
        return 0
    if part >= whole:
        return value
    step = minor_step(currency)
    return value * part // (whole * step) * step
