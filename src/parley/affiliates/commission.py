"""Commission maths in exact integers: what an affiliate earns on an order, and what a refund claws back.

Both round DOWN to the currency's minor unit (a commission of 5 % on 10.99 BRL is 0.54, not 0.5495): the
merchant never pays a fraction of a cent it could not have paid by hand, and a claw-back never takes back more
than was earned. Claw-backs are computed on the running total refunded, so partial refunds that add up to the
whole order claw back exactly the whole commission, whatever the rounding of each step.
"""

from __future__ import annotations

from parley.kit.money import BPS, MICROS, minor_units

MAX_RATE_BP = 5000  # 50 %: the commission comes out of the merchant's proceeds, which the payments fee also takes


def _step(currency: str) -> int:
    places: int = min(minor_units(currency), 6)
    return int(MICROS // 10**places)


def commission_of(order_total: int, rate_bp: int, currency: str) -> int:
    """`rate_bp` basis points of `order_total` (micros), rounded down to the currency's minor unit."""
    if order_total < 0 or not 0 <= rate_bp <= BPS:
        raise ValueError("an order total is never negative and a rate is 0..10000 basis points")
    step = _step(currency)
    return order_total * rate_bp // BPS // step * step


def clawback_due(amount: int, clawed_back: int, refunded: int, order_total: int, currency: str) -> int:
    """What a refund takes back now: `amount × refunded / order_total` (the order's running refunded total,
    this refund included) less what was already clawed back; rounded down to the minor unit, except that a full
    refund takes back everything left."""
    if order_total <= 0 or not 0 <= refunded <= order_total or not 0 <= clawed_back <= amount:
        raise ValueError("refunded is 0..order_total and clawed_back is 0..amount")
    if refunded == order_total:
        return amount - clawed_back
    step = _step(currency)
    target = amount * refunded // order_total // step * step
    return max(0, target - clawed_back)
