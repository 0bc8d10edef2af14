"""Subscription queries: driver-agnostic SQLAlchemy Core on the caller's connection."""

from __future__ import annotations

from sqlalchemy import Connection, Row, select

from parley.subscriptions.models import subscription_plans


def plan_of_target(conn: Connection, target_kind: str, target_id: int) -> Row[tuple[object, ...]] | None:
    """The plan of a channel or group, if it has one."""
    p = subscription_plans.c
    return conn.execute(
        select(subscription_plans).where(p.target_kind == target_kind, p.target_id == target_id)
    ).first()
