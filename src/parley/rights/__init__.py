"""People's rights over their data: export everything held about them, and erase their account."""

from parley.rights.errors import NotErasableError, WalletNotEmptyError, WrongConfirmationError
from parley.rights.service import ErasureSummary, ExportSummary, RightsService

__all__ = [
    "ErasureSummary",
    "ExportSummary",
    "NotErasableError",
    "RightsService",
    "WalletNotEmptyError",
    "WrongConfirmationError",
]
