"""Signals and consent: the recorder fed by other domains' events (never content), consent per purpose as a
ledger of events, and the read API the ads and analytics levers use, which applies consent and the market rule.

The person send is a hot path: the recorder only adds to in-process counters there, and a periodic flush writes
them (one upsert statement per table per flush). A crash loses at most the counts of one flush interval; a send
whose unit fails after it was counted (rare: the observers run last) may be counted once."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection

from parley.accounts import erased_among_in, get_users
from parley.business import ConversationMessage
from parley.config import SignalsSettings
from parley.kit.clock import Clock
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.kit.ids import IdGenerator
from parley.kit.periodic import PeriodicTask
from parley.messaging import MessageContent, MessageRow
from parley.payments import OrderRow
from parley.platform.db import Database
from parley.signals import repository as repo
from parley.signals import rules

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
_NO_OVERRIDES: dict[int, int] = {}  # on_message's answer: the recorder never changes a receipt

# (number id) -> the business's category; passed in by the container (the business domain owns profiles).
CategoryLookup = Callable[[Connection, Sequence[int]], dict[int, str]]


def day_of(ms: int) -> int:
    """The UTC day (days since the epoch) of a time in milliseconds."""
    return ms // DAY_MS


class SignalRecorder:
    """Messaging's MessageObserver, business's ConversationObserver, merchant payments' capture observer and the
    ads' click observer: turns events into counters. Nothing of a message's content is read."""

    def __init__(self, db: Database, categories: CategoryLookup, settings: SignalsSettings) -> None:
        self._db, self._categories = db, categories
        self._sent: dict[tuple[int, int], int] = defaultdict(int)  # (person, day) -> messages sent
        self._to_business: dict[tuple[int, int], int] = defaultdict(int)  # (person, day) -> to businesses
        self._businesses: dict[tuple[int, int, int], list[int]] = {}  # (person, waba, number) -> [n, first, last]
        self._lock = asyncio.Lock()
        self.flusher = PeriodicTask("signals.flush", settings.flush_interval_s, self.flush)

    # --- events (inside the caller's unit) ------------------------------------------------------------------

    def on_message(
        self,
        conn: Connection,
        row: MessageRow,
        content: MessageContent,
        statuses: dict[int, int],
        referral_clid: str | None,
    ) -> dict[int, int]:
        self._sent[(row.sender_id, row.created_at // DAY_MS)] += 1
        return _NO_OVERRIDES

    def on_receipts(self, conn: Connection, reader_id: int, message_ids: list[int], status: int, now: int) -> None:
        return None

    def on_reaction(self, conn: Connection, user_id: int, row: MessageRow, emoji: str, now: int) -> None:
        return None

    def on_conversation_message(self, conn: Connection, message: ConversationMessage) -> None:
        if message.direction != "in":
            return  # what a business sends says nothing of the person
        at = message.at
        self._to_business[(message.person_id, at // DAY_MS)] += 1
        key = (message.person_id, message.number.waba_id, message.number.id)
        seen = self._businesses.get(key)
        if seen is None:
            self._businesses[key] = [1, at, at]
        else:
            seen[0] += 1
            seen[1], seen[2] = min(seen[1], at), max(seen[2], at)

    def on_order_captured(self, conn: Connection, order: OrderRow, now: int) -> None:
        # Rare and money-bearing: written in the capture's own unit, so it commits (or not) with the payment.
        repo.add_days(conn, [repo.DayCounts(order.person_id, day_of(now), purchases=1)])

    def on_ad_click_in(self, conn: Connection, person_id: int, at: int) -> None:
        """A person opened a chat from an ad's click (ads knows the click was theirs from that moment)."""
        repo.add_days(conn, [repo.DayCounts(person_id, day_of(at), ad_clicks=1)])

    # --- the flush ------------------------------------------------------------------------------------------

    async def flush(self) -> int:
        """Write the counters gathered since the last flush: (person, day) rows written."""
        async with self._lock:
            sent, to_business, businesses = self._sent, self._to_business, self._businesses
            self._sent, self._to_business, self._businesses = defaultdict(int), defaultdict(int), {}
            if not sent and not to_business and not businesses:
                return 0
            keys = set(sent) | set(to_business)
            days = [repo.DayCounts(u, d, sent.get((u, d), 0), to_business.get((u, d), 0)) for u, d in sorted(keys)]

            def unit(conn: Connection) -> None:
                # Counted in this process before the person erased their account (maybe in another process):
                # nothing about them is written back.
                erased = erased_among_in(conn, {d.user_id for d in days} | {p for p, _, _ in businesses})
                repo.add_days(conn, [d for d in days if d.user_id not in erased])
                categories = self._categories(conn, sorted({number for _, _, number in businesses}))
                merged: dict[tuple[int, int], list[Any]] = {}
                for (person, waba, number), (n, first, last) in sorted(businesses.items()):
                    if person in erased:
                        continue
                    row = merged.get((person, waba))
                    if row is None:
                        merged[(person, waba)] = [categories.get(number, ""), n, first, last]
                    else:
                        row[1], row[2], row[3] = row[1] + n, min(row[2], first), max(row[3], last)
                repo.add_business_messages(
                    conn, [(p, w, str(c), int(n), int(f), int(la)) for (p, w), (c, n, f, la) in merged.items()]
                )

            try:
                await self._db.write("signals.flush", unit)
            except Exception:
                # Put them back: the next flush tries again rather than losing a window.
                self._merge_back(sent, to_business, businesses)
                raise
            return len(days)

    def _merge_back(
        self,
        sent: dict[tuple[int, int], int],
        to_business: dict[tuple[int, int], int],
        businesses: dict[tuple[int, int, int], list[int]],
    ) -> None:
        for key, n in sent.items():
            self._sent[key] += n
        for key, n in to_business.items():
            self._to_business[key] += n
        for place, (n, first, last) in businesses.items():
            seen = self._businesses.setdefault(place, [0, first, last])
            seen[0] += n
            seen[1], seen[2] = min(seen[1], first), max(seen[2], last)

    def forget(self, user_id: int) -> None:
        """Drop what this process gathered of a person and has not written (their erasure)."""
        for counts in (self._sent, self._to_business):
            for key in [k for k in counts if k[0] == user_id]:
                del counts[key]
        for place in [k for k in self._businesses if k[0] == user_id]:
            del self._businesses[place]

    async def close(self) -> None:
        await self.flusher.close()
        try:
            await self.flush()  # the last window is written, not lost
        except Exception:
            log.exception("signals: the last flush failed; its counts are lost")


class ConsentObserver(Protocol):
    """Told of every consent change inside its unit, and again once it committed."""

    def on_consent_in(self, conn: Connection, user_id: int, purpose: str, granted: bool) -> None: ...

    async def after_consent(self, user_id: int, purpose: str, granted: bool) -> None: ...


@dataclass(frozen=True)
class ConsentView:
    purpose: str
    title: str
    granted: bool
    wording: str
    wording_version: str  # the version in force now (what saving would record)
    agreed_version: str | None  # the version the person's last choice was made under
    updated_at: int | None
    uses: tuple[str, ...]


@dataclass(frozen=True)
class Market:
    region: str
    eu_eea: bool


@dataclass(frozen=True)
class PersonSignals:
    """What the store holds of one person over the window (their own view; the levers get `TargetingSignals`)."""

    window_days: int
    messages_sent: int
    active_days: int
    business_messages: int
    ad_clicks: int
    purchases: int
    days: list[repo.DaySignal]
    businesses: list[repo.BusinessSignal]

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted({b.category for b in self.businesses if b.category}))


@dataclass(frozen=True)
class TargetingSignals:
    """What the ads lever may use of a person: always the market; interests and signals only with consent and
    outside the EU/EEA (`signals` None otherwise)."""

    user_id: int
    market: str
    interest_allowed: bool
    signals: PersonSignals | None


@dataclass(frozen=True)
class CustomerCategories:
    """ "Categories your customers also write to", for a business: k-anonymous figures only."""

    customers: str  # people counted (consenting, outside the EU/EEA), or "fewer than 100"
    categories: list[tuple[str, int]]  # (category, people) with at least K_ANONYMITY_MIN people, most first


class Consents:
    """Consent per person and purpose: every change is an event (given / withdrawn, time, wording version); the
    current state is the last event. No event: not given."""

    def __init__(self, db: Database, clock: Clock, ids: IdGenerator, settings: SignalsSettings) -> None:
        self._db, self._clock, self._ids, self._settings = db, clock, ids, settings
        self._observers: list[ConsentObserver] = []

    def add_observer(self, observer: ConsentObserver) -> None:
        self._observers.append(observer)

    @property
    def wording_version(self) -> str:
        return self._settings.wording_version

    def granted_in(self, conn: Connection, user_id: int, purpose: str) -> bool:
        state = repo.consents_of(conn, user_id).get(purpose)
        return state is not None and state.granted

    def market_in(self, conn: Connection, user_id: int) -> Market:
        user = get_users(conn, [user_id]).get(user_id)
        if user is None:
            raise NotFoundError("no such person")
        region = rules.region_of(user.phone)
        return Market(region, rules.in_eu_eea(region))

    def record_in(self, conn: Connection, user_id: int, purpose: str, granted: bool) -> bool:
        """Record a choice in the caller's unit: False (nothing written) when it is already the current state
        under the current wording."""
        if purpose not in rules.PURPOSES:
            raise InvalidInputError(f"purpose must be one of {', '.join(rules.PURPOSES)}")
        state = repo.consents_of(conn, user_id).get(purpose)
        version = self._settings.wording_version
        if state is not None and state.granted == granted and (not granted or state.wording_version == version):
            return False
        if state is None and not granted:
            return False  # nothing was given: there is nothing to withdraw
        repo.record_consent(conn, self._ids.next_id(), user_id, purpose, granted, version, self._clock.now_ms())
        for observer in self._observers:
            observer.on_consent_in(conn, user_id, purpose, granted)
        return True

    async def after_change(self, user_id: int, purpose: str, granted: bool) -> None:
        """Once the unit committed: observers that cache consent (the ad servers) drop it at once."""
        for observer in self._observers:
            await observer.after_consent(user_id, purpose, granted)

    def views_in(self, conn: Connection, user_id: int) -> list[ConsentView]:
        states = repo.consents_of(conn, user_id)
        out = []
        for name, purpose in rules.PURPOSES.items():
            state = states.get(name)
            out.append(
                ConsentView(
                    purpose=name,
                    title=purpose.title,
                    granted=state is not None and state.granted,
                    wording=purpose.wording,
                    wording_version=self._settings.wording_version,
                    agreed_version=None if state is None else state.wording_version,
                    updated_at=None if state is None else state.updated_at,
                    uses=purpose.uses,
                )
            )
        return out

    async def of_person(self, user_id: int) -> tuple[list[ConsentView], Market]:
        return await self._db.read(lambda conn: (self.views_in(conn, user_id), self.market_in(conn, user_id)))

    async def set(self, user_id: int, purpose: str, granted: bool) -> list[ConsentView]:
        if purpose not in rules.PURPOSES:
            raise NotFoundError(f"no consent purpose '{purpose[:40]}': use one of {', '.join(rules.PURPOSES)}")

        def unit(conn: Connection) -> tuple[bool, list[ConsentView]]:
            changed = self.record_in(conn, user_id, purpose, granted)
            return changed, self.views_in(conn, user_id)

        changed, views = await self._db.write("signals.consent", unit)
        if changed:
            await self.after_change(user_id, purpose, granted)
        return views

    async def history(self, user_id: int, limit: int = 200) -> list[repo.ConsentEvent]:
        return await self._db.read(lambda conn: repo.consent_history(conn, user_id, limit))


class Signals:
    """The read side: a person's own view, and what the ads and analytics levers may use of them."""

    def __init__(self, db: Database, clock: Clock, consents: Consents, settings: SignalsSettings) -> None:
        self._db, self._clock, self._consents, self._settings = db, clock, consents, settings

    def held_in(self, conn: Connection, user_id: int) -> PersonSignals:
        window = self._settings.window_days
        days = repo.days_of(conn, user_id, day_of(self._clock.now_ms()) - window + 1)
        return PersonSignals(
            window_days=window,
            messages_sent=sum(d.messages_sent for d in days),
            active_days=sum(1 for d in days if d.messages_sent),
            business_messages=sum(d.business_messages for d in days),
            ad_clicks=sum(d.ad_clicks for d in days),
            purchases=sum(d.purchases for d in days),
            days=days,
            businesses=repo.businesses_of(conn, user_id),
        )

    async def held_for(self, user_id: int) -> PersonSignals:
        """Everything the store holds of a person (their privacy page shows it; nothing is gated from them)."""
        return await self._db.read(lambda conn: self.held_in(conn, user_id))

    def targeting_in(self, conn: Connection, user_id: int) -> TargetingSignals:
        """The ads lever's view: consent to `ads_personalisation` and a number outside the EU/EEA, else the market
        alone."""
        market = self._consents.market_in(conn, user_id)
        allowed = not market.eu_eea and self._consents.granted_in(conn, user_id, rules.ADS_PERSONALISATION)
        return TargetingSignals(user_id, market.region, allowed, self.held_in(conn, user_id) if allowed else None)

    async def for_targeting(self, user_id: int) -> TargetingSignals:
        return await self._db.read(lambda conn: self.targeting_in(conn, user_id))

    def customer_categories_in(self, conn: Connection, waba_id: int) -> CustomerCategories:
        """A shared-signal insight: the categories of other businesses this business's customers write to. Only
        people with `ads_personalisation` consent and a number outside the EU/EEA count, and only categories with
        at least 100 of them are shown. Reads O(customers) rows: a console figure, never on a hot path."""
        people = repo.consenting_customers(conn, waba_id, rules.ADS_PERSONALISATION)
        counted: list[int] = []
        for start in range(0, len(people), 500):
            found = get_users(conn, people[start : start + 500])
            counted.extend(u for u, row in found.items() if not rules.in_eu_eea(rules.region_of(row.phone)))
        per_category: dict[str, set[int]] = defaultdict(set)
        for person, category in repo.other_categories_of(conn, counted, waba_id):
            per_category[category].add(person)
        shown = [(c, len(p)) for c, p in per_category.items() if rules.k_anonymous(len(p)) is not None]
        return CustomerCategories(rules.shown_count(len(counted)), sorted(shown, key=lambda cp: (-cp[1], cp[0])))

    async def customer_categories(self, waba_id: int) -> CustomerCategories:
        return await self._db.read(lambda conn: self.customer_categories_in(conn, waba_id))

    async def for_analytics(self, user_id: int) -> PersonSignals | None:
        """The analytics lever's view: the person's signals with `product_analytics` consent, else None."""

        def unit(conn: Connection) -> PersonSignals | None:
            if not self._consents.granted_in(conn, user_id, rules.PRODUCT_ANALYTICS):
                return None
            return self.held_in(conn, user_id)

        return await self._db.read(unit)
