"""Account errors."""

from parley.kit.errors import AppError, ForbiddenError, InvalidInputError, NotFoundError, UnauthenticatedError


class InvalidTokenError(UnauthenticatedError):
    code = "invalid_token"


class WrongCodeError(InvalidInputError):
    code = "wrong_code"


class CodeExpiredError(InvalidInputError):
    code = "code_expired"


class TooManyAttemptsError(ForbiddenError):
    code = "too_many_attempts"


class UserNotFoundError(NotFoundError):
    code = "user_not_found"


class DeviceNotFoundError(NotFoundError):
    code = "device_not_found"


class CodeNotSentError(AppError):
    status = 503
    code = "code_not_sent"
