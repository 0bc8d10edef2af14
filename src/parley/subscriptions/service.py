"""Subscriptions: creators' plans, people's subscriptions paid from their Parley Pay wallet, the renewal sweep with
its grace, cancellation, pro-rata refunds, and the two seams other domains consult (paid groups' join gate and
channels' subscriber-only access).

Every charge or refund is one write unit with its ledger transfers (keys from `books`), so a retried unit moves
nothing twice and a failed one leaves nothing behind. The rules are written down in docs/subscriptions.md.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import phonenumbers
from sqlalchemy import Connection

from parley import accounts, channels, ledger, messaging
from parley.config import SubscriptionSettings
from parley.graph import GraphError, GraphScope, object_not_found
from parley.kit.clock import Clock
from parley.kit.errors import (
    AppError,
    ConflictError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
)
from parley.kit.ids import IdGenerator, parse_id
from parley.kit.money import format_amount, minor_units, parse_amount
from parley.kit.periodic import PeriodicTask
from parley.payments import MarketLimits, PersonPayments, Wallets
from parley.payments.books import (
    open_merchant_payable_in,
    person_wallet_key,
)
from parley.platform.db import Database
from parley.subscriptions import repository as repo
from parley.subscriptions.books import charge_key, subscriptions_clearing_key, subscriptions_revenue_key
from parley.subscriptions.periods import DAY_MS, anniversary, next_period_end, platform_cut, prorated_refund, share_of
from parley.subscriptions.repository import ChargeRow, PlanRow, PriceRow, SubscriptionRow

MONTHLY, ONE_OFF = "monthly", "one_off"
CHANNEL, GROUP = "channel", "group"
ACTIVE, PAST_DUE, CANCELED, EXPIRED, REFUNDED = "active", "past_due", "canceled", "expired", "refunded"
MAX_KEY_LENGTH = 100
_MARKET = re.compile(r"[A-Z]{2}|\*")


class PaymentRequiredError(AppError):
    """A paid group refuses someone without a subscription (the message names the price)."""

    status = 402
    code = "subscription_required"


class PlanNotFoundError(NotFoundError):
    code = "plan_not_found"


@dataclass(frozen=True)
class PriceIn:
    market: str
    amount: str
    currency: str


@dataclass(frozen=True)
class PlanIn:
    name: str
    description: str
    billing: str
    prices: list[PriceIn]


@dataclass(frozen=True)
class PlanChange:
    name: str | None = None
    description: str | None = None
    prices: list[PriceIn] | None = None
    active: bool | None = None


@dataclass(frozen=True)
class Earnings:
    currency: str
    gross: int  # charged less refunded
    cut: int  # the platform's part of it

    @property
    def net(self) -> int:
        return self.gross - self.cut


@dataclass(frozen=True)
class PlanView:
    plan: PlanRow
    prices: list[PriceRow]


@dataclass(frozen=True)
class SubscriptionView:
    subscription: SubscriptionRow
    plan: PlanRow
    charges: list[ChargeRow]


@dataclass(frozen=True)
class Offer:
    """What a person sees of a channel's or group's plan: their price, their subscription, and (the creator and
    admins only) the prices, the number of live subscribers and the earnings."""

    plan: PlanRow
    price: PriceRow | None  # None: not offered in the viewer's market
    subscription: SubscriptionRow | None
    manages: bool
    prices: list[PriceRow] = field(default_factory=list)
    subscribers: int = 0
    earnings: list[Earnings] = field(default_factory=list)


def money(micros: int, currency: str) -> str:
    """An amount as people read it ("49.90 BRL")."""
    return f"{format_amount(micros, minor_units(currency))} {currency}"


def day_text(ms: int) -> str:
    """A date as the chat notices write it ("7 Jan 2027", UTC)."""
    moment = datetime.datetime.fromtimestamp(ms // 1000, datetime.UTC)
    return f"{moment.day} {moment:%b %Y}"


def price_label(price: PriceRow, billing: str) -> str:
    return money(price.amount, price.currency) + ("/month" if billing == MONTHLY else " once")


def price_for(prices: Sequence[PriceRow], market: str) -> PriceRow | None:
    """The market's own price, else the "*" price for everywhere else."""
    by_market = {p.market: p for p in prices}
    return by_market.get(market) or by_market.get("*")


def has_access(sub: SubscriptionRow, now: int) -> bool:
    """Paid through the period (or for good), or inside the grace after a failed renewal."""
    if sub.status == ACTIVE:
        return sub.current_period_end is None or sub.current_period_end > now
    return sub.status == PAST_DUE and sub.grace_until is not None and sub.grace_until > now


class SubscriptionChannelAccess:
    """Channels' seam (`channels.ChannelSubscriptions`): which channels sell subscriptions, which a person reads."""

    def paid_channels_in(self, conn: Connection, channel_ids: Sequence[int]) -> set[int]:
        return {p.target_id for p in repo.plans_of_targets(conn, CHANNEL, list(channel_ids)) if p.active}

    def subscribed_channels_in(self, conn: Connection, user_id: int, channel_ids: Sequence[int], now: int) -> set[int]:
        return repo.reachable_targets(conn, CHANNEL, list(channel_ids), user_id, now)


class PaidGroupGate:
    """Messaging's seam (`messaging.JoinGate`): a group with a plan lets in only people with live access."""

    def __init__(self, limits: MarketLimits) -> None:
        self._limits = limits

    def check_join_in(self, conn: Connection, chat_id: int, user_ids: Collection[int], now: int) -> None:
        plan = repo.plan_of_target(conn, GROUP, chat_id)
        if plan is None or not user_ids:
            return
        candidates = [u for u in user_ids if u != plan.creator_id]
        for user_id in candidates:
            if not repo.reachable_targets(conn, GROUP, [chat_id], user_id, now):
                if not plan.active:
                    raise PaymentRequiredError("This group is paid and takes no new subscribers at the moment")
                users = accounts.get_users(conn, [user_id])
                market = self._limits.market_of(users[user_id].phone) if user_id in users else "ZZ"
                price = price_for(repo.prices(conn, plan.id), market)
                offer = "" if price is None else f": subscribe for {price_label(price, plan.billing)} to join"
                raise PaymentRequiredError(f"This group is paid{offer}")


@dataclass
class _Outcome:
    """What a unit did that is published after it commits."""

    committed: list[messaging.Committed] = field(default_factory=list)


class SubscriptionService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        journal: ledger.Ledger,
        wallets: Wallets,
        pins: PersonPayments,
        messages: messaging.MessagingService,
        limits: MarketLimits,
        settings: SubscriptionSettings,
    ) -> None:
        self._db, self._clock, self._ids, self._journal = db, clock, ids, journal
        self._wallets, self._pins, self._messages, self._limits = wallets, pins, messages, limits
        self._settings = settings
        self._max_price = parse_amount(settings.max_price)
        self.channel_access = SubscriptionChannelAccess()
        self.join_gate = PaidGroupGate(limits)
        self._sweep = PeriodicTask("subscriptions-renew", settings.sweep_interval_s, self.renew_due)

    def start(self) -> None:
        """Start the renewal sweep (charges on anniversaries, retries in grace, ends)."""
        self._sweep.start()

    async def close(self) -> None:
        await self._sweep.close()

    # --- plans ---------------------------------------------------------------------------------------------------

    async def create_plan(self, user_id: int, target_kind: str, raw_target_id: str, body: PlanIn) -> PlanView:
        target_id = self._target_id(target_kind, raw_target_id)
        name, description = _checked_text(body.name, body.description)
        if body.billing not in (MONTHLY, ONE_OFF):
            raise InvalidInputError("billing is monthly or one_off")
        if body.billing == ONE_OFF and target_kind != GROUP:
            raise InvalidInputError("a one-off price is for paid groups; a channel subscription is monthly")
        new_prices = self._checked_prices(body.prices)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> PlanView:
            creator_id = self._require_manager(conn, target_kind, target_id, user_id)
            if repo.plan_of_target(conn, target_kind, target_id) is not None:
                raise ConflictError(f"this {target_kind} has a plan already: change it instead")
            plan_id = self._ids.next_id()
            repo.insert_plan(
                conn,
                {
                    "id": plan_id,
                    "target_kind": target_kind,
                    "target_id": target_id,
                    "creator_id": creator_id,
                    # A business's channel: the proceeds go to its payable and are paid out as a merchant's are.
                    "waba_id": channels.channel_waba_in(conn, target_id) if target_kind == CHANNEL else None,
                    "billing": body.billing,
                    "name": name,
                    "description": description,
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            repo.replace_prices(conn, plan_id, new_prices)
            return self._plan_view(conn, plan_id)

        return await self._db.write("subscriptions.create_plan", unit)

    async def change_plan(self, user_id: int, raw_plan_id: str, change: PlanChange) -> PlanView:
        """Rename, reprice (each subscriber's next renewal; they are told in the chat) or (de)activate a plan.
        Deactivated: no new subscribers and no renewals; everyone keeps access to the end of the paid period."""
        plan_id = _plan_id(raw_plan_id)
        new_prices = None if change.prices is None else self._checked_prices(change.prices)
        now = self._clock.now_ms()
        outcome = _Outcome()

        def unit(conn: Connection) -> PlanView:
            plan = self._managed_plan(conn, plan_id, user_id)
            values: dict[str, object] = {"updated_at": now}
            if change.name is not None or change.description is not None:
                values["name"], values["description"] = _checked_text(
                    plan.name if change.name is None else change.name,
                    plan.description if change.description is None else change.description,
                )
            if change.active is not None:
                values["active"] = change.active
            repo.update_plan(conn, plan_id, **values)
            live = repo.live_subscriptions_of_plan(conn, plan_id)
            if new_prices is not None:
                repo.replace_prices(conn, plan_id, new_prices)
                for sub in live if plan.billing == MONTHLY else []:
                    price = price_for(new_prices, sub.market)
                    if price is None or (price.amount, price.currency) == (sub.amount, sub.currency):
                        continue
                    repo.update_subscription(conn, sub.id, amount=price.amount, currency=price.currency, updated_at=now)
                    self._tell_in(
                        conn,
                        plan,
                        sub.subscriber_id,
                        f"subscription:{sub.id}:price:{now}",
                        f"The price of {plan.name} changes to {price_label(price, plan.billing)} from your next "
                        f"renewal on {day_text(sub.current_period_end or now)}.",
                        now,
                        outcome,
                    )
            if change.active is False and plan.active:
                for sub in live:
                    until = sub.current_period_end
                    ending = " you keep access." if until is None else f" your access lasts until {day_text(until)}."
                    self._tell_in(
                        conn,
                        plan,
                        sub.subscriber_id,
                        f"subscription:{sub.id}:plan-closed:{now}",
                        f"{plan.name} is no longer renewed: nothing more will be charged;{ending}",
                        now,
                        outcome,
                    )
            return self._plan_view(conn, plan_id)

        view = await self._db.write("subscriptions.change_plan", unit)
        await self._publish(outcome)
        return view

    async def end_plan_now(self, user_id: int, raw_plan_id: str) -> int:
        """Deactivate a plan and end every live subscription at once, each refunded pro rata (the unused days of
        its current period); the number ended."""
        plan_id = _plan_id(raw_plan_id)
        now = self._clock.now_ms()
        outcome = _Outcome()

        def unit(conn: Connection) -> int:
            plan = self._managed_plan(conn, plan_id, user_id)
            repo.update_plan(conn, plan_id, active=False, updated_at=now)
            live = repo.live_subscriptions_of_plan(conn, plan_id)
            for sub in live:
                self._refund_in(conn, plan, sub, prorated=True, now=now, outcome=outcome, why="the plan ended")
            return len(live)

        ended = await self._db.write("subscriptions.end_plan", unit)
        await self._publish(outcome)
        return ended

    async def offer(self, viewer_id: int, target_kind: str, raw_target_id: str) -> Offer:
        """The plan of a channel or group as `viewer_id` sees it (404 when it has none)."""
        target_id = self._target_id(target_kind, raw_target_id)

        def unit(conn: Connection) -> Offer:
            plan = repo.plan_of_target(conn, target_kind, target_id)
            # A group's plan is seen by its members and its (past) subscribers; anyone else sees it through an
            # invite link (`offer_of_invite`), as they would the group. Channels are public.
            hidden = (
                target_kind == GROUP
                and self._messages.group_role_in(conn, target_id, viewer_id) is None
                and (plan is None or repo.subscription_of(conn, plan.id, viewer_id) is None)
            )
            if hidden:
                raise NotFoundError("no such group")
            if plan is None:
                raise PlanNotFoundError(f"this {target_kind} sells no subscription")
            return self._offer_in(conn, plan, viewer_id)

        return await self._db.read(unit)

    async def offer_of_invite(self, viewer_id: int, code: str) -> tuple[str, Offer | None]:
        """The group an invite link leads into and its plan (None: a free group), for the join screen."""

        def unit(conn: Connection) -> tuple[str, Offer | None]:
            chat_id = self._messages.group_of_invite_in(conn, code)
            if chat_id is None:
                raise NotFoundError("this invite link is not valid (any more)")
            plan = repo.plan_of_target(conn, GROUP, chat_id)
            return str(chat_id), None if plan is None else self._offer_in(conn, plan, viewer_id)

        return await self._db.read(unit)

    # --- subscribing -----------------------------------------------------------------------------------------------

    async def subscribe(self, user_id: int, raw_plan_id: str, pin: object, key: str | None) -> SubscriptionView:
        """Pay the first period (or the one-off price) from the wallet, with the payment PIN, once per
        Idempotency-Key; a paid group's subscriber joins the group in the same unit."""
        key = _checked_key(key)
        plan_id = _plan_id(raw_plan_id)
        retry = await self._db.read(lambda conn: repo.charge_by_key(conn, user_id, key))
        if retry is None:
            await self._pins.check_spending_pin(user_id, pin)
        now = self._clock.now_ms()
        outcome = _Outcome()

        def unit(conn: Connection) -> SubscriptionView:
            plan = repo.plan(conn, plan_id, lock=True)  # a racing retry waits here, then finds the first charge
            first = repo.charge_by_key(conn, user_id, key)
            if first is not None:
                sub = repo.subscription(conn, first.subscription_id)
                assert sub is not None
                if sub.plan_id != plan_id:
                    raise IdempotencyKeyReusedError("this Idempotency-Key was used for another subscription")
                return self._subscription_view(conn, sub.id)
            if plan is None:
                raise PlanNotFoundError("no such plan")
            if not plan.active:
                raise ConflictError(f"{plan.name} takes no new subscribers")
            if self._manages_in(conn, plan, user_id):
                raise ConflictError("you run this plan: admins and the creator have access without subscribing")
            users = accounts.get_users(conn, [user_id])
            market = self._limits.market_of(users[user_id].phone)
            price = price_for(repo.prices(conn, plan.id), market)
            if price is None:
                raise ConflictError(f"{plan.name} is not offered in your country")
            existing = repo.subscription_of(conn, plan.id, user_id)
            if existing is not None and (has_access(existing, now) or existing.status == PAST_DUE):
                detail = " (it is set to cancel: resume it instead)" if existing.cancel_at_period_end else ""
                raise ConflictError(f"you are subscribed to {plan.name} already{detail}")
            self._require_funds_in(conn, user_id, price.amount, price.currency)
            period = 1 if existing is None else existing.period + 1
            end = anniversary(now, 1) if plan.billing == MONTHLY else None
            values = {
                "status": ACTIVE,
                "market": market,
                "currency": price.currency,
                "amount": price.amount,
                "period": period,
                "current_period_start": now,
                "current_period_end": end,
                "anchor_at": now,
                "cancel_at_period_end": False,
                "grace_until": None,
                "next_attempt_at": end,
                "failed_attempts": 0,
                "updated_at": now,
                "ended_at": None,
            }
            if existing is None:
                sub_id = self._ids.next_id()
                values |= {"id": sub_id, "plan_id": plan.id, "subscriber_id": user_id, "created_at": now}
                repo.insert_subscription(conn, values)
            else:
                sub_id = existing.id
                repo.update_subscription(conn, sub_id, **values)
            sub = repo.subscription(conn, sub_id)
            assert sub is not None
            self._charge_in(conn, plan, sub, period, 1, key, now)
            self._grant_in(conn, plan, sub, now, outcome)
            return self._subscription_view(conn, sub_id)

        view = await self._db.write("subscriptions.subscribe", unit)
        await self._publish(outcome)
        return view

    async def cancel(self, user_id: int, raw_subscription_id: str) -> SubscriptionView:
        """Cancel at the end of the paid period: no refund, no more charges, access until then."""
        return await self._set_cancel(user_id, raw_subscription_id, True)

    async def resume(self, user_id: int, raw_subscription_id: str) -> SubscriptionView:
        """Undo a cancellation before the period ends: renewals go on as before."""
        return await self._set_cancel(user_id, raw_subscription_id, False)

    async def _set_cancel(self, user_id: int, raw_subscription_id: str, cancel: bool) -> SubscriptionView:
        sub_id = _subscription_id(raw_subscription_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> SubscriptionView:
            sub = repo.subscription(conn, sub_id)
            if sub is None or sub.subscriber_id != user_id:
                raise NotFoundError("no such subscription")
            if sub.current_period_end is None:
                raise ConflictError("a one-off purchase has no renewals to cancel: it stays yours")
            if sub.status not in repo.LIVE:
                raise ConflictError("this subscription has ended: subscribe again instead")
            if not cancel and sub.status == PAST_DUE:
                raise ConflictError("this subscription is past due: top up your wallet and it renews")
            repo.update_subscription(conn, sub_id, cancel_at_period_end=cancel, updated_at=now)
            return self._subscription_view(conn, sub_id)

        return await self._db.write("subscriptions.cancel" if cancel else "subscriptions.resume", unit)

    async def mine(self, user_id: int) -> list[SubscriptionView]:
        def unit(conn: Connection) -> list[SubscriptionView]:
            return [self._subscription_view(conn, s.id) for s in repo.subscriptions_of_person(conn, user_id)]

        return await self._db.read(unit)

    async def subscribers(self, user_id: int, raw_plan_id: str) -> list[SubscriptionRow]:
        """A plan's live subscriptions, for its creator and admins (ids and states; no phone numbers)."""
        plan_id = _plan_id(raw_plan_id)

        def unit(conn: Connection) -> list[SubscriptionRow]:
            self._managed_plan(conn, plan_id, user_id)
            return repo.live_subscriptions_of_plan(conn, plan_id)

        return await self._db.read(unit)

    # --- refunds ----------------------------------------------------------------------------------------------------

    async def remove_subscriber(self, user_id: int, raw_subscription_id: str) -> SubscriptionView:
        """The creator ends someone's subscription now: the unused days of the period are refunded pro rata."""
        return await self._refund(user_id, raw_subscription_id, prorated=True)

    async def refund(self, user_id: int | None, raw_subscription_id: str, *, prorated: bool) -> SubscriptionView:
        """The creator's (`user_id`) or the operator's (None) refund of the latest charge, in full or pro rata;
        the subscription ends with it. Refused (409) when the creator's balance no longer covers their part."""
        return await self._refund(user_id, raw_subscription_id, prorated=prorated)

    async def _refund(self, user_id: int | None, raw_subscription_id: str, *, prorated: bool) -> SubscriptionView:
        sub_id = _subscription_id(raw_subscription_id)
        now = self._clock.now_ms()
        outcome = _Outcome()

        def unit(conn: Connection) -> SubscriptionView:
            sub = repo.subscription(conn, sub_id)
            plan = None if sub is None else repo.plan(conn, sub.plan_id)
            if sub is None or plan is None or (user_id is not None and not self._manages_in(conn, plan, user_id)):
                raise NotFoundError("no such subscription")
            if sub.status not in repo.LIVE:
                raise ConflictError("this subscription has ended already")
            self._refund_in(conn, plan, sub, prorated=prorated, now=now, outcome=outcome, why="the creator ended it")
            return self._subscription_view(conn, sub_id)

        view = await self._db.write("subscriptions.refund", unit)
        await self._publish(outcome)
        return view

    # --- renewals --------------------------------------------------------------------------------------------------

    async def renew_due(self, limit: int = 500) -> int:
        """One pass of the sweep: every renewal, retry or end due now, each in its own unit; the number handled."""
        now = self._clock.now_ms()
        due = await self._db.read(lambda conn: repo.due_subscriptions(conn, now, limit))
        for sub_id in due:
            await self._renew(sub_id)
        return len(due)

    async def _renew(self, sub_id: int) -> None:
        now = self._clock.now_ms()
        outcome = _Outcome()

        def unit(conn: Connection) -> None:
            sub = repo.subscription(conn, sub_id, lock=True)
            if sub is None or sub.next_attempt_at is None or sub.next_attempt_at > now:
                return  # another process handled it meanwhile
            plan = repo.plan(conn, sub.plan_id)
            assert plan is not None
            if sub.cancel_at_period_end or not plan.active or sub.current_period_end is None:
                self._end_in(conn, plan, sub, CANCELED, now, outcome)
                return
            assert sub.current_period_end is not None
            period = sub.period + 1
            attempt = repo.next_attempt(conn, sub.id, period, "charge")
            if self._has_funds_in(conn, sub.subscriber_id, sub.amount, sub.currency):
                start = sub.current_period_end  # the anniversary, not the (later) retry
                end = next_period_end(sub.anchor_at, start)
                repo.update_subscription(
                    conn,
                    sub.id,
                    status=ACTIVE,
                    period=period,
                    current_period_start=start,
                    current_period_end=end,
                    grace_until=None,
                    next_attempt_at=end,
                    failed_attempts=0,
                    updated_at=now,
                )
                self._charge_in(conn, plan, sub, period, attempt, None, now)
                if sub.status == PAST_DUE:
                    self._tell_in(
                        conn,
                        plan,
                        sub.subscriber_id,
                        f"subscription:{sub.id}:period:{period}:recovered",
                        f"Your payment for {plan.name} went through: you keep access until {day_text(end)}.",
                        now,
                        outcome,
                    )
                return
            repo.insert_charge(
                conn,
                ChargeRow(
                    self._ids.next_id(),
                    sub.id,
                    period,
                    attempt,
                    "charge",
                    "failed",
                    sub.amount,
                    0,
                    sub.currency,
                    "insufficient_funds",
                    None,
                    now,
                ),
            )
            grace_until = sub.grace_until or sub.current_period_end + self._settings.grace_days * DAY_MS
            if now >= grace_until:
                self._end_in(conn, plan, sub, EXPIRED, now, outcome)
                return
            retry_ms = int(self._settings.retry_every_hours * 3_600_000)
            repo.update_subscription(
                conn,
                sub.id,
                status=PAST_DUE,
                grace_until=grace_until,
                next_attempt_at=min(now + retry_ms, grace_until),
                failed_attempts=sub.failed_attempts + 1,
                updated_at=now,
            )
            if sub.status == ACTIVE:
                self._tell_in(
                    conn,
                    plan,
                    sub.subscriber_id,
                    f"subscription:{sub.id}:period:{period}:failed",
                    f"Your payment of {money(sub.amount, sub.currency)} for {plan.name} failed: your wallet has too "
                    f"little. Top up by {day_text(grace_until)} to keep access.",
                    now,
                    outcome,
                )

        await self._db.write("subscriptions.renew", unit)
        await self._publish(outcome)

    # --- Business API: a business sells subscriptions to the channels it runs ----------------------------------

    async def business_plan(self, scope: GraphScope, raw_channel_id: str) -> Offer:
        """The plan of the business's channel with its prices, live subscribers count and earnings (who the
        subscribers are is never said). Error 100/33 when the channel is not the business's or sells nothing."""
        channel_id, owner_id = await self._business_channel(scope, raw_channel_id)
        try:
            return await self.offer(owner_id, CHANNEL, str(channel_id))
        except PlanNotFoundError:
            raise GraphError(
                100, "this channel sells no subscription: create its plan first", http_status=404
            ) from None

    async def business_save_plan(self, scope: GraphScope, raw_channel_id: str, change: PlanChange) -> Offer:
        """Create the channel's monthly plan (name and prices needed) or change the one it has: rename, reprice per
        market (from each subscriber's next renewal), `active=False` to take no new subscribers nor renewals."""
        channel_id, owner_id = await self._business_channel(scope, raw_channel_id)
        existing = await self._db.read(lambda conn: repo.plan_of_target(conn, CHANNEL, channel_id))
        if existing is None:
            if change.name is None or change.prices is None:
                raise InvalidInputError("the channel has no plan yet: send its name and prices to create it")
            plan = PlanIn(change.name, change.description or "", MONTHLY, change.prices)
            created = await self.create_plan(owner_id, CHANNEL, str(channel_id), plan)
            if change.active is False:
                await self.change_plan(owner_id, str(created.plan.id), PlanChange(active=False))
        else:
            await self.change_plan(owner_id, str(existing.id), change)
        return await self.offer(owner_id, CHANNEL, str(channel_id))

    async def _business_channel(self, scope: GraphScope, raw_channel_id: str) -> tuple[int, int]:
        """(channel, its owner) when the scope's business runs that channel; Meta's "does not exist" otherwise."""
        channel_id = parse_id(raw_channel_id)

        def unit(conn: Connection) -> int | None:
            if channel_id is None or channels.channel_waba_in(conn, channel_id) != scope.waba_id:
                return None
            return channels.channel_owner_in(conn, channel_id)

        owner_id = await self._db.read(unit)
        if channel_id is None or owner_id is None:
            raise object_not_found(raw_channel_id)
        return channel_id, owner_id

    # --- inside a unit -------------------------------------------------------------------------------------------

    def _charge_in(
        self,
        conn: Connection,
        plan: PlanRow,
        sub: SubscriptionRow,
        period: int,
        attempt: int,
        key: str | None,
        now: int,
    ) -> None:
        """subscriber wallet → clearing (amount); clearing → creator (amount − cut); clearing → revenue (cut)."""
        cur, amount = sub.currency, sub.amount
        bps = self._settings.cut_bp_by_market.get(sub.market, self._settings.platform_cut_bp)
        cut = platform_cut(amount, bps, cur)
        wallet, clearing, creator, revenue = self._books_in(conn, plan, sub.subscriber_id, cur)
        stem = charge_key(sub.id, period, attempt)
        refs = {"subscription_id": str(sub.id), "plan_id": str(plan.id), "reference": f"subscription: {plan.name}"}
        move = self._journal.transfer
        move(conn, stem, debit=wallet, credit=clearing, amount=amount, code="subscription.charge", refs=refs)
        move(
            conn, f"{stem}:net", debit=clearing, credit=creator, amount=amount - cut, code="subscription.net", refs=refs
        )
        if cut:
            move(conn, f"{stem}:cut", debit=clearing, credit=revenue, amount=cut, code="subscription.cut", refs=refs)
        charge = ChargeRow(
            self._ids.next_id(), sub.id, period, attempt, "charge", "succeeded", amount, cut, cur, None, key, now
        )
        repo.insert_charge(conn, charge)

    def _refund_in(
        self,
        conn: Connection,
        plan: PlanRow,
        sub: SubscriptionRow,
        *,
        prorated: bool,
        now: int,
        outcome: _Outcome,
        why: str,
    ) -> None:
        """Mirror the latest charge's three transfers for the refunded amount (all of it, or the unused days of
        the period), so the platform gives back its cut in proportion; then the subscription ends now."""
        charges = [c for c in repo.charges_of(conn, sub.id) if c.kind == "charge" and c.status == "succeeded"]
        charge = charges[-1]
        if prorated and sub.current_period_end is not None:
            back = prorated_refund(
                charge.amount, sub.current_period_start, sub.current_period_end, now, charge.currency
            )
        else:
            back = charge.amount
        if back:
            cut_back = share_of(back, charge.amount, charge.fee, charge.currency)
            wallet, clearing, creator, revenue = self._books_in(conn, plan, sub.subscriber_id, charge.currency)
            if creator.balance < back - cut_back:
                raise ConflictError("the creator's balance no longer covers this refund (it was spent or paid out)")
            stem = charge_key(sub.id, charge.period, charge.attempt) + ":refund"
            refs = {"subscription_id": str(sub.id), "plan_id": str(plan.id), "reference": f"refund: {plan.name}"}
            move, code = self._journal.transfer, "subscription.refund"
            move(conn, f"{stem}:net", debit=creator, credit=clearing, amount=back - cut_back, code=code, refs=refs)
            if cut_back:
                move(conn, f"{stem}:cut", debit=revenue, credit=clearing, amount=cut_back, code=code, refs=refs)
            move(conn, stem, debit=clearing, credit=wallet, amount=back, code=code, refs=refs)
            repo.insert_charge(
                conn,
                ChargeRow(
                    self._ids.next_id(),
                    sub.id,
                    charge.period,
                    charge.attempt,
                    "refund",
                    "succeeded",
                    back,
                    cut_back,
                    charge.currency,
                    None,
                    None,
                    now,
                ),
            )
        refunded = f" {money(back, charge.currency)} went back to your wallet." if back else ""
        self._end_in(
            conn, plan, sub, REFUNDED, now, outcome, f"Your subscription to {plan.name} ended: {why}.{refunded}"
        )

    def _end_in(
        self,
        conn: Connection,
        plan: PlanRow,
        sub: SubscriptionRow,
        status: str,
        now: int,
        outcome: _Outcome,
        notice: str | None = None,
    ) -> None:
        """End a subscription: access removed (out of the paid group; subscriber-only posts locked), person told."""
        repo.update_subscription(
            conn, sub.id, status=status, next_attempt_at=None, grace_until=None, ended_at=now, updated_at=now
        )
        if notice is None:
            notice = {
                CANCELED: f"Your subscription to {plan.name} ended, as you cancelled it.",
                EXPIRED: f"Your subscription to {plan.name} ended: the renewal payment failed and the grace "
                "period is over. Subscribe again to get back in.",
            }.get(status, f"Your subscription to {plan.name} ended.")
        if not plan.active and status == CANCELED:
            notice = f"Your subscription to {plan.name} ended: the plan is no longer offered."
        if plan.target_kind == GROUP:
            name = accounts.get_users(conn, [sub.subscriber_id])[sub.subscriber_id].name or "A member"
            outcome.committed.append(
                self._messages.remove_member_by_system_in(
                    conn,
                    plan.target_id,
                    sub.subscriber_id,
                    f"{name}'s subscription ended",
                    plan.creator_id,
                    f"subscription:{sub.id}:period:{sub.period}:ended:group",
                    now,
                )
            )
        else:
            channels.adjust_subscriber_count_in(conn, plan.target_id, -1)
        # Told in the 1:1 chat with the creator: a notice in the group would be out of sight once they are out.
        self._tell_in(
            conn, plan, sub.subscriber_id, f"subscription:{sub.id}:period:{sub.period}:ended", notice, now, outcome
        )

    def _grant_in(self, conn: Connection, plan: PlanRow, sub: SubscriptionRow, now: int, outcome: _Outcome) -> None:
        if plan.target_kind == GROUP:
            outcome.committed.append(
                self._messages.add_member_by_system_in(conn, plan.target_id, sub.subscriber_id, now)
            )
        else:
            channels.adjust_subscriber_count_in(conn, plan.target_id, 1)

    def _tell_in(
        self, conn: Connection, plan: PlanRow, user_id: int, client_id: str, text: str, now: int, outcome: _Outcome
    ) -> None:
        """A notice to the subscriber in their 1:1 chat with the plan's creator (once per `client_id`)."""
        _, committed = self._messages.send_direct_in(
            conn,
            plan.creator_id,
            user_id,
            client_id[:64],
            "text",
            messaging.TextContent(body=text),
            None,
            now,
            sender_inbox=True,
        )
        outcome.committed.append(committed)

    def _books_in(
        self, conn: Connection, plan: PlanRow, subscriber_id: int, cur: str
    ) -> tuple[ledger.AccountRow, ledger.AccountRow, ledger.AccountRow, ledger.AccountRow]:
        """The subscriber's wallet, the lever's clearing, the creator's account and the lever's revenue."""
        open_ = self._journal.open_account
        wallet = self._wallets.wallet_in(conn, subscriber_id, cur)
        clearing = open_(
            conn, subscriptions_clearing_key(cur), currency=cur, normal_side=ledger.DEBIT, kind="subscriptions_clearing"
        )
        if plan.waba_id is not None:  # a business's proceeds: its payable, paid out as a merchant's are
            creator = open_merchant_payable_in(self._journal, conn, plan.waba_id, cur)
        else:
            creator = self._wallets.wallet_in(conn, plan.creator_id, cur)
        revenue = open_(conn, subscriptions_revenue_key(cur), currency=cur, normal_side=ledger.CREDIT, kind="revenue")
        return wallet, clearing, creator, revenue

    def _has_funds_in(self, conn: Connection, user_id: int, amount: int, cur: str) -> bool:
        account = self._journal.account(conn, person_wallet_key(user_id, cur))
        return account is not None and account.balance - account.held >= amount

    def _require_funds_in(self, conn: Connection, user_id: int, amount: int, cur: str) -> None:
        if not self._has_funds_in(conn, user_id, amount, cur):
            account = self._journal.account(conn, person_wallet_key(user_id, cur))
            have = 0 if account is None else account.balance - account.held
            raise ledger.InsufficientFundsError(
                f"your {cur} wallet has {money(have, cur)}, not enough for {money(amount, cur)}: top up your wallet"
            )

    def _require_manager(self, conn: Connection, target_kind: str, target_id: int, user_id: int) -> int:
        """Who is paid for a plan of this target, when `user_id` may manage it: the group admin who makes it, or
        the channel's owner (an admin may set the owner's plan up)."""
        if target_kind == GROUP:
            role = self._messages.group_role_in(conn, target_id, user_id)
            if role is None:
                raise NotFoundError("no such group")
            if role != "admin":
                raise ForbiddenError("only group admins can sell access to the group")
            return user_id
        owner = channels.channel_owner_in(conn, target_id)
        if owner is None:
            raise NotFoundError("no such channel")
        if owner != user_id and not channels.is_channel_admin_in(conn, target_id, user_id):
            raise ForbiddenError("only the channel's admins can sell subscriptions to it")
        return owner

    def _manages_in(self, conn: Connection, plan: PlanRow, user_id: int) -> bool:
        if user_id == plan.creator_id:
            return True
        if plan.target_kind == GROUP:
            return self._messages.group_role_in(conn, plan.target_id, user_id) == "admin"
        return channels.is_channel_admin_in(conn, plan.target_id, user_id)

    def _managed_plan(self, conn: Connection, plan_id: int, user_id: int) -> PlanRow:
        plan = repo.plan(conn, plan_id)
        if plan is None or not self._manages_in(conn, plan, user_id):
            raise PlanNotFoundError("no such plan")
        return plan

    def _offer_in(self, conn: Connection, plan: PlanRow, viewer_id: int) -> Offer:
        users = accounts.get_users(conn, [viewer_id])
        market = self._limits.market_of(users[viewer_id].phone) if viewer_id in users else "ZZ"
        prices = repo.prices(conn, plan.id)
        manages = self._manages_in(conn, plan, viewer_id)
        offer = Offer(plan, price_for(prices, market), repo.subscription_of(conn, plan.id, viewer_id), manages)
        if not manages:
            return offer
        earnings = [Earnings(cur, gross, cut) for cur, gross, cut in repo.earnings_of_plan(conn, plan.id)]
        return Offer(
            offer.plan, offer.price, offer.subscription, True, prices, repo.count_live(conn, plan.id), earnings
        )

    def _plan_view(self, conn: Connection, plan_id: int) -> PlanView:
        plan = repo.plan(conn, plan_id)
        assert plan is not None
        return PlanView(plan, repo.prices(conn, plan_id))

    def _subscription_view(self, conn: Connection, sub_id: int) -> SubscriptionView:
        sub = repo.subscription(conn, sub_id)
        assert sub is not None
        plan = repo.plan(conn, sub.plan_id)
        assert plan is not None
        return SubscriptionView(sub, plan, repo.charges_of(conn, sub_id))

    def _checked_prices(self, prices: Sequence[PriceIn]) -> list[PriceRow]:
        if not prices:
            raise InvalidInputError('a plan needs at least one price (market "*" is everywhere else)')
        checked: dict[str, PriceRow] = {}
        for p in prices:
            market = p.market.upper() if p.market != "*" else "*"
            if not _MARKET.fullmatch(market) or (market != "*" and market not in phonenumbers.SUPPORTED_REGIONS):
                raise InvalidInputError(f'market {p.market[:10]!r} is not an ISO country code (or "*")')
            if market in checked:
                raise InvalidInputError(f"market {market} has two prices")
            if p.currency not in self._limits.currencies:
                raise InvalidInputError(
                    f"Parley Pay wallets hold {', '.join(self._limits.currencies)}, not {p.currency[:10]!r}"
                )
            try:
                amount = parse_amount(p.amount)
            except ValueError as exc:
                raise InvalidInputError(str(exc)) from None
            step = 10 ** (6 - minor_units(p.currency))
            if not 0 < amount <= self._max_price or amount % step:
                raise InvalidInputError(
                    f"a price is more than 0 and at most {self._settings.max_price} {p.currency}, "
                    f"in whole {'units' if step == 1_000_000 else 'minor units'}"
                )
            checked[market] = PriceRow(market, p.currency, amount)
        return list(checked.values())

    @staticmethod
    def _target_id(target_kind: str, raw: str) -> int:
        if target_kind not in (CHANNEL, GROUP):
            raise InvalidInputError("a plan is for a channel or a group")
        target_id = parse_id(raw)
        if target_id is None:
            raise NotFoundError(f"no such {target_kind}")
        return target_id

    async def _publish(self, outcome: _Outcome) -> None:
        for committed in outcome.committed:
            await self._messages.publish_committed(committed)


def _checked_text(name: str, description: str) -> tuple[str, str]:
    name, description = name.strip(), description.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInputError("a plan's name is 1 to 100 characters")
    if len(description) > 500:
        raise InvalidInputError("a plan's description is at most 500 characters")
    return name, description


def _checked_key(key: str | None) -> str:
    if key is None or not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInputError(f"an Idempotency-Key header of 1 to {MAX_KEY_LENGTH} printable characters is required")
    return key


def _parsed(raw: str, error: Callable[[str], AppError], what: str) -> int:
    parsed = parse_id(raw)
    if parsed is None:
        raise error(f"no such {what}")
    return parsed


def _plan_id(raw: str) -> int:
    return _parsed(raw, PlanNotFoundError, "plan")


def _subscription_id(raw: str) -> int:
    return _parsed(raw, NotFoundError, "subscription")
