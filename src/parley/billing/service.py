"""Wallets, rate cards and the pricing of Business API messages, posted to the ledger.

Reserve at send, post at delivery, void on failure: a message is charged once, when it is delivered, at the
rate of the day it was delivered (never more than was reserved), and a message that fails is never charged.
The send path calls `reserve_in`/`settle_in`/`release_in` inside its own write unit, so the ledger moves
together with the message or not at all.
"""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from parley import ledger
from parley.billing import analytics
from parley.billing import repository as repo
from parley.billing.books import cash_key, day_start_ms, local_day, promotions_key, revenue_key, wallet_key, zone
from parley.billing.models import CHARGED, EXPIRED, FREE, HELD, VOIDED
from parley.billing.pricing import MessageFacts, Quote, cbp_quote, pmp_quote
from parley.billing.ratecard import PriceList, RateCard, RateCardError, default_rate_cards, parse_rate_card_csv
from parley.billing.tiers import VolumeTiers, default_volume_tiers, parse_volume_tiers_csv
from parley.config import BillingSettings
from parley.graph import FieldSpec
from parley.kit.clock import Clock
from parley.kit.errors import ConflictError, InvalidInputError, NotFoundError
from parley.kit.ids import IdGenerator
from parley.kit.money import format_amount, minor_units, parse_amount
from parley.platform.bus import Bus
from parley.platform.db import Database

DAY_MS = 86_400_000
PREVIEW_CATEGORIES = ("marketing", "utility", "authentication")  # what a template can be
SPEND_DEFAULT_DAYS = 30
SPEND_MAX_DAYS = 366
HOUR_MS = 3_600_000
_CARDS_TOPIC = "billing:cards"
_PROFILES_TOPIC = "billing:profiles"


@dataclass(frozen=True)
class SendFacts:
    """What the send path knows about a business message when it is sent."""

    message_id: int
    waba_id: int
    phone_number_id: int
    person_id: int
    phone: str  # recipient, E.164
    country: str  # recipient's ISO region
    category: str  # template category at send time, or "service"
    is_template: bool
    in_service_window: bool
    in_free_entry_point: bool
    sent_at: int


@dataclass(frozen=True)
class Estimate:
    """What a message would cost if delivered now, and what is reserved for it at send."""

    currency: str
    market: str
    quote: Quote
    hold: int  # micros reserved at send (0: nothing to reserve)
    volume_in_month: int  # charged messages of this market and category this month, before this one
    available: int | None  # what the wallet may still spend, before this message


@dataclass(frozen=True)
class Settlement:
    """What the ledger charged for a delivered message (the `pricing` of its status webhooks)."""

    pricing_model: str
    category: str
    pricing_type: str
    billable: bool
    amount: int


@dataclass(frozen=True)
class MarketRates:
    """What one delivered template of each category costs in one market (the list rate, before volume bands)."""

    market: str
    micros: dict[str, int | None]  # "marketing" | "utility" | "authentication" -> micros; None: not priced there


@dataclass(frozen=True)
class RateSheet:
    """A business's template prices today: its price list's card in effect, every market on it."""

    price_list: str
    currency: str
    pricing_model: str  # PMP: per delivered message; CBP: per 24 h conversation the template opens
    effective: datetime.date
    home_market: str | None  # the market of the business's own number, when it has one
    markets: list[MarketRates]
    charged: bool  # False when the operator runs without billing: nothing is charged


TEMPLATE_PRICE_CATEGORIES = ("marketing", "utility", "authentication")


@dataclass(frozen=True)
class Balance:
    currency: str
    balance: int  # posted, micros (negative: owed on the credit line)
    held: int  # reserved for messages not yet delivered
    credit_line: int
    available: int


class InvalidAmountError(InvalidInputError):
    code = "invalid_amount"


@dataclass(frozen=True)
class DailySpend:
    """Charged messages of one delivery day, billed category and market."""

    day: datetime.date
    category: str
    market: str
    messages: int
    amount: int  # micros


@dataclass(frozen=True)
class SpendReport:
    """What a business was charged per day over [first, last] (days in its time zone), from the charge rows
    behind the ledger's postings: the same figures as the statements and the pricing analytics."""

    currency: str
    timezone: str
    first: datetime.date
    last: datetime.date
    rows: list[DailySpend]

    @property
    def days(self) -> list[datetime.date]:
        return [self.first + datetime.timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def total(self) -> int:
        return sum(row.amount for row in self.rows)


def cost_view(estimate: Estimate) -> dict[str, Any]:
    """The `cost` object of a cost preview (the API's dry run and the console show the same)."""
    quote = estimate.quote
    return {
        "currency": estimate.currency,
        "amount": format_amount(quote.amount),
        "list_rate": format_amount(quote.list_rate),
        "market": estimate.market,
        "tier": tier_label(quote) if quote.billable else None,
        "charged_this_month": estimate.volume_in_month,
        "reserved_at_send": format_amount(estimate.hold),
        "charged_when": "delivered" if quote.billable else "never",
        "available_before": None if estimate.available is None else format_amount(estimate.available),
    }


def tier_label(quote: Quote) -> str | None:
    """Meta's `tier` of a regular per-message charge: its volume band, "0:MAX" where there are no tiers."""
    if quote.pricing_model != "PMP" or quote.pricing_type != "regular":
        return None
    return "0:MAX" if quote.band is None else quote.band.label


class BillingService:
    def __init__(
        self, db: Database, bus: Bus, clock: Clock, ids: IdGenerator, journal: ledger.Ledger, settings: BillingSettings
    ) -> None:
        self._db, self._bus, self._clock, self._ids = db, bus, clock, ids
        self.journal = journal
        self.settings = settings
        self._tiers: VolumeTiers = (
            default_volume_tiers()
            if settings.volume_tiers_csv is None
            else parse_volume_tiers_csv(settings.volume_tiers_csv.read_text())
        )
        self._lists: dict[str, PriceList] = {}
        self._reload_cards([])
        # Hot-path caches of rows that exist for good: profiles (dropped on change, in every process) and the
        # identities of ledger accounts (id, currency, side: their totals are never read from here).
        self._profiles: dict[int, repo.ProfileRow] = {}
        self._account_refs: dict[str, ledger.AccountRow] = {}

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    async def start(self) -> None:
        stored = await self._db.read(repo.stored_cards)
        self._reload_cards(stored)
        self._bus.subscribe(_CARDS_TOPIC, self._on_cards_changed)
        self._bus.subscribe(_PROFILES_TOPIC, self._on_profile_changed)

    def _on_profile_changed(self, event: dict[str, Any]) -> None:
        self._profiles.pop(int(event["waba_id"]), None)

    def _on_cards_changed(self, _event: dict[str, Any]) -> None:
        # Another process loaded a card: read them all again (cards are few and change rarely).
        import asyncio

        async def reload() -> None:
            self._reload_cards(await self._db.read(repo.stored_cards))

        asyncio.get_running_loop().create_task(reload())

    # --- rate cards -------------------------------------------------------------------------------------

    def _reload_cards(self, stored: list[repo.StoredCardRow]) -> None:
        by_list: dict[str, list[RateCard]] = {}
        for card in default_rate_cards():
            by_list.setdefault(card.price_list, []).append(card)
        for row in stored:
            cards = _parse_stored(row)
            replaced = {c.effective for c in cards}
            kept = [c for c in by_list.get(row.price_list, []) if c.effective not in replaced]
            by_list[row.price_list] = kept + cards
        self._lists = {name: PriceList(cards) for name, cards in by_list.items()}

    def price_list(self, name: str) -> PriceList:
        found = self._lists.get(name)
        if found is None:
            raise NotFoundError(f"no price list {name!r}; load one with `parley billing load-card`")
        return found

    def price_lists(self) -> dict[str, PriceList]:
        return dict(self._lists)

    async def load_card(
        self,
        csv_text: str,
        *,
        price_list: str,
        source: str,
        markup_bps: int = 0,
        currency: str | None = None,
        pricing_model: str | None = None,
        effective: datetime.date | None = None,
    ) -> list[RateCard]:
        """Validate and store a rate card; it prices deliveries from its effective date on."""
        row = repo.StoredCardRow(
            id=self._ids.next_id(),
            price_list=price_list,
            csv=csv_text,
            markup_bps=markup_bps,
            currency=currency,
            pricing_model=pricing_model,
            effective=None if effective is None else effective.isoformat(),
            source=source,
            loaded_at=self._clock.now_ms(),
        )
        cards = _parse_stored(row)  # raises InvalidInputError before anything is stored
        existing = self._lists.get(price_list)
        if existing is not None and existing.currency != cards[0].currency:
            raise InvalidInputError(f"price list {price_list} is in {existing.currency}, not {cards[0].currency}")
        await self._db.write("billing.load_card", lambda conn: repo.insert_card(conn, row))
        self._reload_cards(await self._db.read(repo.stored_cards))
        await self._bus.publish(_CARDS_TOPIC, {"price_list": price_list})
        return cards

    # --- business accounts ------------------------------------------------------------------------------

    def open_business_in(self, conn: Connection, waba_id: int, *, timezone: str = "UTC") -> repo.ProfileRow:
        """The business's billing profile and wallet, with the operator's trial credit on first use."""
        profile = repo.get_profile(conn, waba_id)
        if profile is not None:
            return profile
        profile = self._new_profile(waba_id, timezone)
        currency = profile.currency
        repo.insert_profile(conn, profile)
        wallet = self._wallet(conn, waba_id, currency)
        trial = parse_amount(self.settings.trial_credit)
        if trial > 0:
            promotions = self._platform(conn, promotions_key(currency), ledger.DEBIT, "promotions")
            self.journal.transfer(
                conn,
                f"trial:{waba_id}",
                debit=promotions,
                credit=wallet,
                amount=trial,
                code="trial_credit",
                refs={"waba_id": waba_id},
            )
        return profile

    def _new_profile(self, waba_id: int, timezone: str = "UTC") -> repo.ProfileRow:
        return repo.ProfileRow(
            waba_id=waba_id,
            price_list=self.settings.price_list,
            currency=self.settings.currency,
            timezone=timezone,
            home_calling_code=None,
            auth_international=False,
            created_at=self._clock.now_ms(),
        )

    def _wallet(self, conn: Connection, waba_id: int, currency: str) -> ledger.AccountRow:
        return self.journal.open_account(
            conn,
            wallet_key(waba_id),
            currency=currency,
            normal_side=ledger.CREDIT,
            kind="wallet",
            owner_id=waba_id,
            floor_limit=0,
        )

    def _platform(self, conn: Connection, key: str, side: str, kind: str) -> ledger.AccountRow:
        currency = key.rsplit(":", 1)[1]
        return self.journal.open_account(conn, key, currency=currency, normal_side=side, kind=kind)

    async def topup(
        self, waba_id: int, micros: int, reference: str | None = None, *, refs: dict[str, Any] | None = None
    ) -> Balance:
        """Money received from the business (bank transfer, card): cash in, wallet credited."""
        chosen = reference or uuid.uuid4().hex
        return await self._db.write(
            "billing.topup", lambda conn: self.topup_in(conn, waba_id, micros, chosen, refs=refs)
        )

    def topup_in(
        self, conn: Connection, waba_id: int, micros: int, reference: str, *, refs: dict[str, Any] | None = None
    ) -> Balance:
        """`topup` inside the caller's unit (a card payment commits with its credit). The same reference never
        credits twice: the ledger answers a repeated key with the first transfer."""
        if micros <= 0:
            raise InvalidInputError("a top-up must be a positive amount")
        profile = self._profile(conn, waba_id)
        cash = self._platform(conn, cash_key(profile.currency), ledger.DEBIT, "cash")
        wallet = self._wallet(conn, waba_id, profile.currency)
        self.journal.transfer(
            conn,
            f"topup:{waba_id}:{reference}",
            debit=cash,
            credit=wallet,
            amount=micros,
            code="topup",
            refs={"waba_id": waba_id, **(refs or {})},
        )
        return self._balance(conn, waba_id, profile.currency)

    def topup_amount(self, text: str, currency: str) -> int:
        """Exact micros of a top-up typed in the wallet's currency ("25.00"), within the operator's bounds and
        in whole minor units (cents for USD, yen for JPY); InvalidAmountError says what is wrong."""
        try:
            micros = parse_amount(text)
        except ValueError as error:
            raise InvalidAmountError(str(error)) from error
        places = minor_units(currency)
        if micros % 10 ** (6 - places):
            raise InvalidAmountError(f"{currency} amounts have at most {places} decimal places, not {text.strip()!r}")
        low, high = parse_amount(self.settings.topup_min), parse_amount(self.settings.topup_max)
        if not low <= micros <= high:
            raise InvalidAmountError(
                f"a top-up is between {format_amount(low, places)} and {format_amount(high, places)} {currency}"
            )
        return micros

    async def set_credit_line(self, waba_id: int, micros: int) -> Balance:
        def unit(conn: Connection) -> Balance:
            profile = self._profile(conn, waba_id)
            self.journal.set_floor_limit(conn, self._wallet(conn, waba_id, profile.currency), micros)
            return self._balance(conn, waba_id, profile.currency)

        return await self._db.write("billing.set_credit_line", unit)

    async def balance(self, waba_id: int) -> Balance:
        def unit(conn: Connection) -> Balance:
            return self._balance(conn, waba_id, self._profile(conn, waba_id).currency)

        return await self._db.write("billing.balance", unit)

    async def billing_profile(self, waba_id: int) -> repo.ProfileRow:
        """The business's currency and the time zone its months, days and analytics follow (or those it would
        get: reading opens nothing)."""
        return await self._db.read(lambda conn: self._profile_or_default(conn, waba_id))

    async def analytics(
        self, waba_id: int, specs: Sequence[FieldSpec], phone_numbers: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """`pricing_analytics` / `conversation_analytics` in Meta's shapes: what the Graph API answers and the
        console shows (one computation for both)."""
        return await analytics.waba_analytics(self._db, self._clock, waba_id, specs, phone_numbers)

    async def set_billing_profile(
        self,
        waba_id: int,
        *,
        price_list: str | None = None,
        home_calling_code: str | None = None,
        auth_international: bool | None = None,
        timezone: str | None = None,
    ) -> repo.ProfileRow:
        """Change how a business is billed. A new time zone applies to months and days not yet counted."""
        if price_list is not None:
            self.price_list(price_list)  # must exist
        if timezone is not None:
            try:
                zone(timezone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
                raise InvalidInputError(
                    f"unknown time zone {timezone!r} (an IANA name such as Europe/Paris)"
                ) from error

        def unit(conn: Connection) -> repo.ProfileRow:
            profile = self._profile(conn, waba_id)
            values: dict[str, Any] = {}
            if price_list is not None:
                if self.price_list(price_list).currency != profile.currency:
                    raise ConflictError(
                        f"price list {price_list} is in {self.price_list(price_list).currency}; "
                        f"this business pays in {profile.currency}"
                    )
                values["price_list"] = price_list
            if home_calling_code is not None:
                if not home_calling_code.isdigit() or len(home_calling_code) > 4:
                    raise InvalidInputError("home calling code: 1 to 4 digits, e.g. 91")
                values["home_calling_code"] = home_calling_code
            if auth_international is not None:
                values["auth_international"] = auth_international
            if timezone is not None:
                values["timezone"] = timezone
            if values:
                repo.update_profile(conn, waba_id, **values)
            updated = repo.get_profile(conn, waba_id)
            assert updated is not None
            return updated

        updated = await self._db.write("billing.set_billing_profile", unit)
        self._profiles.pop(waba_id, None)
        await self._bus.publish(_PROFILES_TOPIC, {"waba_id": waba_id})
        return updated

    async def rate_sheet(self, waba_id: int, home_number: str | None = None) -> RateSheet:
        """The business's list rates per market and template category on its local today (reads only)."""
        profile = await self._db.read(lambda conn: self._profile_or_default(conn, waba_id))
        prices = self.price_list(profile.price_list)
        day = local_day(self._clock.now_ms(), profile.timezone)
        card = prices.card_on(day)
        digits = (home_number or "").lstrip("+")
        home = prices.market_of(digits, day) if digits.isascii() and digits.isdigit() else None
        markets = [
            MarketRates(market, {name: prices.rate(day, market, name) for name in TEMPLATE_PRICE_CATEGORIES})
            for market in prices.markets_on(day)
        ]
        return RateSheet(
            prices.name, prices.currency, card.pricing_model, card.effective, home, markets, self.settings.enabled
        )

    # --- reading what was spent, and what a message would cost ---------------------------------------

    async def today(self, waba_id: int) -> datetime.date:
        """Today in the business's time zone (its days and months are local)."""
        profile = await self._db.read(lambda conn: self._profile_or_default(conn, waba_id))
        return local_day(self._clock.now_ms(), profile.timezone)

    async def daily_spend(
        self, waba_id: int, first: datetime.date | None = None, last: datetime.date | None = None
    ) -> SpendReport:
        """Charges per delivery day, billed category and market over [first, last] (default: the last 30 days
        to today, in the business's time zone). At most a year; InvalidInputError otherwise."""

        def unit(conn: Connection) -> SpendReport:
            profile = self._profile_or_default(conn, waba_id)
            until = last or local_day(self._clock.now_ms(), profile.timezone)
            if not all(2000 <= day.year <= 2999 for day in (until, first or until)):
                raise InvalidInputError("a spend range lies between the years 2000 and 2999")
            since = first or until - datetime.timedelta(days=SPEND_DEFAULT_DAYS - 1)
            if since > until:
                raise InvalidInputError(f"the range starts ({since}) after it ends ({until})")
            if (until - since).days >= SPEND_MAX_DAYS:
                raise InvalidInputError(f"a spend range covers at most {SPEND_MAX_DAYS} days")
            start = day_start_ms(since, profile.timezone)
            end = day_start_ms(until + datetime.timedelta(days=1), profile.timezone)
            rows = [
                DailySpend(datetime.date.fromisoformat(r.day), r.category, r.market, r.messages, r.amount)
                for r in repo.spend_between(conn, waba_id, start, end)
            ]
            return SpendReport(profile.currency, profile.timezone, since, until, rows)

        return await self._db.read(unit)

    async def markets(self, waba_id: int) -> list[str]:
        """The markets the business's price list prices today ("Other" last)."""
        profile = await self._db.read(lambda conn: self._profile_or_default(conn, waba_id))
        return self.price_list(profile.price_list).markets_on(local_day(self._clock.now_ms(), profile.timezone))

    async def preview_cost(
        self, waba_id: int, category: str, *, phone: str | None = None, market: str | None = None
    ) -> Estimate:
        """What one delivered template of `category` to `phone` (or any number in `market`) would cost now:
        `estimate_in` as the send path and the API's dry run price it, volume tier included."""
        if category not in PREVIEW_CATEGORIES:
            raise InvalidInputError(f"category is one of {', '.join(PREVIEW_CATEGORIES)}, not {category[:32]!r}")
        if (phone is None) == (market is None):
            raise InvalidInputError("give either a recipient's phone number or a market")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> Estimate:
            profile = self._profile_or_default(conn, waba_id)
            if phone is not None:
                digits = phone.strip().removeprefix("+")
                if not digits.isascii() or not digits.isdigit() or not 7 <= len(digits) <= 15:
                    raise InvalidInputError(f"{phone[:32]!r} is not a phone number in international form (+4915…)")
            else:
                assert market is not None
                found = self.price_list(profile.price_list).number_in(market, local_day(now, profile.timezone))
                if found is None:
                    raise InvalidInputError(f"the price list has no market {market[:64]!r}")
                digits = found
            facts = SendFacts(
                message_id=0,
                waba_id=waba_id,
                phone_number_id=0,
                person_id=0,
                phone="+" + digits,
                country="",
                category=category,
                is_template=True,
                in_service_window=False,
                in_free_entry_point=False,
                sent_at=now,
            )
            return self.estimate_in(conn, facts, with_available=True)

        return await self._db.read(unit)

    def _profile(self, conn: Connection, waba_id: int) -> repo.ProfileRow:
        """The profile, opened on first use: businesses created before billing existed get theirs here."""
        cached = self._profiles.get(waba_id)
        if cached is not None:
            return cached
        found = repo.get_profile(conn, waba_id)
        if found is None:
            return self.open_business_in(conn, waba_id)  # not cached: this unit may still roll back
        self._profiles[waba_id] = found
        return found

    def _profile_or_default(self, conn: Connection, waba_id: int) -> repo.ProfileRow:
        """For reads: the profile, or the one the business would get (a preview must not write)."""
        cached = self._profiles.get(waba_id)
        if cached is not None:
            return cached
        found = repo.get_profile(conn, waba_id)
        if found is None:
            return self._new_profile(waba_id)
        self._profiles[waba_id] = found
        return found

    def _account_ref(self, conn: Connection, key: str, open_it: Callable[[], ledger.AccountRow]) -> ledger.AccountRow:
        """An account's identity for a transfer, from memory once it is known to exist (committed)."""
        cached = self._account_refs.get(key)
        if cached is not None:
            return cached
        found = self.journal.account(conn, key)
        if found is None:
            return open_it()  # created in this unit: not cached, the unit may still roll back
        self._account_refs[key] = found
        return found

    def _balance(self, conn: Connection, waba_id: int, currency: str) -> Balance:
        wallet = self._wallet(conn, waba_id, currency)
        limit = wallet.floor_limit or 0
        return Balance(currency, wallet.balance, wallet.held, limit, wallet.balance - wallet.held + limit)

    # --- the send path (inside the business's write units) ----------------------------------------------

    def estimate_in(self, conn: Connection, facts: SendFacts, *, with_available: bool = False) -> Estimate:
        """Price a message as if sent now; reads only (a cost preview runs it in a read transaction).

        `with_available`: also read what the wallet can spend (the send itself lets the hold's funds check say).
        """
        profile = self._profile_or_default(conn, facts.waba_id)
        prices = self.price_list(profile.price_list)
        day = local_day(facts.sent_at, profile.timezone)
        digits = facts.phone.lstrip("+")
        market = prices.market_of(digits, day)
        message = self._message_facts(facts, market)
        auth_intl = self._auth_international(profile, digits)
        card = prices.card_on(day)
        month = day.strftime("%Y-%m")
        if card.pricing_model == "CBP":
            quote = cbp_quote(prices, message, day, None)
            billed = quote.category
            volume = 0
        else:
            probe = pmp_quote(prices, self._tiers, message, day, 1, auth_international=auth_intl)
            # Only tiered categories (utility, authentication) have a band: only they need the month's count.
            volume = 0 if probe.band is None else repo.volume(conn, facts.waba_id, month, market, probe.category)
            quote = pmp_quote(prices, self._tiers, message, day, volume + 1, auth_international=auth_intl)
            billed = quote.category
        hold = 0
        if quote.billable or (quote.opens_conversation and quote.amount > 0):
            # Reserve the highest rate any card could charge on the day of delivery, so a delivery after a
            # scheduled rate rise never costs more than was reserved.
            last_day = local_day(facts.sent_at + self.settings.hold_ttl_days * DAY_MS, profile.timezone)
            hold = max(quote.amount, prices.max_rate_for_number(day, last_day, digits, billed))
        available = None
        if with_available:
            wallet = self.journal.account(conn, wallet_key(facts.waba_id))
            available = parse_amount(self.settings.trial_credit) if wallet is None else wallet.available
        return Estimate(profile.currency, market, quote, hold, volume, available)

    def reserve_in(self, conn: Connection, facts: SendFacts) -> Estimate:
        """Price a message being sent and reserve its cost; InsufficientFundsError refuses the send."""
        estimate = self.estimate_in(conn, facts)
        if estimate.hold == 0:
            return estimate
        currency = estimate.currency
        revenue = revenue_key("messaging", currency)
        hold = self.journal.hold(
            conn,
            f"msg:{facts.message_id}:hold",
            debit=self._account_ref(
                conn, wallet_key(facts.waba_id), lambda: self._wallet(conn, facts.waba_id, currency)
            ),
            credit=self._account_ref(conn, revenue, lambda: self._platform(conn, revenue, ledger.CREDIT, "revenue")),
            amount=estimate.hold,
            code="message_charge",
            expires_at=facts.sent_at + self.settings.hold_ttl_days * DAY_MS,
            refs={"waba_id": facts.waba_id, "message_id": facts.message_id},
            known_new=True,  # the message was created in this very unit
        )
        repo.insert_charge(
            conn,
            repo.ChargeRow(
                message_id=facts.message_id,
                waba_id=facts.waba_id,
                phone_number_id=facts.phone_number_id,
                person_id=facts.person_id,
                country=facts.country,
                market=estimate.market,
                send_category=facts.category,
                pricing_model=None,
                category=None,
                pricing_type=None,
                billable=None,
                state=HELD,
                held=estimate.hold,
                amount=0,
                list_rate=estimate.quote.list_rate,
                tier=None,
                hold_id=hold.id,
                transfer_id=None,
                conversation_id=None,
                sent_at=facts.sent_at,
                settled_at=None,
                day=None,
            ),
        )
        return estimate

    def settle_in(self, conn: Connection, facts: SendFacts, delivered_at: int) -> Settlement:
        """Charge a delivered message (once): post its hold for the delivery day's price, or record it free."""
        existing = repo.get_charge(conn, facts.message_id)
        if existing is not None and existing.state != HELD:
            return _settlement_of(existing)
        profile = self._profile(conn, facts.waba_id)
        prices = self.price_list(profile.price_list)
        day = local_day(delivered_at, profile.timezone)
        digits = facts.phone.lstrip("+")
        market = existing.market if existing is not None else prices.market_of(digits, day)
        message = self._message_facts(facts, market)
        card = prices.card_on(day)
        conversation_id = None
        if card.pricing_model == "CBP":
            quote, conversation_id = self._cbp(conn, prices, facts, message, day, delivered_at)
        else:
            auth_intl = self._auth_international(profile, digits)
            probe = pmp_quote(prices, self._tiers, message, day, 1, auth_international=auth_intl)
            nth = 1
            if probe.band is not None and existing is not None:  # a tiered category: count it in its month
                nth = repo.bump_volume(conn, facts.waba_id, day.strftime("%Y-%m"), market, probe.category)
            quote = pmp_quote(prices, self._tiers, message, day, nth, auth_international=auth_intl)
        held = 0 if existing is None else existing.held
        amount = min(quote.amount, held)  # never more than was reserved (nothing reserved: nothing charged)
        billable = quote.billable and existing is not None
        transfer_id = None
        if existing is not None and existing.hold_id is not None:
            hold = self.journal.transfer_by_id(conn, existing.hold_id)
            assert hold is not None
            posted = self.journal.post(
                conn,
                f"msg:{facts.message_id}:charge",
                hold,
                amount=amount,
                refs={"waba_id": facts.waba_id, "message_id": facts.message_id, "market": market},
                known_new=True,  # the charge row, updated in this unit, says the hold is still open
            )
            transfer_id = posted.id
        pricing_type = quote.pricing_type if billable or not quote.billable else "free_customer_service"
        values: dict[str, Any] = {
            "pricing_model": quote.pricing_model,
            "category": quote.category,
            "pricing_type": pricing_type,
            "billable": billable,
            "state": CHARGED if billable else FREE,
            "amount": amount,
            "list_rate": quote.list_rate,
            "tier": tier_label(quote) if billable else None,
            "transfer_id": transfer_id,
            "conversation_id": conversation_id,
            "settled_at": delivered_at,
            "day": day.isoformat(),
        }
        if existing is None:
            repo.insert_charge(
                conn,
                repo.ChargeRow(
                    message_id=facts.message_id,
                    waba_id=facts.waba_id,
                    phone_number_id=facts.phone_number_id,
                    person_id=facts.person_id,
                    country=facts.country,
                    market=market,
                    send_category=facts.category,
                    held=0,
                    hold_id=None,
                    sent_at=facts.sent_at,
                    **values,
                ),
            )
        else:
            repo.update_charge(conn, facts.message_id, **values)
        return Settlement(quote.pricing_model, quote.category, pricing_type, billable, amount)

    def release_in(self, conn: Connection, message_id: int, *, expired: bool = False) -> bool:
        """A message that failed (or was never delivered) is never charged: release its reservation."""
        charge = repo.get_charge(conn, message_id)
        if charge is None or charge.state != HELD:
            return False
        if charge.hold_id is not None:
            hold = self.journal.transfer_by_key(conn, f"msg:{message_id}:hold")
            assert hold is not None
            self.journal.void(conn, f"msg:{message_id}:release", hold, expired=expired)
        repo.update_charge(conn, message_id, state=EXPIRED if expired else VOIDED, settled_at=self._clock.now_ms())
        return True

    def expire_due_in(self, conn: Connection, limit: int = 500) -> list[int]:
        """Release the reservations of messages undelivered for longer than the hold lifetime."""
        before = self._clock.now_ms() - self.settings.hold_ttl_days * DAY_MS
        expired = []
        for charge in repo.held_charges_sent_before(conn, before, limit):
            if self.release_in(conn, charge.message_id, expired=True):
                expired.append(charge.message_id)
        return expired

    def _cbp(
        self,
        conn: Connection,
        prices: PriceList,
        facts: SendFacts,
        message: MessageFacts,
        day: datetime.date,
        delivered_at: int,
    ) -> tuple[Quote, int | None]:
        probe = cbp_quote(prices, message, day, None)
        if probe.pricing_type != "regular":
            return probe, None
        open_id = repo.open_conversation(conn, facts.phone_number_id, facts.person_id, probe.category, delivered_at)
        if open_id is not None:
            return cbp_quote(prices, message, day, probe.category), open_id
        conversation_id = self._ids.next_id()
        repo.insert_conversation(
            conn,
            {
                "id": conversation_id,
                "waba_id": facts.waba_id,
                "phone_number_id": facts.phone_number_id,
                "person_id": facts.person_id,
                "category": probe.category,
                "opened_by": facts.message_id,
                "opened_at": delivered_at,
                "expires_at": delivered_at + self.settings.cbp_conversation_hours * HOUR_MS,
            },
        )
        return probe, conversation_id

    @staticmethod
    def _message_facts(facts: SendFacts, market: str) -> MessageFacts:
        return MessageFacts(
            category=facts.category,
            is_template=facts.is_template,
            in_service_window=facts.in_service_window,
            in_free_entry_point=facts.in_free_entry_point,
            market=market,
        )

    @staticmethod
    def _auth_international(profile: repo.ProfileRow, digits: str) -> bool:
        home = profile.home_calling_code
        return profile.auth_international and home is not None and not digits.startswith(home)


def _settlement_of(charge: repo.ChargeRow) -> Settlement:
    return Settlement(
        charge.pricing_model or "PMP",
        charge.category or charge.send_category,
        charge.pricing_type or "free_customer_service",
        bool(charge.billable),
        charge.amount,
    )


def _parse_stored(row: repo.StoredCardRow) -> list[RateCard]:
    try:
        return parse_rate_card_csv(
            row.csv,
            price_list=row.price_list,
            markup_bps=row.markup_bps,
            currency=row.currency,
            pricing_model=row.pricing_model,  # type: ignore[arg-type]
            effective=None if row.effective is None else datetime.date.fromisoformat(row.effective),
        )
    except RateCardError as error:
        raise InvalidInputError(f"rate card {row.source}: {error}") from error
