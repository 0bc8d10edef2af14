"""Why an erasure is refused."""

from __future__ import annotations

from parley.kit.errors import ConflictError, InvalidInputError


class WalletNotEmptyError(ConflictError):
    """Money is still owed to the person: erasing them would leave it with no one to claim it."""

    code = "wallet_not_empty"


class NotErasableError(ConflictError):
    """Business numbers are closed by their business, not erased as a person."""

    code = "not_erasable"


class WrongConfirmationError(InvalidInputError):
    """The number typed to confirm is not this account's."""

    code = "wrong_confirmation"
