"""Payments through a payment provider: wallet top-ups by card today, Parley Pay for people later.

The provider is a seam (`PaymentProvider`) the container picks; `SandboxPaymentProvider` answers like Stripe's
test mode. Parley keeps its own record of each payment (amount, status, card brand and last four digits, never
the number) and completes it exactly once.
"""

from parley.payments.limits import MarketLimits, PaymentCapError
from parley.payments.provider import (
    DECLINED,
    REQUIRES_CONFIRMATION,
    SANDBOX_DECLINES,
    SANDBOX_SUCCESS_CARD,
    SUCCEEDED,
    CardDetails,
    InvalidCardError,
    PaymentProvider,
    PaymentsUnavailableError,
    ProviderPayment,
    SandboxPaymentProvider,
    SandboxWalletProvider,
    WalletProvider,
    card_brand,
    checked_card,
    luhn_valid,
)
from parley.payments.repository import PaymentRow
from parley.payments.service import CardDeclinedError, PaymentService, ProviderError
from parley.payments.transfers import PersonPayments
from parley.payments.wallets import PaymentFailedError, Wallets

__all__ = [
    "DECLINED",
    "REQUIRES_CONFIRMATION",
    "SANDBOX_DECLINES",
    "SANDBOX_SUCCESS_CARD",
    "SUCCEEDED",
    "CardDeclinedError",
    "CardDetails",
    "InvalidCardError",
    "MarketLimits",
    "PaymentCapError",
    "PaymentFailedError",
    "PaymentProvider",
    "PaymentRow",
    "PaymentService",
    "PaymentsUnavailableError",
    "PersonPayments",
    "ProviderError",
    "ProviderPayment",
    "SandboxPaymentProvider",
    "SandboxWalletProvider",
    "WalletProvider",
    "Wallets",
    "card_brand",
    "checked_card",
    "luhn_valid",
]
