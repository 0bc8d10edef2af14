"""Parley Pay's ledger account keys: every payment lever posts between these accounts on the one journal.

Money in flight sits in clearing; what the platform owes people and merchants sits in their wallets and payables
(credit-normal); what it keeps is revenue of the `payments` lever (`platform:revenue:payments:{CUR}`, the key the
revenue report reads).
"""

from __future__ import annotations

from sqlalchemy import Connection

from parley.ledger import CREDIT, AccountRow, Ledger

LEVER = "payments"


def person_wallet_key(user_id: int, currency: str) -> str:
    """What the platform owes a person in `currency` (credit-normal, never below zero)."""
    return f"person:{user_id}:wallet:{currency}"


def provider_clearing_key(provider: str, currency: str) -> str:
    """Money held at the payment provider for the platform (debit-normal): card/UPI/Pix in, bank payouts out."""
    return f"platform:provider:{provider}:{currency}"


def payments_clearing_key(currency: str) -> str:
    """A payment between capture and its split into the merchant's payable and the platform's fee."""
    return f"platform:clearing:payments:{currency}"


def merchant_payable_key(waba_id: int, currency: str) -> str:
    """What the platform owes a merchant (credit-normal) until a payout moves it to the merchant's bank."""
    return f"waba:{waba_id}:payable:{currency}"


def payments_revenue_key(currency: str) -> str:
    """The platform's commission on merchant payments (same shape as billing's `revenue_key`)."""
    return f"platform:revenue:{LEVER}:{currency}"


def open_person_wallet_in(journal: Ledger, conn: Connection, user_id: int, currency: str) -> AccountRow:
    """A person's Parley Pay wallet in `currency`, opened on first use; it never goes below zero."""
    return journal.open_account(
        conn,
        person_wallet_key(user_id, currency),
        currency=currency,
        normal_side=CREDIT,
        kind="person_wallet",
        owner_id=user_id,
        floor_limit=0,
    )


def open_merchant_payable_in(journal: Ledger, conn: Connection, waba_id: int, currency: str) -> AccountRow:
    """A business's payable in `currency` (what payouts pay to its bank), opened on first use; no floor, since a
    chargeback may take it below zero."""
    return journal.open_account(
        conn,
        merchant_payable_key(waba_id, currency),
        currency=currency,
        normal_side=CREDIT,
        kind="merchant_payable",
        owner_id=waba_id,
    )
