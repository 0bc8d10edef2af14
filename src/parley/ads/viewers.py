"""Who saw an ad, without saying who they are: a viewer is a keyed digest. A signed-in Parley person's viewer id
is derived from their user id (so a view can be attributed to their later conversation); anyone else gets a
random id in a signed first-party cookie. Neither reveals a phone number or user id to a publisher."""

from __future__ import annotations

import hashlib
import hmac
import secrets

VIEWER_COOKIE = "parley_viewer"
_DIGEST = 32  # hex characters kept


class ViewerIds:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def of_person(self, user_id: int) -> str:
        """The viewer id of a Parley person (stable, not reversible without the installation secret)."""
        return self._digest(f"person:{user_id}")

    def anonymous(self) -> str:
        return self._digest("anon:" + secrets.token_urlsafe(16))

    def cookie_value(self, viewer: str) -> str:
        """`viewer.signature`: the cookie a browser carries; only Parley can mint one."""
        return f"{viewer}.{self._digest('cookie:' + viewer)[:16]}"

    def from_cookie(self, value: str | None) -> str | None:
        """The viewer id a cookie names, or None if it is absent or forged."""
        if not value or "." not in value:
            return None
        viewer, _, signature = value.partition(".")
        if len(viewer) != _DIGEST or not hmac.compare_digest(signature, self._digest("cookie:" + viewer)[:16]):
            return None
        return viewer

    def _digest(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()[:_DIGEST]
