"""The inbox's cookies and CSRF checks: the session cookie (HttpOnly, SameSite=Lax, scoped to /inbox), and the
sign-in form's double-submit token (a cookie only our own form page can have set, echoed in a hidden field)."""

from __future__ import annotations

import secrets

from starlette.responses import Response

from parley.kit.errors import ForbiddenError

SESSION_COOKIE = "parley_inbox"
SESSION_MAX_AGE_S = 14 * 24 * 3600
LOGIN_FORM_COOKIE = "parley_inbox_login"
LOGIN_FORM_PATH = "/inbox/login"
_LOGIN_FORM_MAX_AGE_S = 24 * 3600


class CsrfError(ForbiddenError):
    code = "csrf"


def same_token(given: str, expected: str) -> bool:
    """Constant-time comparison; an empty expected token never matches."""
    return bool(expected) and secrets.compare_digest(given.encode(), expected.encode())


def session_cookie(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=SESSION_MAX_AGE_S, httponly=True, samesite="lax", secure=secure, path="/inbox"
    )


def new_login_form_token() -> str:
    return secrets.token_urlsafe(24)


def login_form_cookie(response: Response, token: str, secure: bool) -> None:
    # Strict: another site's page posting our form never carries it, so its forged sign-in has no token to match.
    response.set_cookie(
        LOGIN_FORM_COOKIE,
        token,
        max_age=_LOGIN_FORM_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=secure,
        path=LOGIN_FORM_PATH,
    )


def forget_login_form_cookie(response: Response) -> None:
    response.delete_cookie(LOGIN_FORM_COOKIE, path=LOGIN_FORM_PATH)
