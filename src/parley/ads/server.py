"""The ad server: an in-memory index of servable ads, one auction per slot request, and a buffer of billed events
written (rows, day counters and ONE ledger transfer per ad set) every `settings.ads.flush_interval_s`.

Nothing on the slot path touches the database: eligibility (schedule, targeting, frequency cap, pacing, budget,
wallet, the viewer's consented interests) is checked against memory that reloads on bus "ads.changed" and every
`RELOAD_S` seconds. Each serving
process keeps and flushes its own buffer; its view of other processes' spend is as fresh as its last reload.

Crash rule: a crash loses at most the unflushed window, and those events are then neither recorded nor charged.
Wallet rule: an ad set's batch is charged whole or not at all; if the business wallet (balance + credit line,
less message holds) cannot pay it at flush time, the batch's events are recorded at price 0 (the platform bears
that window) and the account stops serving until a reload sees money in the wallet.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from parley.ads import auction, pacing
from parley.ads import serving_repository as srepo
from parley.ads.books import ads_revenue_key, advertiser_wallet_key, spend_transfer_key
from parley.ads.manager import CHANGED_TOPIC
from parley.config import AdsSettings
from parley.kit.clock import Clock
from parley.kit.ids import IdGenerator
from parley.kit.money import parse_amount
from parley.ledger import CREDIT, InsufficientFundsError, Ledger
from parley.platform.bus import Bus
from parley.platform.db import Database
from parley.signals import no_interest_markets  # signals

log = logging.getLogger("parley.ads")

RELOAD_S = 10.0  # the slow timer; "ads.changed" reloads at once


@dataclass
class _SetState:
    """An ad set's spend as this process knows it: the durable counters at the last reload plus what it served
    since (flushed or not)."""

    day: str
    day_spent: int
    lifetime_spent: int
    impressions: int
    clicks: int
    events: int  # billed events (for cost cap); impressions or clicks per billing event


@dataclass
class Served:
    """One filled slot."""

    impression_id: int
    ad: srepo.ServableAd
    price: int  # per billed event: charged now for impressions, carried in the click token for clicks
    matched: dict[str, Any]


@dataclass
class _Billed:
    impression_id: int
    ad: srepo.ServableAd
    viewer: str
    placement: str
    market: str
    price: int
    day: str
    at: int


@dataclass
class FlushResult:
    impressions: int = 0
    charged: int = 0
    unpaid_sets: list[int] = field(default_factory=list)


class AdServer:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        ids: IdGenerator,
        journal: Ledger,
        settings: AdsSettings,
    ) -> None:
        self._db, self._bus, self._clock, self._ids, self._journal = db, bus, clock, ids, journal
        self._settings = settings
        self._reserve_cpm = parse_amount(settings.reserve_cpm)
        self._no_interest = no_interest_markets(settings.no_interest_markets)  # signals: the EU/EEA rule
        self._ads: list[srepo.ServableAd] = []
        self._sets: dict[int, _SetState] = {}
        self._wallets: dict[int, int | None] = {}  # waba id -> available micros (None: no floor)
        self._account_left: dict[int, int | None] = {}  # account id -> spend cap left
        self._index: dict[tuple[str, str], list[srepo.ServableAd]] = {}
        self._freq: dict[tuple[str, int], tuple[str, int]] = {}  # (viewer, ad set) -> (day, count)
        self._freq_days: set[str] = set()
        self._consented: dict[str, frozenset[str]] = {}  # viewer -> interests they chose (read on reload)
        self._days: dict[str, pacing.DayPosition] = {}
        self._buffer: list[_Billed] = []
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscription: Any = None
        self._reload_wanted = asyncio.Event()
        self.loaded = False

    # --- lifecycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.reload()
        # What the process built at start lives as long as it does: keep it out of the full collections, which
        # otherwise walk it all (~100 ms with the container and the index) and stall every slot in flight.
        gc.freeze()
        self._subscription = self._bus.subscribe(CHANGED_TOPIC, lambda _event: self._reload_wanted.set())
        self._tasks = [asyncio.create_task(self._flush_loop()), asyncio.create_task(self._reload_loop())]

    async def close(self) -> None:
        if self._subscription is not None:
            self._subscription.cancel()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):
            await self.flush()  # the last window is charged, not lost

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.flush_interval_s)
            try:
                await self.flush()
            except Exception:
                log.exception("ads flush failed; the window's events are dropped uncharged")

    async def _reload_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reload_wanted.wait(), RELOAD_S)
            self._reload_wanted.clear()
            try:
                await self.reload()
            except Exception:
                log.exception("ads reload failed; serving from the last index")

    # --- the index --------------------------------------------------------------------------------------------

    async def reload(self) -> None:
        """Read what may serve and the durable counters; keep what this process served but has not flushed."""
        now = self._clock.now_ms()

        def unit(conn: Connection) -> tuple[Any, ...]:
            found = srepo.servable_ads(conn)
            days = {a.ad_set_id: pacing.day_of(now, a.timezone).day for a in found}
            totals = srepo.set_totals(conn, days)
            accounts = sorted({a.account_id for a in found})
            spent = srepo.account_spend(conn, accounts)
            caps = srepo.spend_caps(conn, accounts)
            consented = srepo.consented_interests(conn)
            wallets: dict[int, int | None] = {}
            for waba_id in {a.waba_id for a in found}:
                account = self._journal.account(conn, advertiser_wallet_key(waba_id))
                wallets[waba_id] = 0 if account is None else account.available
            return found, days, totals, spent, caps, wallets, consented

        async with self._lock:
            found, days, totals, spent, caps, wallets, consented = await self._db.read(unit)
            self._consented = consented
            pending_set: dict[int, int] = defaultdict(int)
            pending_waba: dict[int, int] = defaultdict(int)
            pending_account: dict[int, int] = defaultdict(int)
            pending_events: dict[int, int] = defaultdict(int)
            for b in self._buffer:
                pending_set[b.ad.ad_set_id] += b.price
                pending_waba[b.ad.waba_id] += b.price
                pending_account[b.ad.account_id] += b.price
                pending_events[b.ad.ad_set_id] += 1
            sets: dict[int, _SetState] = {}
            billing = {a.ad_set_id: a.billing_event for a in found}
            for set_id, day in days.items():
                t = totals[set_id]
                billed = t.clicks if billing[set_id] == auction.CLICKS else t.impressions
                sets[set_id] = _SetState(
                    day,
                    t.day_spent + pending_set[set_id],
                    t.lifetime_spent + pending_set[set_id],
                    t.impressions + pending_events[set_id],
                    t.clicks,
                    billed + pending_events[set_id],
                )
            self._ads = found
            self._sets = sets
            self._wallets = {w: (None if v is None else v - pending_waba[w]) for w, v in wallets.items()}
            self._account_left = {
                a: (None if cap is None else cap - spent.get(a, 0) - pending_account[a]) for a, cap in caps.items()
            }
            self._index = {}
            today = set(days.values())
            if self._freq_days - today:  # a day ended somewhere: forget its counts (else leave the dict alone)
                self._freq = {k: v for k, v in self._freq.items() if v[0] in today}
                self._freq_days = today & self._freq_days
            self.loaded = True

    def _candidates(self, market: str, language: str) -> list[srepo.ServableAd]:
        """The ads whose market and language targeting admit this slot, best static value first."""
        key = (market, language)
        found = self._index.get(key)
        if found is None:
            found = [
                a
                for a in self._ads
                if (not a.targeting.countries or market in a.targeting.countries)
                and (not a.targeting.languages or language in a.targeting.languages)
            ]
            found.sort(key=self._static_value, reverse=True)
            if len(self._index) > 10_000:
                self._index.clear()
            self._index[key] = found
        return found

    def _static_value(self, ad: srepo.ServableAd) -> float:
        """The candidate order's key: the stated bid per event × the learned action rate + quality (cheap: a
        slot re-prices only the first two eligible candidates)."""
        state = self._sets.get(ad.ad_set_id)
        ctr = (
            auction.estimated_ctr(state.clicks, state.impressions) if state is not None else auction.estimated_ctr(0, 0)
        )
        if ad.bid_amount is not None:
            bid = auction.per_event(ad.billing_event, ad.bid_amount)
        else:
            budget = ad.daily_budget or ad.lifetime_budget or 0
            bid = budget // (1000 if ad.billing_event == auction.IMPRESSIONS else 100)
        return bid * auction.action_rate(ad.billing_event, ctr) + auction.quality_term(ad.quality)

    # --- pricing ----------------------------------------------------------------------------------------------

    def _day(self, timezone: str, now: int) -> pacing.DayPosition:
        """The account's local day (cached per time zone until it ends: no date maths per candidate)."""
        position = self._days.get(timezone)
        if position is None or not position.start_ms <= now < position.end_ms:
            position = self._days[timezone] = pacing.day_of(now, timezone)
        return position

    def _budget(self, ad: srepo.ServableAd, now: int, state: _SetState) -> tuple[int, int, float]:
        """(budget, spent, elapsed fraction) of the ad set's pacing period."""
        if ad.daily_budget is not None:
            position = self._day(ad.timezone, now)
            spent = state.day_spent if state.day == position.day else 0
            return ad.daily_budget, spent, position.fraction(now)
        budget = ad.lifetime_budget or 0
        return budget, state.lifetime_spent, pacing.lifetime_fraction(now, ad.start_time, ad.end_time)

    def _state(self, ad: srepo.ServableAd, now: int) -> _SetState:
        state = self._sets.get(ad.ad_set_id)
        if state is None:
            state = self._sets[ad.ad_set_id] = _SetState(self._day(ad.timezone, now).day, 0, 0, 0, 0, 0)
        day = self._day(ad.timezone, now).day if ad.daily_budget is not None else state.day
        if state.day != day:  # a new day of the account's time zone: today's spend starts at 0
            state.day, state.day_spent = day, 0
        return state

    def _bid_of(self, ad: srepo.ServableAd, now: int) -> auction.Bid:
        state = self._state(ad, now)
        budget, spent, fraction = self._budget(ad, now, state)
        per_day = ad.daily_budget if ad.daily_budget is not None else budget
        if ad.daily_budget is None and ad.end_time is not None and ad.end_time > ad.start_time:
            per_day = budget * pacing.DAY_MS // (ad.end_time - ad.start_time)
        ctr = auction.estimated_ctr(state.clicks, state.impressions)
        bid = auction.effective_bid(
            ad.bid_strategy,
            ad.billing_event,
            ad.bid_amount,
            events=state.events,
            spent=state.lifetime_spent,
            budget_per_day=per_day,
            pace_ratio=pacing.pace_ratio(ad.pacing, budget, spent, fraction),
        )
        return auction.Bid(ad.ad_id, bid, auction.action_rate(ad.billing_event, ctr), ad.quality)

    # --- serving ----------------------------------------------------------------------------------------------

    def interests_of(self, viewer: str) -> frozenset[str]:
        """The interest segments the viewer consented to (as of the last reload; nothing without consent)."""
        return self._consented.get(viewer, frozenset())

    def serve(self, placement: str, market: str, language: str, viewer: str) -> Served | None:
        """Fill one slot, or None. Looks at candidates in value order and stops at the first two eligible."""
        now = self._clock.now_ms()
        market, language = market.upper()[:2], language.lower()[:8]
        interest_ok = market not in self._no_interest
        interests = self._consented.get(viewer, frozenset()) if interest_ok else frozenset()
        found: list[tuple[srepo.ServableAd, auction.Bid, int, frozenset[str]]] = []
        for ad in self._candidates(market, language):
            if ad.start_time > now or (ad.end_time is not None and ad.end_time <= now):
                continue
            matched_interests: frozenset[str] = frozenset()
            if ad.targeting.interests:
                if not interest_ok:
                    continue  # no interest targeting in these markets
                matched_interests = ad.targeting.interests & interests
                if not matched_interests:
                    continue
            seen = self._freq.get((viewer, ad.ad_set_id))
            state = self._state(ad, now)
            if seen is not None and seen[0] == state.day and not pacing.under_frequency_cap(seen[1], ad.frequency_cap):
                continue
            budget, spent, fraction = self._budget(ad, now, state)
            if not pacing.may_serve(ad.pacing, budget, spent, fraction, 1):
                continue  # out of budget or ahead of its even line: checked before pricing, it is cheaper
            bid = self._bid_of(ad, now)
            reserve = auction.reserve_per_event(ad.billing_event, self._reserve_cpm, bid.rate)
            if bid.bid < reserve or bid.bid <= 0:
                continue
            wallet = self._wallets.get(ad.waba_id, 0)
            if wallet is not None and wallet < bid.bid:
                continue  # the business cannot pay one event
            left = self._account_left.get(ad.account_id)
            if left is not None and left < bid.bid:
                continue
            if any(f[0].ad_set_id == ad.ad_set_id for f in found):
                continue  # one ad per ad set per auction: an advertiser does not bid against itself
            found.append((ad, bid, reserve, matched_interests))
            if len(found) == 2:
                break
        if not found:
            return None
        outcome = auction.run_auction([f[1] for f in found], {f[1].ad_id: f[2] for f in found})
        if outcome is None:
            return None
        winner_bid, price = outcome
        ad, _, _, matched_interests = next(f for f in found if f[1].ad_id == winner_bid.ad_id)
        state = self._state(ad, now)
        seen = self._freq.get((viewer, ad.ad_set_id))
        count = seen[1] + 1 if seen is not None and seen[0] == state.day else 1
        self._freq[(viewer, ad.ad_set_id)] = (state.day, count)
        self._freq_days.add(state.day)
        impression_id = self._ids.next_id()
        state.impressions += 1
        charged = price if ad.billing_event == auction.IMPRESSIONS else 0
        if charged:
            self._spend(ad, state, charged)
            state.events += 1
        self._buffer.append(_Billed(impression_id, ad, viewer, placement, market, charged, state.day, now))
        matched: dict[str, Any] = {}
        if ad.targeting.countries:
            matched["market"] = market
        if ad.targeting.languages:
            matched["language"] = language
        if matched_interests:
            matched["interests"] = sorted(matched_interests)
        return Served(impression_id, ad, price, matched)

    def _spend(self, ad: srepo.ServableAd, state: _SetState, amount: int) -> None:
        state.day_spent += amount
        state.lifetime_spent += amount
        wallet = self._wallets.get(ad.waba_id)
        if wallet is not None:
            self._wallets[ad.waba_id] = wallet - amount
        left = self._account_left.get(ad.account_id)
        if left is not None:
            self._account_left[ad.account_id] = left - amount

    def note_click(self, ad_set_id: int, charged: int, waba_id: int, account_id: int) -> None:
        """A click recorded by clicks.py: the click-rate estimate learns it; a charged click counts as spend."""
        state = self._sets.get(ad_set_id)
        if state is None:
            return
        state.clicks += 1
        if charged:
            state.day_spent += charged
            state.lifetime_spent += charged
            state.events += 1
            wallet = self._wallets.get(waba_id)
            if wallet is not None:
                self._wallets[waba_id] = wallet - charged
            left = self._account_left.get(account_id)
            if left is not None:
                self._account_left[account_id] = left - charged

    # --- flushing ---------------------------------------------------------------------------------------------

    async def flush(self) -> FlushResult:
        """Write the buffered events in one unit: impressions, day counters, one ledger transfer per ad set."""
        async with self._lock:
            batch, self._buffer = self._buffer, []
            if not batch:
                return FlushResult()
            batch_id = self._ids.next_id()
            try:
                result = await self._db.write("ads.flush", lambda conn: self._flush_in(conn, batch, batch_id))
            except Exception:
                log.exception("ads flush of %d events failed; they are dropped uncharged", len(batch))
                for b in batch:
                    self._unspend(b)
                raise
            for set_id in result.unpaid_sets:
                for b in batch:
                    if b.ad.ad_set_id == set_id:
                        self._unspend(b)
                        self._wallets[b.ad.waba_id] = 0  # stop until a reload sees a topped-up wallet
            return result

    def _unspend(self, b: _Billed) -> None:
        state = self._sets.get(b.ad.ad_set_id)
        if state is not None and b.price:
            state.lifetime_spent -= b.price
            if state.day == b.day:
                state.day_spent -= b.price

    def _flush_in(self, conn: Connection, batch: list[_Billed], batch_id: int) -> FlushResult:
        result = FlushResult()
        groups: dict[int, list[_Billed]] = defaultdict(list)
        for b in batch:
            groups[b.ad.ad_set_id].append(b)
        rows: list[tuple[Any, ...]] = []
        for set_id, items in groups.items():
            ad = items[0].ad
            amount = sum(b.price for b in items)
            paid = amount == 0 or self._charge(conn, ad, amount, spend_transfer_key(set_id, batch_id), batch_id)
            if not paid:
                result.unpaid_sets.append(set_id)
            by_day: dict[str, list[_Billed]] = defaultdict(list)
            for b in items:
                by_day[b.day].append(b)
            for day, day_items in by_day.items():
                charged = sum(b.price for b in day_items) if paid else 0
                srepo.add_spend(conn, set_id, day, charged, len(day_items), 0)
            result.charged += amount if paid else 0
            for b in items:
                rows.append(
                    (
                        b.impression_id,
                        b.ad.ad_id,
                        set_id,
                        b.ad.campaign_id,
                        b.ad.account_id,
                        b.viewer,
                        b.placement,
                        b.market or "",
                        b.price if paid else 0,
                        b.at,
                    )
                )
        srepo.insert_impressions(conn, rows)
        result.impressions = len(rows)
        return result

    def charge_in(self, conn: Connection, ad: Any, amount: int, key: str, ref: int) -> bool:
        """Post one ads.spend transfer (wallet → ads revenue) inside the caller's unit; False when the wallet
        cannot pay it (nothing is then changed)."""
        return self._charge(conn, ad, amount, key, ref)

    def _charge(self, conn: Connection, ad: Any, amount: int, key: str, ref: int) -> bool:
        wallet = self._journal.open_account(
            conn,
            advertiser_wallet_key(ad.waba_id),
            currency=ad.currency,
            normal_side=CREDIT,
            kind="wallet",
            owner_id=ad.waba_id,
            floor_limit=0,
        )
        if wallet.available is not None and wallet.available < amount:
            return False
        revenue_key = ads_revenue_key(ad.currency)
        revenue = self._journal.open_account(
            conn, revenue_key, currency=ad.currency, normal_side=CREDIT, kind="revenue"
        )
        try:
            self._journal.transfer(
                conn,
                key,
                debit=wallet,
                credit=revenue,
                amount=amount,
                code="ads.spend",
                refs={"waba_id": ad.waba_id, "ad_set_id": ad.ad_set_id, "batch_id": ref},
            )
        except InsufficientFundsError:  # a message hold took it since the read: the debit changed nothing
            return False
        return True

    # --- for tests and the bench --------------------------------------------------------------------------------

    def pending(self) -> int:
        return len(self._buffer)

    def servable_count(self) -> int:
        return len(self._ads)


def new_clid() -> str:
    """A click id the web client accepts (`[A-Za-z0-9_-]{1,64}`)."""
    return "PRL" + secrets.token_urlsafe(24)
