"""The inbox session cookie: HttpOnly, SameSite=Lax, scoped to /inbox."""

from __future__ import annotations

from starlette.responses import Response

SESSION_COOKIE = "parley_inbox"
SESSION_MAX_AGE_S = 14 * 24 * 3600


def session_cookie(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=SESSION_MAX_AGE_S, httponly=True, samesite="lax", secure=secure, path="/inbox"
    )
