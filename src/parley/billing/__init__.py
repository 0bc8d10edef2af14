"""Billing: rate cards, volume tiers and the pricing of Business API messages, posted to the ledger."""

from parley.billing.pricing import Quote
from parley.billing.service import (
    Balance,
    BillingService,
    Estimate,
    MarketRates,
    RateSheet,
    SendFacts,
    Settlement,
    cash_key,
    local_day,
    promotions_key,
    revenue_key,
    tier_label,
    wallet_key,
)

__all__ = [
    "Balance",
    "BillingService",
    "Estimate",
    "MarketRates",
    "Quote",
    "RateSheet",
    "SendFacts",
    "Settlement",
    "cash_key",
    "local_day",
    "promotions_key",
    "revenue_key",
    "tier_label",
    "wallet_key",
]
