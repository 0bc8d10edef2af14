"""Subscription queries: driver-agnostic SQLAlchemy Core on the caller's connection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, or_, select, update

from parley.subscriptions.models import subscription_charges, subscription_plans, subscription_prices, subscriptions

LIVE = ("active", "past_due")


@dataclass(frozen=True)
class PlanRow:
    id: int
    target_kind: str
    target_id: int
    creator_id: int
    waba_id: int | None
    billing: str
    name: str
    description: str
    active: bool
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class PriceRow:
    market: str
    currency: str
    amount: int


@dataclass(frozen=True)
class SubscriptionRow:
    id: int
    plan_id: int
    subscriber_id: int
    status: str
    market: str
    currency: str
    amount: int
    period: int
    current_period_start: int
    current_period_end: int | None
    anchor_at: int
    cancel_at_period_end: bool
    grace_until: int | None
    next_attempt_at: int | None
    failed_attempts: int
    created_at: int
    updated_at: int
    ended_at: int | None


@dataclass(frozen=True)
class ChargeRow:
    id: int
    subscription_id: int
    period: int
    attempt: int
    kind: str
    status: str
    amount: int
    fee: int
    currency: str
    failure_reason: str | None
    idempotency_key: str | None
    created_at: int


def _plan(row: Row[Any]) -> PlanRow:
    return PlanRow(**row._mapping)


def _sub(row: Row[Any]) -> SubscriptionRow:
    return SubscriptionRow(**row._mapping)


def _charge(row: Row[Any]) -> ChargeRow:
    return ChargeRow(**row._mapping)


# --- plans ----------------------------------------------------------------------------------------------------------


def plan_of_target(conn: Connection, target_kind: str, target_id: int) -> PlanRow | None:
    """The plan of a channel or group, if it has one."""
    p = subscription_plans.c
    row = conn.execute(select(subscription_plans).where(p.target_kind == target_kind, p.target_id == target_id)).first()
    return None if row is None else _plan(row)


def plan(conn: Connection, plan_id: int, *, lock: bool = False) -> PlanRow | None:
    """`lock`: hold the row until the unit ends (PostgreSQL), so racing subscribes to a plan go one at a time."""
    query = select(subscription_plans).where(subscription_plans.c.id == plan_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    return None if row is None else _plan(row)


def plans_of_targets(conn: Connection, target_kind: str, target_ids: Sequence[int]) -> list[PlanRow]:
    p = subscription_plans.c
    rows = conn.execute(select(subscription_plans).where(p.target_kind == target_kind, p.target_id.in_(target_ids)))
    return [_plan(r) for r in rows]


def insert_plan(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(subscription_plans).values(**values))


def update_plan(conn: Connection, plan_id: int, **values: Any) -> None:
    conn.execute(update(subscription_plans).where(subscription_plans.c.id == plan_id).values(**values))


def prices(conn: Connection, plan_id: int) -> list[PriceRow]:
    c = subscription_prices.c
    rows = conn.execute(select(c.market, c.currency, c.amount).where(c.plan_id == plan_id).order_by(c.market))
    return [PriceRow(r.market, r.currency, r.amount) for r in rows]


def replace_prices(conn: Connection, plan_id: int, new: Sequence[PriceRow]) -> None:
    conn.execute(subscription_prices.delete().where(subscription_prices.c.plan_id == plan_id))
    conn.execute(
        insert(subscription_prices),
        [{"plan_id": plan_id, "market": p.market, "currency": p.currency, "amount": p.amount} for p in new],
    )


# --- subscriptions --------------------------------------------------------------------------------------------------


def subscription(conn: Connection, subscription_id: int, *, lock: bool = False) -> SubscriptionRow | None:
    """`lock`: hold the row until the unit ends (PostgreSQL), so two sweeps never charge one renewal twice."""
    query = select(subscriptions).where(subscriptions.c.id == subscription_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    return None if row is None else _sub(row)


def subscription_of(conn: Connection, plan_id: int, subscriber_id: int) -> SubscriptionRow | None:
    s = subscriptions.c
    row = conn.execute(select(subscriptions).where(s.plan_id == plan_id, s.subscriber_id == subscriber_id)).first()
    return None if row is None else _sub(row)


def subscriptions_of_person(conn: Connection, subscriber_id: int) -> list[SubscriptionRow]:
    s = subscriptions.c
    rows = conn.execute(select(subscriptions).where(s.subscriber_id == subscriber_id).order_by(s.created_at.desc()))
    return [_sub(r) for r in rows]


def live_subscriptions_of_plan(conn: Connection, plan_id: int) -> list[SubscriptionRow]:
    s = subscriptions.c
    rows = conn.execute(select(subscriptions).where(s.plan_id == plan_id, s.status.in_(LIVE)).order_by(s.id))
    return [_sub(r) for r in rows]


def insert_subscription(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(subscriptions).values(**values))


def update_subscription(conn: Connection, subscription_id: int, **values: Any) -> None:
    conn.execute(update(subscriptions).where(subscriptions.c.id == subscription_id).values(**values))


def due_subscriptions(conn: Connection, now: int, limit: int) -> list[int]:
    """Subscriptions whose renewal, retry or end is due at `now`, the longest overdue first."""
    s = subscriptions.c
    rows = conn.execute(
        select(s.id)
        .where(s.next_attempt_at.is_not(None), s.next_attempt_at <= now)
        .order_by(s.next_attempt_at)
        .limit(limit)
    )
    return [int(r.id) for r in rows]


def reachable_targets(
    conn: Connection, target_kind: str, target_ids: Sequence[int], subscriber_id: int, now: int
) -> set[int]:
    """Those of `target_ids` whose plan `subscriber_id` holds live access to at `now`: paid through the period (or
    for good), or inside the grace after a failed renewal."""
    p, s = subscription_plans.c, subscriptions.c
    paid = or_(
        and_(s.status == "active", or_(s.current_period_end.is_(None), s.current_period_end > now)),
        and_(s.status == "past_due", s.grace_until > now),
    )
    rows = conn.execute(
        select(p.target_id)
        .join(subscriptions, s.plan_id == p.id)
        .where(p.target_kind == target_kind, p.target_id.in_(target_ids), s.subscriber_id == subscriber_id, paid)
    )
    return {int(r.target_id) for r in rows}


def count_live(conn: Connection, plan_id: int) -> int:
    s = subscriptions.c
    return int(conn.execute(select(func.count()).where(s.plan_id == plan_id, s.status.in_(LIVE))).scalar_one())


# --- charges --------------------------------------------------------------------------------------------------------


def insert_charge(conn: Connection, row: ChargeRow) -> None:
    conn.execute(insert(subscription_charges).values(**row.__dict__))


def charge_by_key(conn: Connection, subscriber_id: int, key: str) -> ChargeRow | None:
    """The first charge a subscriber's Idempotency-Key made (any plan)."""
    c, s = subscription_charges.c, subscriptions.c
    row = conn.execute(
        select(subscription_charges)
        .join(subscriptions, s.id == c.subscription_id)
        .where(s.subscriber_id == subscriber_id, c.idempotency_key == key)
    ).first()
    return None if row is None else _charge(row)


def charges_of(conn: Connection, subscription_id: int) -> list[ChargeRow]:
    c = subscription_charges.c
    rows = conn.execute(select(subscription_charges).where(c.subscription_id == subscription_id).order_by(c.id))
    return [_charge(r) for r in rows]


def next_attempt(conn: Connection, subscription_id: int, period: int, kind: str) -> int:
    c = subscription_charges.c
    top = conn.execute(
        select(func.max(c.attempt)).where(c.subscription_id == subscription_id, c.period == period, c.kind == kind)
    ).scalar_one()
    return 1 + int(top or 0)


def earnings_of_plan(conn: Connection, plan_id: int) -> list[tuple[str, int, int]]:
    """(currency, gross charged less refunded, platform cut less cut given back) of a plan's succeeded charges."""
    c, s = subscription_charges.c, subscriptions.c
    rows = conn.execute(
        select(c.currency, c.kind, func.sum(c.amount).label("amount"), func.sum(c.fee).label("fee"))
        .join(subscriptions, s.id == c.subscription_id)
        .where(s.plan_id == plan_id, c.status == "succeeded")
        .group_by(c.currency, c.kind)
    )
    totals: dict[str, list[int]] = {}
    for r in rows:
        sign = 1 if r.kind == "charge" else -1
        entry = totals.setdefault(r.currency, [0, 0])
        entry[0] += sign * int(r.amount)
        entry[1] += sign * int(r.fee)
    return [(cur, gross, fee) for cur, (gross, fee) in sorted(totals.items())]
