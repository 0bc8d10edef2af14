"""The ads lever's ledger account keys: an advertiser pays from its business wallet (prepaid balance and credit
line, the same account message charges use) into the platform's ads revenue."""

from __future__ import annotations

LEVER = "ads"


def advertiser_wallet_key(waba_id: int) -> str:
    """The business wallet an ad account spends from (billing's `waba:{id}:wallet`, credit-normal)."""
    return f"waba:{waba_id}:wallet"


def ads_revenue_key(currency: str) -> str:
    """What the platform earns from ads (the revenue report's `ads` lever)."""
    return f"platform:revenue:{LEVER}:{currency}"


def spend_transfer_key(ad_set_id: int, batch_id: int) -> str:
    """One ledger transfer per ad set per flushed batch of billed events (impressions or clicks)."""
    return f"ads:spend:{ad_set_id}:{batch_id}"
