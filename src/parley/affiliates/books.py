"""The affiliate lever's ledger accounts.

When an attributed order is captured the commission leaves the merchant's payable for affiliate clearing
(pending: the merchant can no longer pay it out, the affiliate cannot spend it yet); when the refund window
closes it moves from clearing to the affiliate (a person's Parley Pay wallet, a business's payable); a refund
inside the window moves it back to the merchant's payable. The platform's payments commission on the sale is
untouched: the affiliate is paid from the merchant's proceeds.
"""

from __future__ import annotations


def affiliate_clearing_key(currency: str) -> str:
    """Commissions pending their refund window (credit-normal: owed, to an affiliate or back to the merchant)."""
    return f"platform:clearing:affiliates:{currency}"


def commission_key(commission_id: int, step: str) -> str:
    """The ledger key of a commission's step: `held`, `paid`, or `clawback:{refund_id}`."""
    return f"affiliate:{commission_id}:{step}"
