"""Queries of the signals and consent tables: driver-agnostic SQLAlchemy Core on the caller's connection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from parley.signals.models import consent_events, consents, signal_businesses, signal_days

__all__ = [
    "BusinessSignal",
    "ConsentEvent",
    "ConsentState",
    "DayCounts",
    "DaySignal",
    "add_business_messages",
    "add_days",
    "businesses_of",
    "consent_history",
    "consents_of",
    "days_of",
    "record_consent",
]


@dataclass(frozen=True)
class DayCounts:
    """What to add to one person's day (all counters move by addition, so batches from many processes add up)."""

    user_id: int
    day: int
    messages_sent: int = 0
    business_messages: int = 0
    ad_clicks: int = 0
    purchases: int = 0


@dataclass(frozen=True)
class DaySignal:
    day: int
    messages_sent: int
    business_messages: int
    ad_clicks: int
    purchases: int


@dataclass(frozen=True)
class BusinessSignal:
    waba_id: int
    category: str
    messages: int
    first_at: int
    last_at: int


@dataclass(frozen=True)
class ConsentState:
    purpose: str
    granted: bool
    wording_version: str
    updated_at: int


@dataclass(frozen=True)
class ConsentEvent:
    id: int
    purpose: str
    action: str
    wording_version: str
    created_at: int


def _insert(conn: Connection):  # type: ignore[no-untyped-def]
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


def add_days(conn: Connection, rows: Sequence[DayCounts]) -> None:
    """Upsert-add counters per (person, day): one statement for the whole batch."""
    if not rows:
        return
    d = signal_days.c
    statement = _insert(conn)(signal_days)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "day"],
            set_={
                "messages_sent": d.messages_sent + statement.excluded.messages_sent,
                "business_messages": d.business_messages + statement.excluded.business_messages,
                "ad_clicks": d.ad_clicks + statement.excluded.ad_clicks,
                "purchases": d.purchases + statement.excluded.purchases,
            },
        ),
        [
            {
                "user_id": r.user_id,
                "day": r.day,
                "messages_sent": r.messages_sent,
                "business_messages": r.business_messages,
                "ad_clicks": r.ad_clicks,
                "purchases": r.purchases,
            }
            for r in rows
        ],
    )


def add_business_messages(conn: Connection, rows: Sequence[tuple[int, int, str, int, int, int]]) -> None:
    """(user_id, waba_id, category, messages, first_at, last_at): the category is the business's current one."""
    if not rows:
        return
    b = signal_businesses.c
    statement = _insert(conn)(signal_businesses)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "waba_id"],
            set_={
                "category": statement.excluded.category,
                "messages": b.messages + statement.excluded.messages,
                "first_at": func.min(b.first_at, statement.excluded.first_at)
                if conn.dialect.name == "sqlite"
                else func.least(b.first_at, statement.excluded.first_at),
                "last_at": func.max(b.last_at, statement.excluded.last_at)
                if conn.dialect.name == "sqlite"
                else func.greatest(b.last_at, statement.excluded.last_at),
            },
        ),
        [
            {"user_id": u, "waba_id": w, "category": c, "messages": n, "first_at": first, "last_at": last}
            for u, w, c, n, first, last in rows
        ],
    )


def days_of(conn: Connection, user_id: int, since_day: int) -> list[DaySignal]:
    d = signal_days.c
    query = (
        select(d.day, d.messages_sent, d.business_messages, d.ad_clicks, d.purchases)
        .where(d.user_id == user_id, d.day >= since_day)
        .order_by(d.day)
    )
    return [DaySignal(int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in conn.execute(query)]


def businesses_of(conn: Connection, user_id: int) -> list[BusinessSignal]:
    b = signal_businesses.c
    query = (
        select(b.waba_id, b.category, b.messages, b.first_at, b.last_at)
        .where(b.user_id == user_id)
        .order_by(b.last_at.desc())
    )
    return [BusinessSignal(int(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in conn.execute(query)]


def consents_of(conn: Connection, user_id: int) -> dict[str, ConsentState]:
    c = consents.c
    query = select(c.purpose, c.granted, c.wording_version, c.updated_at).where(c.user_id == user_id)
    return {str(r[0]): ConsentState(str(r[0]), bool(r[1]), str(r[2]), int(r[3])) for r in conn.execute(query)}


def record_consent(
    conn: Connection, event_id: int, user_id: int, purpose: str, granted: bool, wording_version: str, now: int
) -> None:
    """The event (never updated) and the current state, in the caller's unit."""
    conn.execute(
        consent_events.insert().values(
            id=event_id,
            user_id=user_id,
            purpose=purpose,
            action="given" if granted else "withdrawn",
            wording_version=wording_version,
            created_at=now,
        )
    )
    statement = _insert(conn)(consents).values(
        user_id=user_id, purpose=purpose, granted=granted, wording_version=wording_version, updated_at=now
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "purpose"],
            set_={"granted": granted, "wording_version": wording_version, "updated_at": now},
        )
    )


def consent_history(conn: Connection, user_id: int, limit: int) -> list[ConsentEvent]:
    """Newest first."""
    e = consent_events.c
    query = (
        select(e.id, e.purpose, e.action, e.wording_version, e.created_at)
        .where(e.user_id == user_id)
        .order_by(e.id.desc())
        .limit(limit)
    )
    return [ConsentEvent(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4])) for r in conn.execute(query)]
