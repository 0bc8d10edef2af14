"""The double-entry ledger every money lever posts to (messaging charges today; ads, payments later)."""

from parley.ledger.models import CREDIT, DEBIT, EXPIRE, PENDING, POST, POSTED, VOID
from parley.ledger.personal_data import (  # rights
    PersonBalance,
    person_balances_in,
    personal_data_in,
)
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
    "PersonBalance",  # rights
    "TransferConflictError",
    "TransferRow",
    "VerifyReport",
    "person_balances_in",  # rights
    "personal_data_in",  # rights
    "verify_journal",
]
