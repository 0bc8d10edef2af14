"""Billing: rate cards, volume tiers and the pricing of Business API messages, posted to the ledger."""

from parley.billing.books import cash_key, local_day, promotions_key, revenue_key, wallet_key
from parley.billing.pricing import Quote
from parley.billing.service import (
    PREVIEW_CATEGORIES,
    Balance,
    BillingService,
    DailySpend,
    Estimate,
    InvalidAmountError,
    MarketRates,
    RateSheet,
    SendFacts,
    Settlement,
    SpendReport,
    cost_view,
    tier_label,
)

__all__ = [
    "PREVIEW_CATEGORIES",
    "Balance",
    "BillingService",
    "DailySpend",
    "Estimate",
    "InvalidAmountError",
    "MarketRates",
    "Quote",
    "RateSheet",
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
