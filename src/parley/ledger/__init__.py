"""The double-entry ledger every money lever posts to (messaging charges today; ads, payments later)."""

from parley.ledger.models import CREDIT, DEBIT, EXPIRE, PENDING, POST, POSTED, VOID
from parley.ledger.repository import AccountRow, TransferRow
from parley.ledger.service import (
    Check,
    HoldResolvedError,
    InsufficientFundsError,
    Ledger,
    LedgerService,
    TransferConflictError,
    VerifyReport,
    verify_journal,
)

__all__ = [
    "CREDIT",
    "DEBIT",
    "EXPIRE",
    "PENDING",
    "POST",
    "POSTED",
    "VOID",
    "AccountRow",
    "Check",
    "HoldResolvedError",
    "InsufficientFundsError",
    "Ledger",
    "LedgerService",
    "TransferConflictError",
    "TransferRow",
    "VerifyReport",
    "verify_journal",
]
