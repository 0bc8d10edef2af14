"""Click-to-chat links `/c/{code}?ref=...`: each click gets a `ctwa_clid`; the person's first message
carrying it reaches the business with a `referral` and opens the free-entry-point path (policy.py)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection

from parley.business import repository as repo
from parley.config import LinkSettings
from parley.graph import GraphError
from parley.kit.clock import Clock
from parley.kit.errors import NotFoundError, RateLimitedError
from parley.platform.db import Database
from parley.platform.ratelimit import RateLimiter

_LIMITS = {"source_url": 512, "source_id": 64, "headline": 256, "body": 1024, "prefilled_text": 1024}


class ReferralLinks:
    """Following a link (`GET /c/{code}`): one stored click per visitor and window, a bounded rate per address.

    A visitor is the client address with its user agent, kept only as a keyed digest. A repeated click within
    `click_dedup_window_s` gets the first click's id back and stores nothing, so counts are people rather than
    page loads; more than `clicks_per_address` clicks per `click_window_s` from one address are a 429.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        rate_limiter: RateLimiter,
        settings: LinkSettings,
        secret: bytes,
        public_url: str,
    ) -> None:
        self._db, self._clock, self._limiter = db, clock, rate_limiter
        self._settings = settings
        self._secret = secret
        self._public_url = public_url.rstrip("/")

    def _visitor(self, code: str, address: str, user_agent: str) -> str:
        key = f"{code}\n{address}\n{user_agent[:512]}".encode()
        return hmac.new(self._secret, key, hashlib.sha256).hexdigest()[:32]

    async def follow(self, code: str, ref: str, address: str, user_agent: str) -> str:
        """Count the click (once per visitor and window) and send the browser to the web client, opened on the
        business's chat."""
        limit, window = self._settings.clicks_per_address, self._settings.click_window_s
        retry = await self._limiter.hit(f"link-click:{address}", limit, window)
        if retry is not None:
            raise RateLimitedError(f"too many link clicks from this address; try again in {retry} s", retry)
        visitor = self._visitor(code, address, user_agent)
        now = self._clock.now_ms()
        since = now - self._settings.click_dedup_window_s * 1000

        def unit(conn: Connection) -> tuple[repo.ReferralLinkRow, str, str] | None:
            link = repo.get_referral_link(conn, code)
            if link is None:
                return None
            number = repo.get_number(conn, link.phone_number_id)
            if number is None:
                return None
            clid = repo.recent_click_of(conn, code, visitor, since)
            if clid is None:
                clid = "PRL" + secrets.token_urlsafe(24)
                repo.insert_click(conn, clid, code, ref, now, visitor)
            return link, number.display_phone_number, clid

        found = await self._db.write("business.follow", unit)
        if found is None:
            raise NotFoundError("this link does not exist")
        link, phone, clid = found
        target = f"/app#chat={quote(phone)}&clid={quote(clid)}"
        if link.prefilled_text:
            target += f"&text={quote(link.prefilled_text)}"
        return target

    async def create_link(self, number_id: int, body: Any) -> dict[str, Any]:
        """A click-to-chat link of an ad or post (`ref` and the texts a referral carries)."""
        if not isinstance(body, dict):
            raise GraphError(100, "the request body must be a JSON object")
        values: dict[str, str] = {}
        for name, limit in _LIMITS.items():
            value = body.get(name, "")
            if not isinstance(value, str) or len(value) > limit:
                raise GraphError(100, f"{name} must be a string of at most {limit} characters")
            values[name] = value
        source_type = body.get("source_type", "ad")
        if source_type not in ("ad", "post"):
            raise GraphError(100, "source_type must be 'ad' or 'post'")
        code = secrets.token_urlsafe(6)
        now = self._clock.now_ms()
        public = self._public_url
        row = repo.ReferralLinkRow(
            code=code,
            phone_number_id=number_id,
            source_type=source_type,
            source_id=values["source_id"] or code,
            source_url=values["source_url"] or f"{public}/c/{code}",
            headline=values["headline"],
            body=values["body"],
            prefilled_text=values["prefilled_text"],
            created_at=now,
        )
        await self._db.write("business.create_link", lambda c: repo.insert_referral_link(c, row))
        return {"code": code, "url": f"{public}/c/{code}", "source_id": row.source_id}

    def create_ad_link_in(self, conn: Connection, number_id: int, ad_id: int, creative: dict[str, str]) -> str:
        """The click-to-chat link of an ad, in the caller's unit (the ad and its link exist together or not at all).
        `creative`: headline, body, prefilled_text, media_type, image_url, video_url, thumbnail_url,
        welcome_message. Returns the link's code."""
        code = secrets.token_urlsafe(12)
        row = repo.ReferralLinkRow(
            code=code,
            phone_number_id=number_id,
            source_type="ad",
            source_id=str(ad_id),
            source_url=f"{self._public_url}/c/{code}",
            created_at=self._clock.now_ms(),
            **_ad_link_texts(creative),
        )
        repo.insert_referral_link(conn, row)
        return code

    def update_ad_link_in(self, conn: Connection, code: str, creative: dict[str, str]) -> None:
        """Keep an ad's link in step with its edited creative (same keys as `create_ad_link_in`)."""
        repo.update_referral_link(conn, code, _ad_link_texts(creative))

    def link_url(self, code: str) -> str:
        return f"{self._public_url}/c/{code}"

    def ad_click_in(
        self, conn: Connection, code: str, clid: str, ref: str, now: int, visitor: str | None
    ) -> str | None:
        """Inside the caller's unit: store an ad's click `clid` on its link (None when the link or its number is
        gone) and answer the web client's chat address, as `follow` does; `clid` already stored: no new row."""
        link = repo.get_referral_link(conn, code)
        number = None if link is None else repo.get_number(conn, link.phone_number_id)
        if link is None or number is None:
            return None
        if not repo.click_exists(conn, clid):
            repo.insert_click(conn, clid, code, ref, now, visitor)
        target = f"/app#chat={quote(number.display_phone_number)}&clid={quote(clid)}"
        if link.prefilled_text:
            target += f"&text={quote(link.prefilled_text)}"
        return target


def _ad_link_texts(creative: dict[str, str]) -> dict[str, str]:
    keys = ("headline", "body", "prefilled_text", "media_type", "image_url", "video_url", "thumbnail_url")
    values = {key: creative.get(key, "")[:512] for key in keys}
    values["welcome_message"] = creative.get("welcome_message", "")[:1024]
    return values
