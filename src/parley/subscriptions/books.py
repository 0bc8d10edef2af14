"""The subscriptions lever's ledger accounts (channel subscriptions and paid groups).

A charge moves the subscriber's Parley Pay wallet → subscriptions clearing, then clearing → the creator (their
Parley Pay wallet for a person, the business's payable for a business, paid out as merchants are) and clearing →
`platform:revenue:subscriptions:{CUR}` (the platform's cut). A refund mirrors the three, so the cut goes back too.
"""

from __future__ import annotations

LEVER = "subscriptions"


def subscriptions_clearing_key(currency: str) -> str:
    """A subscription charge between the subscriber's payment and its split (debit-normal, back to zero)."""
    return f"platform:clearing:subscriptions:{currency}"


def subscriptions_revenue_key(currency: str) -> str:
    """The platform's cut of subscriptions (the revenue report reads `platform:revenue:{lever}:{CUR}`)."""
    return f"platform:revenue:{LEVER}:{currency}"


def charge_key(subscription_id: int, period: int, attempt: int) -> str:
    """The ledger key stem of one charge attempt: a retried unit moves nothing twice."""
    return f"subscription:{subscription_id}:period:{period}:attempt:{attempt}"
