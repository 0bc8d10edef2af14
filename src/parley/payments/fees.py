"""Parley Pay's fee schedule: the commission on a merchant payment, rounded half-up to the currency's minor unit.

Rounding rule: fee = amount × bps / 10,000, rounded half-up (halves away from zero) to the currency's minor unit
(R$ 0.01 for BRL), never more than the amount; the merchant gets amount − fee, so fee + net == amount exactly.
A refund gives back the fee in proportion: fee_refund = fee × refund / amount, rounded the same way and never more
than the fee still kept; the refund that empties the payment takes exactly the fee that is left, so a payment
refunded in any number of parts returns its whole fee. Person-to-person payments carry no fee.
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.config import PaymentFeeSettings
from parley.kit.money import BPS, divide_half_up, minor_units

_MICROS_PER_MINOR = {0: 1_000_000, 1: 100_000, 2: 10_000, 3: 1_000, 4: 100}


@dataclass(frozen=True)
class FeeSchedule:
    """Basis points per market or market/merchant category; `default_bps` elsewhere."""

    merchant_bps: dict[str, int]
    default_bps: int = 0

    @classmethod
    def from_settings(cls, settings: PaymentFeeSettings) -> FeeSchedule:
        for key, bps in settings.merchant_bps.items():
            if not 0 <= bps <= BPS:
                raise ValueError(f"the fee for {key!r} must be 0 to {BPS} bps, not {bps}")
        return cls(dict(settings.merchant_bps), settings.default_bps)

    def merchant_rate(self, market: str, category: str | None) -> int:
        """The rate (bps) for a merchant payment in `market` (ISO country) for a merchant `category`."""
        if category is not None and f"{market}/{category}" in self.merchant_bps:
            return self.merchant_bps[f"{market}/{category}"]
        return self.merchant_bps.get(market, self.default_bps)

    def merchant_fee(self, amount: int, currency: str, market: str, category: str | None) -> int:
        return fee_of(amount, self.merchant_rate(market, category), currency)

    @staticmethod
    def p2p_fee(amount: int, currency: str) -> int:
        """Person-to-person transfers are free everywhere (as WhatsApp Pay's are)."""
        return 0


def _step(currency: str) -> int:
    return _MICROS_PER_MINOR[minor_units(currency)]


def fee_of(amount: int, bps: int, currency: str) -> int:
    """The fee on `amount` micros at `bps`, half-up to the minor unit, at most the amount."""
    if amount < 0:
        raise ValueError("a payment is never negative")
    if not 0 <= bps <= BPS:
        raise ValueError(f"a fee rate is 0 to {BPS} bps, not {bps}")
    step = _step(currency)
    return min(amount, divide_half_up(amount * bps, BPS * step) * step)


def fee_refund(fee: int, amount: int, refunded: int, fee_refunded: int, refund: int, currency: str) -> int:
    """The part of `fee` a refund of `refund` micros returns, given what earlier refunds already returned."""
    if not 0 < refund <= amount - refunded:
        raise ValueError(f"a refund must be 1 to {amount - refunded} micros, not {refund}")
    left = fee - fee_refunded
    if refund == amount - refunded:
        return left  # the last refund takes exactly the rest
    step = _step(currency)
    return min(left, divide_half_up(fee * refund, amount * step) * step)
