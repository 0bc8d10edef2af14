"""Payments through a payment provider: wallet top-ups by card today, Parley Pay for people later.

The provider is a seam (`PaymentProvider`) the container picks; `SandboxPaymentProvider` answers like Stripe's
test mode. Parley keeps its own record of each payment (amount, status, card brand and last four digits, never
the number) and completes it exactly once.

Parley Pay's back office lives here too: payouts of merchants' payables to their banks (`Payouts`, a bank seam
with a sandbox), card-network disputes (`Disputes`), the provider-to-ledger reconciliation report (`reconcile`)
and merchants' monthly statements (`merchant_statement`); see docs/payouts.md.
"""

from parley.payments.disputes import DisputeNotFoundError, DisputeObserver, DisputeRow, Disputes
from parley.payments.fees import FeeSchedule
from parley.payments.limits import MarketLimits, PaymentCapError
from parley.payments.merchant import MerchantPayments
from parley.payments.merchant_repository import OrderRow, RefundRow
from parley.payments.merchant_statements import MerchantStatement, merchant_statement, payable_currencies
from parley.payments.payouts import (
    BankRefusedError,
    BankUnavailableError,
    PayableView,
    PayoutBank,
    PayoutRow,
    PayoutRun,
    Payouts,
    PayoutsUnavailableError,
    SandboxBank,
)
from parley.payments.personal_data import (  # rights
    erase_person_in,
    personal_data_in,
)
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
from parley.payments.reconcile import Mismatch, ReconcileReport, reconcile
from parley.payments.repository import PaymentRow
from parley.payments.sandbox_store import SandboxStore
from parley.payments.service import CardDeclinedError, PaymentService, ProviderError
from parley.payments.transfers import PersonPayments
from parley.payments.wallets import PaymentFailedError, Wallets

__all__ = [
    "DECLINED",
    "REQUIRES_CONFIRMATION",
    "SANDBOX_DECLINES",
    "SANDBOX_SUCCESS_CARD",
    "SUCCEEDED",
    "BankRefusedError",
    "BankUnavailableError",
    "CardDeclinedError",
    "CardDetails",
    "DisputeNotFoundError",
    "DisputeObserver",
    "DisputeRow",
    "Disputes",
    "FeeSchedule",
    "InvalidCardError",
    "MarketLimits",
    "MerchantPayments",
    "MerchantStatement",
    "Mismatch",
    "OrderRow",
    "PayableView",
    "PaymentCapError",
    "PaymentFailedError",
    "PaymentProvider",
    "PaymentRow",
    "PaymentService",
    "PaymentsUnavailableError",
    "PayoutBank",
    "PayoutRow",
    "PayoutRun",
    "Payouts",
    "PayoutsUnavailableError",
    "PersonPayments",
    "ProviderError",
    "ProviderPayment",
    "ReconcileReport",
    "RefundRow",
    "SandboxBank",
    "SandboxPaymentProvider",
    "SandboxStore",
    "SandboxWalletProvider",
    "WalletProvider",
    "Wallets",
    "card_brand",
    "checked_card",
    "erase_person_in",  # rights
    "luhn_valid",
    "merchant_statement",
    "payable_currencies",
    "personal_data_in",  # rights
    "reconcile",
]
