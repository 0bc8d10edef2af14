"""Ad clicks: `/ads/click/{token}` carries a signed token naming the impression it came from; a valid click is
recorded in ONE unit (ad_clicks row, the business's referral_clicks row with the same `ctwa_clid`, and for ad
sets billed on CLICKS its charge: one `ads.spend` transfer keyed by the impression) and sends the browser to the
chat. A replayed token finds its impression's click and gets the same `ctwa_clid` back, charged once."""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from parley.ads import auction
from parley.ads import serving_repository as srepo
from parley.ads.books import spend_transfer_key
from parley.ads.pacing import day_of
from parley.ads.server import AdServer, new_clid
from parley.business import ReferralLinks
from parley.kit.clock import Clock
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.platform.db import Database

TOKEN_TTL_MS = 3_600_000  # a click URL works for an hour after its impression
_SIG = 22  # base64 characters of the HMAC kept (132 bits)


class InvalidClickError(InvalidInputError):
    code = "invalid_click"


@dataclass(frozen=True)
class ClickClaim:
    impression_id: int
    ad_id: int
    ad_set_id: int
    viewer: str
    price: int  # per click, for CLICKS billing (0 otherwise)
    issued_at: int


class ClickTokens:
    """`payload.signature`, both url-safe base64; only this installation can mint one."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def mint(self, claim: ClickClaim) -> str:
        text = f"{claim.impression_id}.{claim.ad_id}.{claim.ad_set_id}.{claim.viewer}.{claim.price}.{claim.issued_at}"
        payload = base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()
        return f"{payload}.{self._sign(payload)}"

    def read(self, token: str, now_ms: int) -> ClickClaim:
        """The claim of a genuine, unexpired token; InvalidClickError otherwise."""
        payload, _, signature = token.partition(".")
        if not payload or len(token) > 400 or not hmac.compare_digest(signature.encode(), self._sign(payload).encode()):
            raise InvalidClickError("this ad link is not valid")
        try:
            text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
            imp, ad, ad_set, viewer, price, issued = text.split(".")
            claim = ClickClaim(int(imp), int(ad), int(ad_set), viewer, int(price), int(issued))
        except ValueError as error:
            raise InvalidClickError("this ad link is not valid") from error
        if not 0 <= now_ms - claim.issued_at <= TOKEN_TTL_MS:
            raise InvalidClickError("this ad link has expired; go back and open the ad again")
        return claim

    def _sign(self, payload: str) -> str:
        digest = hmac.digest(self._secret, payload.encode(), "sha256")  # one-shot: cheaper than hmac.new
        return base64.urlsafe_b64encode(digest).decode()[:_SIG]


@dataclass(frozen=True)
class ClickResult:
    target: str  # /app#chat=…&clid=…&text=…
    ctwa_clid: str
    charged: int
    new: bool


class AdClicks:
    def __init__(self, db: Database, clock: Clock, server: AdServer, links: ReferralLinks, tokens: ClickTokens) -> None:
        self._db, self._clock, self._server, self._links, self._tokens = db, clock, server, links, tokens

    def click_url(self, served_impression: int, ad_id: int, ad_set_id: int, viewer: str, price: int) -> str:
        claim = ClickClaim(served_impression, ad_id, ad_set_id, viewer, price, self._clock.now_ms())
        return f"/ads/click/{self._tokens.mint(claim)}"

    async def click(self, token: str) -> ClickResult:
        now = self._clock.now_ms()
        claim = self._tokens.read(token, now)
        try:
            result, facts = await self._db.write("ads.click", lambda conn: self._click_in(conn, claim, now))
        except IntegrityError:  # the same click committed concurrently: answer with it
            result, facts = await self._db.write("ads.click", lambda conn: self._click_in(conn, claim, now))
        if result.new:
            self._server.note_click(facts.ad_set_id, result.charged, facts.waba_id, facts.account_id)
        return result

    def _click_in(self, conn: Connection, claim: ClickClaim, now: int) -> tuple[ClickResult, srepo.ClickFacts]:
        facts = srepo.click_facts(conn, claim.ad_id)
        if facts is None or facts.ad_set_id != claim.ad_set_id:
            raise NotFoundError("this ad no longer exists")
        ref = str(facts.ad_id)
        existing = srepo.click_of_impression(conn, claim.impression_id)
        if existing is not None:
            target = self._links.ad_click_in(conn, facts.link_code, existing, ref, now, claim.viewer)
            if target is None:
                raise NotFoundError("this ad's chat is no longer available")
            return ClickResult(target, existing, 0, False), facts
        clid = new_clid()
        target = self._links.ad_click_in(conn, facts.link_code, clid, ref, now, claim.viewer)
        if target is None:
            raise NotFoundError("this ad's chat is no longer available")
        charged = 0
        today = day_of(now, facts.timezone).day
        if facts.billing_event == auction.CLICKS and claim.price > 0 and self._budget_left(conn, facts, today):
            key = spend_transfer_key(facts.ad_set_id, claim.impression_id)
            if self._server.charge_in(conn, facts, claim.price, key, claim.impression_id):
                charged = claim.price
        srepo.insert_click(
            conn,
            {
                "ctwa_clid": clid,
                "impression_id": claim.impression_id,
                "ad_id": facts.ad_id,
                "ad_set_id": facts.ad_set_id,
                "campaign_id": facts.campaign_id,
                "account_id": facts.account_id,
                "viewer": claim.viewer,
                "price": charged,
                "created_at": now,
            },
        )
        srepo.add_spend(conn, facts.ad_set_id, today, charged, 0, 1)
        return ClickResult(target, clid, charged, True), facts

    @staticmethod
    def _budget_left(conn: Connection, facts: srepo.ClickFacts, today: str) -> bool:
        """A click is charged only while its ad set has spent less than its budget (the same rule as before an
        impression), so clicks on ads shown earlier pass the budget by at most one click's price."""
        if facts.daily_budget is not None:
            return srepo.spent_of(conn, facts.ad_set_id, today) < facts.daily_budget
        if facts.lifetime_budget is not None:
            return srepo.spent_of(conn, facts.ad_set_id, None) < facts.lifetime_budget
        return True
