"""Errors are data: every expected failure is an AppError with an HTTP status and a stable code."""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_client_body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


class InvalidInputError(AppError):
    status = 400
    code = "invalid_request"


class UnauthenticatedError(AppError):
    status = 401
    code = "unauthenticated"


class ForbiddenError(AppError):
    status = 403
    code = "forbidden"


class NotFoundError(AppError):
    status = 404
    code = "not_found"


class ConflictError(AppError):
    status = 409
    code = "conflict"


class IdempotencyKeyReusedError(ConflictError):
    """A retry key (Idempotency-Key, client_id) came back with a different request: refused, nothing sent.

    Stripe refuses such a reuse too. 409 (the key conflicts with the request it was first used for) rather than
    the IETF draft's 422, which Parley's APIs never answer; Graph routes render it as Meta's error 100, 409."""

    code = "idempotency_key_reused"


class PayloadTooLargeError(AppError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaTypeError(AppError):
    status = 415
    code = "unsupported_media_type"


class RateLimitedError(AppError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message, retry_after=retry_after_s)
        self.retry_after_s = retry_after_s


class OverloadedError(AppError):
    """The process has more work waiting than it can finish promptly: refused at once, to be retried later.

    Client routes render it as 503 + Retry-After; Graph routes as Meta's throughput error 130429 + Retry-After."""

    status = 503
    code = "overloaded"

    def __init__(self, message: str = "the server is busy: retry shortly", retry_after_s: int = 1) -> None:
        super().__init__(message, retry_after=retry_after_s)
        self.retry_after_s = retry_after_s
