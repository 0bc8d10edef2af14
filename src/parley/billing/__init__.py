"""Billing: rate cards, volume tiers and the pricing of Business API messages, posted to the ledger."""

from parley.billing.pricing import Quote
from parley.billing.service import (
    PREVIEW_CATEGORIES,
    Balance,
    BillingService,
    DailySpend,
    Estimate,
    InvalidAmountError,
    SendFacts,
    Settlement,
    SpendReport,
    cash_key,
    cost_view,
    local_day,
    promotions_key,
    revenue_key,
    tier_label,
    wallet_key,
)

__all__ = [
    "PREVIEW_CATEGORIES",
    "Balance",
    "BillingService",
    "DailySpend",
    "Estimate",
    "InvalidAmountError",
    "Quote",
    "SendFacts",
    "Settlement",
    "SpendReport",
    "cash_key",
    "cost_view",
    "local_day",
    "promotions_key",
    "revenue_key",
    "tier_label",
    "wallet_key",
]
