"""Payments through a payment provider: wallet top-ups by card today, Parley Pay for people later.

The provider is a seam (`PaymentProvider`) the container picks; `SandboxPaymentProvider` answers like Stripe's
test mode. Parley keeps its own record of each payment (amount, status, card brand and last four digits, never
the number) and completes it exactly once.
"""

from parley.payments.fees import FeeSchedule
from parley.payments.merchant import MerchantPayments
from parley.payments.merchant_repository import OrderRow
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
    card_brand,
    checked_card,
    luhn_valid,
)
from parley.payments.repository import PaymentRow
from parley.payments.service import CardDeclinedError, PaymentService, ProviderError

__all__ = [
    "DECLINED",
    "REQUIRES_CONFIRMATION",
    "SANDBOX_DECLINES",
    "SANDBOX_SUCCESS_CARD",
    "SUCCEEDED",
    "CardDeclinedError",
    "CardDetails",
    "FeeSchedule",
    "InvalidCardError",
    "MerchantPayments",
    "OrderRow",
    "PaymentProvider",
    "PaymentRow",
    "PaymentService",
    "PaymentsUnavailableError",
    "ProviderError",
    "ProviderPayment",
    "SandboxPaymentProvider",
    "card_brand",
    "checked_card",
    "luhn_valid",
]
