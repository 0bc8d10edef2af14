"""Queries of the signals and consent tables: driver-agnostic SQLAlchemy Core on the caller's connection."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select, true
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
    "consenting_customers",
    "consents_of",
    "days_of",
    "delete_signals_of",
    "other_categories_of",
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


_COUNTERS = ("messages_sent", "business_messages", "ad_clicks", "purchases")


def _upsert_adding(
    conn: Connection, table: Table, keys: list[str], rows: list[dict[str, Any]], set_: Callable[[Any], dict[str, Any]]
) -> None:
    """One INSERT … ON CONFLICT (keys) DO UPDATE for the whole batch; `set_(excluded)` says how a row merges."""
    if rows:
        statement = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)
        conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=set_(statement.excluded)), rows)


def add_days(conn: Connection, rows: Sequence[DayCounts]) -> None:
    """Add counters per (person, day): batches from any number of processes add up."""
    _upsert_adding(
        conn,
        signal_days,
        ["user_id", "day"],
        [dataclasses.asdict(r) for r in rows],
        lambda new: {name: signal_days.c[name] + new[name] for name in _COUNTERS},
    )


def add_business_messages(conn: Connection, rows: Sequence[tuple[int, int, str, int, int, int]]) -> None:
    """(user_id, waba_id, category, messages, first_at, last_at): the category is the business's current one."""
    b = signal_businesses.c
    least, greatest = (func.min, func.max) if conn.dialect.name == "sqlite" else (func.least, func.greatest)
    _upsert_adding(
        conn,
        signal_businesses,
        ["user_id", "waba_id"],
        [
            {"user_id": u, "waba_id": w, "category": c, "messages": n, "first_at": first, "last_at": last}
            for u, w, c, n, first, last in rows
        ],
        lambda new: {
            "category": new.category,
            "messages": b.messages + new.messages,
            "first_at": least(b.first_at, new.first_at),
            "last_at": greatest(b.last_at, new.last_at),
        },
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
    statement = (
        (postgresql if conn.dialect.name == "postgresql" else sqlite)
        .insert(consents)
        .values(user_id=user_id, purpose=purpose, granted=granted, wording_version=wording_version, updated_at=now)
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


def delete_signals_of(conn: Connection, user_id: int) -> None:
    """A person's counters, businesses and current consents (their consent events stay: see docs/privacy.md)."""
    for table in (signal_days, signal_businesses, consents):
        conn.execute(delete(table).where(table.c.user_id == user_id))


def consenting_customers(conn: Connection, waba_id: int, purpose: str) -> list[int]:
    """The people who wrote to this business and currently consent to `purpose`."""
    b, c = signal_businesses.c, consents.c
    query = (
        select(b.user_id)
        .join(consents, (c.user_id == b.user_id) & (c.purpose == purpose) & (c.granted == true()))
        .where(b.waba_id == waba_id)
    )
    return [int(r[0]) for r in conn.execute(query)]


def other_categories_of(conn: Connection, user_ids: Sequence[int], waba_id: int) -> list[tuple[int, str]]:
    """(person, category) of the other businesses these people wrote to."""
    b = signal_businesses.c
    out: list[tuple[int, str]] = []
    for start in range(0, len(user_ids), 500):  # bounded IN lists on both databases
        chunk = list(user_ids[start : start + 500])
        query = select(b.user_id, b.category).where(b.user_id.in_(chunk), b.waba_id != waba_id, b.category != "")
        out.extend((int(r[0]), str(r[1])) for r in conn.execute(query))
    return out
