"""Channel errors: each an AppError with its HTTP status and a stable code."""

from __future__ import annotations

from parley.kit.errors import AppError, ConflictError, ForbiddenError, InvalidInputError, NotFoundError


class ChannelNotFoundError(NotFoundError):
    code = "channel_not_found"


class PostNotFoundError(NotFoundError):
    code = "post_not_found"


class NotChannelAdminError(ForbiddenError):
    code = "not_channel_admin"


class NotChannelOwnerError(ForbiddenError):
    code = "not_channel_owner"


class InvalidChannelError(InvalidInputError):
    code = "invalid_channel"


class InvalidPostError(InvalidInputError):
    code = "invalid_post"


class AlreadyReactedError(ConflictError):
    code = "already_reacted"


class AlreadyVotedError(ConflictError):
    code = "already_voted"


class TooManyAdminsError(ConflictError):
    code = "too_many_admins"


class AdminInviteExpiredError(AppError):
    status = 410
    code = "invite_expired"
