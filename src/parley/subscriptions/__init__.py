"""Subscriptions: monthly or one-off plans for channels (subscriber-only posts) and paid groups, charged
through Parley Pay with the platform's cut on the ledger."""

from parley.subscriptions.personal_data import (  # rights
    erase_person_in,
    personal_data_in,
)
from parley.subscriptions.repository import ChargeRow, PlanRow, PriceRow, SubscriptionRow
from parley.subscriptions.service import (
    PaidGroupGate,
    PaymentRequiredError,
    SubscriptionChannelAccess,
    SubscriptionService,
)

__all__ = [
    "ChargeRow",
    "PaidGroupGate",
    "PaymentRequiredError",
    "PlanRow",
    "PriceRow",
    "SubscriptionChannelAccess",
    "SubscriptionRow",
    "SubscriptionService",
    "erase_person_in",  # rights
    "personal_data_in",  # rights
]
