"""Affiliate programs, links and clicks: what merchants set, what affiliates create and share, what a click records.

Money does not move here (see `commissions.py`): a program is a merchant's terms, a link a code that names the
affiliate, a click a row that attribution reads when the person's order is captured.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import segno
from sqlalchemy import Connection

from parley.affiliates import repository as repo
from parley.affiliates.repository import ClickRow, LinkRow, LinkStats, ProgramRow
from parley.affiliates.schemas import ProgramInput, parse_product, parse_program
from parley.business import BusinessNumbers
from parley.commerce import Catalogs, ProductRow
from parley.config import LinkSettings
from parley.kit.clock import Clock
from parley.kit.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError, RateLimitedError
from parley.kit.ids import IdGenerator, parse_id
from parley.kit.money import format_amount, minor_units
from parley.platform.db import Database
from parley.platform.ratelimit import RateLimiter

PERSON, BUSINESS = "person", "business"
DAY_MS = 86_400_000
CLAIM_TTL_MS = DAY_MS  # a click is bound to the signed-in person right after the landing page, or never
_CODE_BYTES = 12  # secrets.token_urlsafe(12): 16 characters, 96 random bits
_SIGNATURE = 24  # hex characters of a claim token's HMAC kept (96 bits)
MAX_PICKABLE_PRODUCTS = 200  # per program in the affiliate's product picker (the catalog's oldest active ones)
INVALID_LINK = "This link is not valid: it may have been mistyped or withdrawn by the person who shared it."


class InvalidLinkError(NotFoundError):
    code = "invalid_affiliate_link"


class SelfReferralError(ForbiddenError):
    code = "self_referral"


class NoProgramError(NotFoundError):
    code = "no_affiliate_program"


class UnknownProductError(InvalidInputError):
    code = "unknown_product"


@dataclass(frozen=True)
class Merchant:
    waba_id: int
    name: str
    phone: str  # the business's first number, where its chat and shop open


@dataclass(frozen=True)
class Landing:
    """What `/r/{code}` shows and where it sends the person."""

    merchant: Merchant
    product: str | None
    claim_token: str
    target: str  # /app#chat=+… : the merchant's chat, with its shop


def money_view(sums: dict[str, int], currency: str) -> dict[str, str]:
    places = minor_units(currency)
    return {name: format_amount(value, places) for name, value in sums.items()}


def _stats_view(stats: LinkStats) -> dict[str, Any]:
    money = stats.money or {}
    return {
        "clicks": stats.clicks,
        "purchases": stats.purchases,
        "commissions": {cur: money_view(sums, cur) for cur, sums in sorted(money.items())},
    }


def _totals(stats: list[LinkStats]) -> dict[str, Any]:
    total = LinkStats()
    money: dict[str, dict[str, int]] = {}
    for s in stats:
        total.clicks += s.clicks
        total.purchases += s.purchases
        for cur, sums in (s.money or {}).items():
            into = money.setdefault(cur, {"pending": 0, "paid": 0, "clawed_back": 0})
            for name, value in sums.items():
                into[name] += value
    total.money = money
    return _stats_view(total)


def merchant_totals_view(totals: dict[str, dict[str, int]]) -> dict[str, dict[str, Any]]:
    """Per currency: pending, paid and clawed-back amounts (currency units) and the number of purchases."""
    out: dict[str, dict[str, Any]] = {}
    for cur, sums in sorted(totals.items()):
        amounts = {name: value for name, value in sums.items() if name != "purchases"}
        out[cur] = {**money_view(amounts, cur), "purchases": sums["purchases"]}
    return out


def product_choice(product: ProductRow, now_ms: int) -> dict[str, Any]:
    """A catalog product as the affiliate's picker shows it: its name and what one costs now."""
    price = product.unit_price(now_ms)
    return {
        "retailer_id": product.retailer_id,
        "title": product.title,
        "currency": product.currency,
        "price": price,
        "price_text": f"{format_amount(price, minor_units(product.currency))} {product.currency}",
    }


def program_view(program: ProgramRow) -> dict[str, Any]:
    return {
        "id": str(program.id),
        "waba_id": str(program.waba_id),
        "rate_bp": program.rate_bp,
        "rate_percent": format_amount(program.rate_bp * 10_000, 2),  # basis points -> percent: 500 -> "5.00"
        "window_days": program.window_days,
        "hold_days": program.hold_days,
        "terms": program.terms,
        "active": program.active,
        "created_time": program.created_at // 1000,
        "updated_time": program.updated_at // 1000,
    }


class AffiliatePrograms:
    """Programs (merchants), links (affiliates), clicks (anyone with a link) and what each side sees of them."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        numbers: BusinessNumbers,
        catalogs: Catalogs,
        rate_limiter: RateLimiter,
        link_settings: LinkSettings,
        secret: bytes,
        public_url: str,
    ) -> None:
        self._db, self._clock, self._ids, self._numbers, self._catalogs = db, clock, ids, numbers, catalogs
        self._limiter, self._links = rate_limiter, link_settings
        self._secret, self._public_url = secret, public_url.rstrip("/")

    # --- merchants -----------------------------------------------------------------------------------------

    async def merchant(self, waba_id: int) -> Merchant | None:
        """The business as affiliates see it: its first number's name and phone (None: it has no number)."""
        ids = await self._numbers.ids_of_waba(waba_id)
        number = await self._numbers.get(min(ids)) if ids else None
        if number is None:
            return None
        return Merchant(waba_id, number.verified_name, "+" + number.display_phone_number.lstrip("+"))

    async def set_program(self, waba_id: int, params: dict[str, Any]) -> dict[str, Any]:
        """Create or change the merchant's one program; a change applies to purchases from now on."""
        if await self.merchant(waba_id) is None:
            raise InvalidInputError("the business needs a phone number: affiliate links open its chat and shop")
        now = self._clock.now_ms()
        new_id = self._ids.next_id()

        def unit(conn: Connection) -> ProgramRow:
            current = repo.program_of_waba(conn, waba_id)
            before = None
            if current is not None:
                before = ProgramInput(
                    current.rate_bp, current.window_days, current.hold_days, current.terms, current.active
                )
            checked = parse_program(params, before)
            values = {**checked.__dict__, "updated_at": now}
            if current is None:
                repo.insert_program(conn, {"id": new_id, "waba_id": waba_id, "created_at": now, **values})
            else:
                repo.update_program(conn, current.id, values)
            stored = repo.program_of_waba(conn, waba_id)
            assert stored is not None
            return stored

        return program_view(await self._db.write("affiliates.program", unit))

    async def program(self, waba_id: int) -> dict[str, Any]:
        found = await self._db.read(lambda conn: repo.program_of_waba(conn, waba_id))
        if found is None:
            raise NoProgramError("this business has no affiliate program yet")
        return program_view(found)

    async def open_programs(self, limit: int = 100) -> list[dict[str, Any]]:
        """Active programs an affiliate can join: the merchant's name, the rate and the windows, and the catalog's
        products a link can name (besides the whole shop)."""
        programs = await self._db.read(lambda conn: repo.active_programs(conn, limit))
        now = self._clock.now_ms()
        out = []
        for p in programs:
            merchant = await self.merchant(p.waba_id)
            if merchant is not None:
                products = await self._catalogs.active_products_of_waba(p.waba_id, MAX_PICKABLE_PRODUCTS)
                out.append(
                    {
                        **program_view(p),
                        "merchant": {"id": str(p.waba_id), "name": merchant.name},
                        "products": [product_choice(product, now) for product in products],
                    }
                )
        return out

    async def merchant_overview(self, waba_id: int) -> dict[str, Any]:
        """The console's and the API's view of a program: its terms, its affiliates' links with their numbers,
        totals per currency."""

        def read(conn: Connection) -> tuple[ProgramRow | None, list[LinkRow], dict[int, LinkStats], Any]:
            program = repo.program_of_waba(conn, waba_id)
            links = [] if program is None else repo.links_of_program(conn, program.id)
            stats = repo.stats_of_links(conn, [link.id for link in links])
            return program, links, stats, repo.merchant_totals(conn, waba_id)

        program, links, stats, totals = await self._db.read(read)
        return {
            "program": None if program is None else program_view(program),
            "links": [{**self._link_view(link), **_stats_view(stats[link.id])} for link in links],
            "totals": merchant_totals_view(totals),
        }

    # --- affiliates' links ---------------------------------------------------------------------------------

    def _link_view(self, link: LinkRow) -> dict[str, Any]:
        return {
            "id": str(link.id),
            "code": link.code,
            "url": f"{self._public_url}/r/{link.code}",
            "affiliate": {"type": link.affiliate_kind, "id": str(link.affiliate_id)},
            "product_retailer_id": link.product_retailer_id,
            "created_time": link.created_at // 1000,
            "revoked": link.revoked_at is not None,
        }

    async def create_link(
        self, kind: str, affiliate_id: int, raw_merchant_id: object, product: object
    ) -> dict[str, Any]:
        """The affiliate's link for a merchant's whole catalog or one product (the same one when asked again; a
        revoked one comes back with a new code). The merchant itself, and the people behind its numbers, cannot
        join its own program."""
        merchant_id = parse_id(str(raw_merchant_id)) if isinstance(raw_merchant_id, str | int) else None
        retailer_id = parse_product(product)
        now = self._clock.now_ms()
        new_id = self._ids.next_id()

        def unit(conn: Connection) -> LinkRow:
            program = None if merchant_id is None else repo.program_of_waba(conn, merchant_id)
            if program is None or not program.active:
                raise NoProgramError("this business runs no active affiliate program")
            self._refuse_own_program_in(conn, kind, affiliate_id, program.waba_id)
            if retailer_id is not None and self._catalogs.active_product_in(conn, program.waba_id, retailer_id) is None:
                raise UnknownProductError(
                    f"this shop's catalog has no product with retailer id {retailer_id[:100]!r}: "
                    "pick one of its products, or none for the whole shop"
                )
            existing = repo.link_of_owner(conn, kind, affiliate_id, program.id, retailer_id)
            if existing is not None:
                if existing.revoked_at is None:
                    return existing
                # A revoked code stays dead; the link (and its history) comes back under a new code.
                repo.set_link(conn, existing.id, code=self._new_code(), revoked_at=None)
                again = repo.link(conn, existing.id)
                assert again is not None
                return again
            row = LinkRow(new_id, program.id, self._new_code(), kind, affiliate_id, retailer_id, now, None)
            repo.insert_link(conn, row)
            return row

        link = await self._db.write("affiliates.link", unit)
        return {**self._link_view(link), "merchant": {"id": str(merchant_id)}}

    def _refuse_own_program_in(self, conn: Connection, kind: str, affiliate_id: int, merchant_waba_id: int) -> None:
        if kind == BUSINESS and affiliate_id == merchant_waba_id:
            raise SelfReferralError("a business cannot be an affiliate of its own program")
        if kind == PERSON:
            number = self._numbers.number_of_user_in(conn, affiliate_id)
            if number is not None and number.waba_id == merchant_waba_id:
                raise SelfReferralError("the business's own accounts cannot be affiliates of its program")

    @staticmethod
    def _new_code() -> str:
        return secrets.token_urlsafe(_CODE_BYTES)

    async def revoke_link(self, kind: str, affiliate_id: int, raw_link_id: str) -> dict[str, Any]:
        """Withdraw a link: its code answers "not valid" from now on, and later purchases earn nothing from it."""
        link_id = parse_id(raw_link_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> LinkRow:
            link = None if link_id is None else repo.link(conn, link_id)
            if link is None or (link.affiliate_kind, link.affiliate_id) != (kind, affiliate_id):
                raise NotFoundError("no such affiliate link")
            if link.revoked_at is None:
                repo.set_link(conn, link.id, revoked_at=now)
            again = repo.link(conn, link.id)
            assert again is not None
            return again

        return self._link_view(await self._db.write("affiliates.revoke", unit))

    async def links_of(self, kind: str, affiliate_id: int) -> dict[str, Any]:
        """The affiliate's links with clicks, purchases and commissions (pending / paid / clawed back) per link
        and in total, per currency."""

        def read(conn: Connection) -> tuple[list[tuple[LinkRow, int]], dict[int, LinkStats]]:
            links = repo.links_of_affiliate(conn, kind, affiliate_id)
            return links, repo.stats_of_links(conn, [link.id for link, _ in links])

        links, stats = await self._db.read(read)
        names: dict[int, str] = {}  # an affiliate's links are mostly to a few merchants: one lookup each
        out = []
        for link, merchant_id in links:
            if merchant_id not in names:
                merchant = await self.merchant(merchant_id)
                names[merchant_id] = merchant.name if merchant is not None else ""
            name = names[merchant_id]
            view = {**self._link_view(link), "merchant": {"id": str(merchant_id), "name": name}}
            out.append({**view, **_stats_view(stats[link.id])})
        return {"data": out, "totals": _totals([stats[link.id] for link, _ in links])}

    # --- clicks --------------------------------------------------------------------------------------------

    async def click(self, code: str, viewer: str, address: str) -> Landing:
        """Record a click on `/r/{code}` by the browser `viewer` (the person is bound by `claim`); the same browser
        opening the same link again within the links' dedup window is the same click, moved to now (so it is
        still the last click). A forged, unknown or revoked code, or a program switched off, is InvalidLinkError
        (404) and records nothing; more clicks from one address than the links' limit is RateLimitedError."""
        if not 10 <= len(code) <= 24 or not code.replace("-", "").replace("_", "").isalnum() or not code.isascii():
            raise InvalidLinkError(INVALID_LINK)
        retry = await self._limiter.hit(
            f"affiliate-click:{address}", self._links.clicks_per_address, self._links.click_window_s
        )
        if retry is not None:
            raise RateLimitedError(f"too many link clicks from this address; try again in {retry} s", retry)
        now = self._clock.now_ms()
        new_id = self._ids.next_id()
        since = now - self._links.click_dedup_window_s * 1000

        def unit(conn: Connection) -> tuple[LinkRow, int, int]:
            link = repo.link_by_code(conn, code)
            program = None if link is None else repo.program(conn, link.program_id)
            if link is None or link.revoked_at is not None or program is None or not program.active:
                raise InvalidLinkError(INVALID_LINK)
            again = repo.recent_click_of_viewer(conn, link.id, viewer, since)
            if again is not None:
                repo.touch_click(conn, again, now)
                return link, program.waba_id, again
            repo.insert_click(conn, ClickRow(new_id, link.id, program.waba_id, None, viewer, now))
            return link, program.waba_id, new_id

        link, waba_id, click_id = await self._db.write("affiliates.click", unit)
        merchant = await self.merchant(waba_id)
        if merchant is None:
            raise InvalidLinkError(INVALID_LINK)
        return Landing(merchant, link.product_retailer_id, self._claim_token(click_id), self._target(merchant))

    async def qr_svg(self, code: str) -> bytes:
        """The QR code of a live link's URL, as SVG (for printing or showing on another screen); records no click."""

        def read(conn: Connection) -> LinkRow | None:
            link = repo.link_by_code(conn, code)
            program = None if link is None else repo.program(conn, link.program_id)
            return link if link is not None and link.revoked_at is None and program and program.active else None

        link = await self._db.read(read) if len(code) <= 24 else None
        if link is None:
            raise InvalidLinkError(INVALID_LINK)
        buffer = io.BytesIO()
        segno.make(f"{self._public_url}/r/{link.code}", error="m").save(buffer, kind="svg", scale=4, border=4)
        return buffer.getvalue()

    @staticmethod
    def _target(merchant: Merchant) -> str:
        return f"/app#chat={quote(merchant.phone, safe='')}"

    def _claim_token(self, click_id: int) -> str:
        return f"{click_id}.{self._sign(click_id)}"

    def _sign(self, click_id: int) -> str:
        return hmac.new(self._secret, f"affiliate-click:{click_id}".encode(), hashlib.sha256).hexdigest()[:_SIGNATURE]

    async def claim(self, token: str, person_id: int) -> dict[str, Any]:
        """Bind a click to the signed-in person who made it (the landing page calls this with the token it was
        given), so their purchases from this merchant can be attributed to the link. A click already bound to
        someone else, or older than a day, is refused."""
        raw_id, _, signature = token.partition(".")
        click_id = parse_id(raw_id)
        if click_id is None or len(signature) != _SIGNATURE or not hmac.compare_digest(signature, self._sign(click_id)):
            raise InvalidLinkError("this click is not valid")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> ClickRow:
            found = repo.click(conn, click_id)
            if found is None:
                raise InvalidLinkError("this click is not valid")
            if found.person_id == person_id:
                return found
            if found.person_id is not None:
                raise ConflictError("this click was claimed by someone else")
            if now - found.clicked_at > CLAIM_TTL_MS:
                raise ConflictError("this click is too old to claim; open the link again")
            repo.bind_click(conn, click_id, person_id)
            bound = repo.click(conn, click_id)
            assert bound is not None
            return bound

        bound = await self._db.write("affiliates.claim", unit)
        merchant = await self.merchant(bound.waba_id)
        return {
            "claimed": bound.person_id == person_id,
            "merchant": None if merchant is None else {"id": str(merchant.waba_id), "name": merchant.name},
            "target": None if merchant is None else self._target(merchant),
        }

    async def commissions_page(self, waba_id: int, raw_after: str | None, limit: int | None) -> dict[str, Any]:
        """`GET /{waba_id}/affiliate_commissions`: the merchant's commissions, the latest first, a page at a time,
        with the program's totals per currency as `summary`."""
        size = 25 if limit is None else limit
        if not 1 <= size <= 100:
            raise InvalidInputError("Param limit must be 1 to 100")
        after = None if raw_after is None else parse_id(raw_after)
        if raw_after is not None and after is None:
            raise InvalidInputError("Param after is not a cursor of this list")

        def read(conn: Connection) -> tuple[list[repo.CommissionRow], dict[str, dict[str, int]]]:
            return repo.commissions_of_merchant(conn, waba_id, after, size + 1), repo.merchant_totals(conn, waba_id)

        rows, totals = await self._db.read(read)
        page: dict[str, Any] = {
            "data": [commission_view(row) for row in rows[:size]],
            "summary": merchant_totals_view(totals),
        }
        if len(rows) > size:
            page["paging"] = {"cursors": {"after": str(rows[size - 1].id)}}
        return page


def commission_view(row: repo.CommissionRow) -> dict[str, Any]:
    places = minor_units(row.currency)
    return {
        "id": str(row.id),
        "link_id": str(row.link_id),
        "order_id": str(row.order_id),
        "currency": row.currency,
        "order_total": format_amount(row.order_total, places),
        "amount": format_amount(row.amount, places),
        "clawed_back": format_amount(row.clawed_back, places),
        "status": row.status,
        "release_time": row.release_at // 1000,
        "created_time": row.created_at // 1000,
        "settled_time": None if row.settled_at is None else row.settled_at // 1000,
    }
