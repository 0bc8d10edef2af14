"""Queries of the webhook outbox: sync functions of a Connection, run inside the caller's unit of work."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from parley.kit.ids import timestamp_ms_of
from parley.platform.db.driver import DriverCursor, insert_sql
from parley.webhooks import statements as hot
from parley.webhooks.models import (
    DEAD,
    DELIVERED,
    DROPPED,
    PENDING,
    TEST_FIELD,
    webhook_apps,
    webhook_attempts,
    webhook_events,
    webhook_overrides,
)


@dataclass(frozen=True)
class WebhookEventRow:
    id: int
    waba_id: int
    phone_number_id: int | None
    field: str
    value: dict[str, Any]
    created_at: int
    state: str
    attempts: int
    next_attempt_at: int
    delivered_at: int | None
    last_status: int | None
    last_error: str | None


@dataclass(frozen=True)
class WebhookApp:
    app_id: int
    waba_id: int
    app_secret: str
    callback_url: str | None
    verify_token: str
    fields: list[str] | None  # None: every field
    subscribed: bool
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class WebhookOverride:
    object_id: int
    scope: str  # waba | phone
    waba_id: int
    callback_url: str
    verify_token: str


def _compact(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------- producers


def enqueue(
    conn: Connection,
    *,
    waba_id: int,
    field: str,
    value: dict[str, Any],
    phone_number_id: int | None = None,
    event_id: int,
    order_key: int | None = None,
) -> None:
    """Put one webhook update in the outbox, inside the caller's unit of work.

    `event_id` comes from the caller's IdGenerator (it also dates the event); enqueueing an id that is
    already there does nothing, so a retried unit never sends an update twice. Events are delivered each on
    its own, except that those with the same `order_key` (a message's statuses: its id) go out in id order.
    """
    created_at = timestamp_ms_of(event_id)
    # On the driver's cursor (statements.py): every Cloud API send, ack and read enqueues a status update.
    hot.enqueue(
        DriverCursor(conn),
        event_id,
        waba_id,
        phone_number_id,
        field,
        order_key,
        _compact(value),
        created_at,
        PENDING,
    )


def _event_row(row: Any) -> WebhookEventRow:
    return WebhookEventRow(
        id=row.id,
        waba_id=row.waba_id,
        phone_number_id=row.phone_number_id,
        field=row.field,
        value=json.loads(row.value),
        created_at=row.created_at,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_status=row.last_status,
        last_error=row.last_error,
    )


def list_events(conn: Connection, waba_id: int, limit: int = 100) -> list[WebhookEventRow]:
    """A WABA's most recent outbox events, oldest first."""
    t = webhook_events
    rows = conn.execute(select(t).where(t.c.waba_id == waba_id).order_by(t.c.id.desc()).limit(limit)).all()
    return [_event_row(row) for row in reversed(rows)]


def get_event(conn: Connection, event_id: int) -> WebhookEventRow | None:
    row = conn.execute(select(webhook_events).where(webhook_events.c.id == event_id)).first()
    return None if row is None else _event_row(row)


# ---------------------------------------------------------------------------------------------- apps


def _app(row: Any) -> WebhookApp:
    return WebhookApp(
        app_id=row.app_id,
        waba_id=row.waba_id,
        app_secret=row.app_secret,
        callback_url=row.callback_url,
        verify_token=row.verify_token,
        fields=None if row.fields is None else list(json.loads(row.fields)),
        subscribed=bool(row.subscribed),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def register_app(
    conn: Connection,
    *,
    waba_id: int,
    app_id: int,
    app_secret: str,
    callback_url: str | None = None,
    verify_token: str = "",
    now: int,
) -> None:
    """Create (or replace the secret and callback of) the app a WABA's webhooks are signed with."""
    t = webhook_apps
    values = {
        "waba_id": waba_id,
        "app_secret": app_secret,
        "callback_url": callback_url or None,
        "verify_token": verify_token,
        "updated_at": now,
    }
    existing = conn.execute(select(t.c.app_id).where(t.c.app_id == app_id)).first()
    if existing is None:
        conn.execute(insert(t).values(app_id=app_id, fields=None, subscribed=True, created_at=now, **values))
    else:
        conn.execute(update(t).where(t.c.app_id == app_id).values(**values))


def get_app(conn: Connection, app_id: int) -> WebhookApp | None:
    row = conn.execute(select(webhook_apps).where(webhook_apps.c.app_id == app_id)).first()
    return None if row is None else _app(row)


def get_app_of_waba(conn: Connection, waba_id: int) -> WebhookApp | None:
    row = conn.execute(select(webhook_apps).where(webhook_apps.c.waba_id == waba_id)).first()
    return None if row is None else _app(row)


def set_app_subscription(
    conn: Connection, app_id: int, *, callback_url: str | None, verify_token: str, fields: list[str] | None, now: int
) -> None:
    t = webhook_apps
    conn.execute(
        update(t)
        .where(t.c.app_id == app_id)
        .values(
            callback_url=callback_url,
            verify_token=verify_token,
            fields=None if fields is None else json.dumps(fields),
            updated_at=now,
        )
    )


def set_waba_subscribed(conn: Connection, waba_id: int, subscribed: bool, now: int) -> bool:
    """Subscribe or unsubscribe a WABA from its app; False when the WABA has no app."""
    t = webhook_apps
    result = conn.execute(update(t).where(t.c.waba_id == waba_id).values(subscribed=subscribed, updated_at=now))
    return bool(result.rowcount)


# ---------------------------------------------------------------------------------------------- overrides


def set_override(
    conn: Connection, *, scope: str, object_id: int, waba_id: int, callback_url: str, verify_token: str, now: int
) -> None:
    t = webhook_overrides
    conn.execute(delete(t).where(t.c.object_id == object_id))
    conn.execute(
        insert(t).values(
            object_id=object_id,
            scope=scope,
            waba_id=waba_id,
            callback_url=callback_url,
            verify_token=verify_token,
            updated_at=now,
        )
    )


def delete_override(conn: Connection, object_id: int) -> None:
    conn.execute(delete(webhook_overrides).where(webhook_overrides.c.object_id == object_id))


def get_override(conn: Connection, object_id: int) -> WebhookOverride | None:
    t = webhook_overrides
    row = conn.execute(select(t).where(t.c.object_id == object_id)).first()
    if row is None:
        return None
    return WebhookOverride(row.object_id, row.scope, row.waba_id, row.callback_url, row.verify_token)


# ---------------------------------------------------------------------------------------------- delivery

# A stream is what must go out in id order, one POST at a time: the events of one order key (a message's
# statuses), or a single event with no order key (it waits for nothing and holds nothing back).
ORDERED, SINGLE = "order", "event"
StreamKey = tuple[str, int]


def stream_of(event_id: int, order_key: int | None) -> StreamKey:
    return (SINGLE, event_id) if order_key is None else (ORDERED, order_key)


@dataclass
class ClaimedEvent:
    """An event this process holds (leased) and will POST, with its target resolved at claim time."""

    id: int
    waba_id: int
    phone_number_id: int | None
    field: str
    order_key: int | None
    value_json: str
    created_at: int
    attempts: int
    retry_from: int
    url: str
    app_secret: str
    lease_until: int

    @property
    def stream(self) -> StreamKey:
        return stream_of(self.id, self.order_key)


@dataclass(frozen=True)
class ClaimOutcome:
    accepted: list[ClaimedEvent]  # in id order within each stream
    dropped: int
    full: bool  # the candidate query hit its limit: more may be due


@dataclass(frozen=True)
class AttemptResult:
    """One POST's outcome, to record: the event's new state and a delivery-log row."""

    attempt_id: int
    event_id: int
    waba_id: int
    url: str
    status_code: int | None
    error: str | None
    latency_ms: int
    attempted_at: int
    state: str  # delivered | pending (retry) | dead
    next_attempt_at: int


_CHUNK = 500
_ATTEMPT_COLUMNS = ("id", "event_id", "waba_id", "url", "status_code", "error", "latency_ms", "attempted_at")
_CLAIM_COLUMNS = (
    webhook_events.c.id,
    webhook_events.c.waba_id,
    webhook_events.c.phone_number_id,
    webhook_events.c.field,
    webhook_events.c.order_key,
    webhook_events.c.value,
    webhook_events.c.created_at,
    webhook_events.c.attempts,
    webhook_events.c.retry_from,
)


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def has_due(conn: Connection, now: int) -> bool:
    t = webhook_events
    query = select(t.c.id).where(t.c.state == PENDING, t.c.next_attempt_at <= now).limit(1)
    return conn.execute(query).first() is not None


def _pending_in_order(conn: Connection, order_keys: Sequence[int]) -> dict[int, list[Any]]:
    """Every pending event of these order keys, in id order (a message has a handful of statuses)."""
    t = webhook_events
    found: dict[int, list[Any]] = {}
    for chunk in _chunks(list(order_keys)):
        query = (
            select(t.c.id, t.c.order_key, t.c.next_attempt_at, t.c.lease_owner)
            .where(t.c.order_key.in_(chunk), t.c.state == PENDING)
            .order_by(t.c.order_key, t.c.id)
        )
        for row in conn.execute(query):
            found.setdefault(row.order_key, []).append(row)
    return found


def claim_due(
    conn: Connection,
    *,
    now: int,
    limit: int,
    owner: int,
    lease_until: int,
    contention_until: int,
    tails: dict[StreamKey, int],
    room: dict[StreamKey, int],
    stream_queue: int,
) -> ClaimOutcome:
    """Lease due events for this process; events without an order key are taken as they come, those with
    one strictly in order.

    An ordered event is taken only when every older pending event of its order key is already held by this
    process (`tails`: the last id held per stream) or taken in the same claim. Others are deferred: behind
    an event that waits for its retry, until that retry; behind an event another process holds, briefly.
    """
    t = webhook_events
    # One statement leases the batch (UPDATE ... RETURNING, on SQLite >= 3.35 and PostgreSQL); on PostgreSQL the
    # rows another worker is claiming are skipped, not waited for, so several workers never take the same event.
    due = (
        select(t.c.id)
        .where(t.c.state == PENDING, t.c.next_attempt_at <= now)
        .order_by(t.c.next_attempt_at, t.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claim = (
        update(t)
        .where(t.c.id.in_(due))
        .values(next_attempt_at=lease_until, lease_owner=owner)
        .returning(*_CLAIM_COLUMNS)
    )
    candidates = sorted(conn.execute(claim).all(), key=lambda row: row.id)
    taken: list[Any] = []
    by_stream: dict[StreamKey, list[Any]] = {}
    for row in candidates:
        key = stream_of(row.id, row.order_key)
        if row.id <= tails.get(key, 0):
            continue  # already held here (its lease ran out under a clock that jumped): the claim renewed it
        if key[0] == SINGLE:
            taken.append(row)
        else:
            by_stream.setdefault(key, []).append(row)

    pending = _pending_in_order(conn, [key[1] for key in by_stream])
    deferred: dict[int, list[int]] = {}
    given_back: list[int] = []
    for key, rows in by_stream.items():
        rows.sort(key=lambda r: r.id)
        tail = tails.get(key, 0)
        expected = [row for row in pending.get(key[1], []) if row.id > tail][: len(rows)]
        accept = 0
        while accept < len(rows) and accept < len(expected) and expected[accept].id == rows[accept].id:
            accept += 1
        accept = min(accept, room.get(key, stream_queue))
        taken.extend(rows[:accept])
        rest = rows[accept:]
        if not rest:
            continue
        if accept < len(expected) and expected[accept].id < rest[0].id:
            blocker = expected[accept]
            if blocker.next_attempt_at <= now:
                given_back.extend(r.id for r in rest)  # due, beyond this claim's limit: the next claim takes them
                continue
            held_elsewhere = blocker.lease_owner is not None and blocker.lease_owner != owner
            until = min(blocker.next_attempt_at, contention_until) if held_elsewhere else blocker.next_attempt_at
        else:
            until = contention_until  # this stream's queue here is full
        deferred.setdefault(until, []).extend(r.id for r in rest)

    for until, ids in [*deferred.items(), (now, given_back)]:
        for chunk in _chunks(ids):
            conn.execute(update(t).where(t.c.id.in_(chunk)).values(next_attempt_at=until, lease_owner=None))

    accepted, dropped = _resolve_targets(conn, taken, now=now, owner=owner, lease_until=lease_until, leased=True)
    # "Full" asks for another pass at once; only worth it when this one moved something.
    progress = bool(taken) or bool(deferred)
    return ClaimOutcome(accepted=accepted, dropped=dropped, full=len(candidates) >= limit and progress)


def order_keys_with_more(conn: Connection, tails: dict[int, int]) -> set[int]:
    """The order keys that have a pending event past their tail (the last id this process sent): one indexed
    read for every stream that ends at about the same time, instead of one each."""
    t = webhook_events
    found: set[int] = set()
    for chunk in _chunks(list(tails)):
        query = (
            select(t.c.order_key, func.max(t.c.id))
            .where(t.c.order_key.in_(chunk), t.c.state == PENDING)
            .group_by(t.c.order_key)
        )
        found.update(key for key, last in conn.execute(query) if last > tails[key])
    return found


def claim_after(
    conn: Connection, *, key: StreamKey, tail: int, now: int, limit: int, owner: int, lease_until: int
) -> tuple[list[ClaimedEvent], bool]:
    """Take the events right behind what this process just delivered of a stream, due or not (they were only
    waiting for it): stops at the first one another process holds. Returns them and whether any was taken
    (some may have been dropped)."""
    if key[0] == SINGLE:
        return [], False
    t = webhook_events
    query = (
        select(*_CLAIM_COLUMNS, t.c.lease_owner, t.c.next_attempt_at)
        .where(t.c.order_key == key[1], t.c.state == PENDING, t.c.id > tail)
        .order_by(t.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        # Wait for a claim in flight elsewhere and see its lease: a row another process just took is not ours.
        query = query.with_for_update()
    rows = conn.execute(query).all()
    taken = []
    for row in rows:
        if row.lease_owner is not None and row.lease_owner != owner and row.next_attempt_at > now:
            break
        taken.append(row)
    accepted, _dropped = _resolve_targets(conn, taken, now=now, owner=owner, lease_until=lease_until)
    return accepted, bool(taken)


def _resolve_targets(
    conn: Connection, rows: list[Any], *, now: int, owner: int, lease_until: int, leased: bool = False
) -> tuple[list[ClaimedEvent], int]:
    """Where each event goes now: phone override, else WABA override, else the app's callback URL. Leases the
    events that go somewhere (unless `leased`: the claim did) and drops the others."""
    if not rows:
        return [], 0
    t = webhook_events
    waba_ids = {row.waba_id for row in rows}
    apps = {
        app.waba_id: app
        for app in (_app(r) for r in conn.execute(select(webhook_apps).where(webhook_apps.c.waba_id.in_(waba_ids))))
    }
    object_ids = waba_ids | {row.phone_number_id for row in rows if row.phone_number_id is not None}
    overrides = {
        r.object_id: r.callback_url
        for r in conn.execute(
            select(webhook_overrides.c.object_id, webhook_overrides.c.callback_url).where(
                webhook_overrides.c.object_id.in_(object_ids)
            )
        )
    }
    accepted: list[ClaimedEvent] = []
    drops: dict[str, list[int]] = {}
    for row in rows:
        app = apps.get(row.waba_id)
        reason: str | None = None
        url: str | None = None
        if app is None or not app.subscribed:
            reason = "no app is subscribed to this WhatsApp Business Account"
        elif app.fields is not None and row.field not in app.fields and row.field != TEST_FIELD:
            reason = f"the app is not subscribed to the {row.field!r} field"
        else:
            url = (overrides.get(row.phone_number_id) if row.phone_number_id is not None else None) or (
                overrides.get(row.waba_id) or app.callback_url
            )
            if not url:
                reason = "no callback URL is set for this WhatsApp Business Account"
        if reason is not None or app is None or url is None:
            drops.setdefault(reason or "", []).append(row.id)
            continue
        accepted.append(
            ClaimedEvent(
                id=row.id,
                waba_id=row.waba_id,
                phone_number_id=row.phone_number_id,
                field=row.field,
                order_key=row.order_key,
                value_json=row.value,
                created_at=row.created_at,
                attempts=row.attempts,
                retry_from=row.retry_from,
                url=url,
                app_secret=app.app_secret,
                lease_until=lease_until,
            )
        )
    for reason, ids in drops.items():
        for chunk in _chunks(ids):
            conn.execute(
                update(t)
                .where(t.c.id.in_(chunk))
                .values(state=DROPPED, last_error=reason, lease_owner=None, next_attempt_at=now)
            )
    taken_ids = [] if leased else [event.id for event in accepted]
    for chunk in _chunks(taken_ids):
        conn.execute(update(t).where(t.c.id.in_(chunk)).values(next_attempt_at=lease_until, lease_owner=owner))
    return accepted, sum(len(ids) for ids in drops.values())


# A batch of outcomes in two statements per dialect, on the unit's driver cursor: on PostgreSQL one set-based
# UPDATE and one INSERT over `unnest` of arrays (a row at a time cost more than the POSTs); on SQLite two
# executemany calls of a prepared statement.
_RECORD_SQL = {
    "sqlite": (
        "UPDATE webhook_events SET state = ?, attempts = attempts + 1, next_attempt_at = ?, delivered_at = ?,"
        " last_status = ?, last_error = ?, lease_owner = NULL WHERE id = ? AND lease_owner = ?",
        insert_sql("webhook_attempts", _ATTEMPT_COLUMNS),
    ),
    "postgresql": (
        "UPDATE webhook_events AS e SET state = r.state, attempts = e.attempts + 1, next_attempt_at = r.next,"
        " delivered_at = r.delivered_at, last_status = r.status, last_error = r.error, lease_owner = NULL"
        " FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::text[])"
        " AS r(id, state, next, delivered_at, status, error) WHERE e.id = r.id AND e.lease_owner = $7",
        "INSERT INTO webhook_attempts (" + ", ".join(_ATTEMPT_COLUMNS) + ") SELECT * FROM unnest("
        "$1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::int[], $6::text[], $7::int[], $8::bigint[])",
    ),
}


def record_attempts(conn: Connection, results: Sequence[AttemptResult], *, owner: int) -> None:
    """Write a batch of POST outcomes: each event's new state (if this process still holds it) and its
    delivery-log row."""
    if not results:
        return
    cursor = DriverCursor(conn)
    update_events, insert_attempts = _RECORD_SQL[cursor.dialect]
    events = [
        (
            r.event_id,
            r.state,
            r.next_attempt_at,
            r.attempted_at if r.state == DELIVERED else None,
            r.status_code,
            r.error,
        )
        for r in results
    ]
    attempts = [
        (r.attempt_id, r.event_id, r.waba_id, r.url[:2048], r.status_code, r.error, r.latency_ms, r.attempted_at)
        for r in results
    ]
    if cursor.dialect == "postgresql":
        cursor.run(update_events, [*(list(column) for column in zip(*events, strict=True)), owner])
        cursor.run(insert_attempts, [list(column) for column in zip(*attempts, strict=True)])
    else:
        cursor.run_many(
            update_events,
            [(state, nxt, at, status, error, id_, owner) for id_, state, nxt, at, status, error in events],
        )
        cursor.run_many(insert_attempts, attempts)


def release(conn: Connection, event_ids: Sequence[int], *, owner: int, until: int) -> None:
    """Give held events back (due at `until`): behind a head that failed, or on shutdown."""
    t = webhook_events
    for chunk in _chunks(list(event_ids)):
        conn.execute(
            update(t)
            .where(t.c.id.in_(chunk), t.c.lease_owner == owner, t.c.state == PENDING)
            .values(next_attempt_at=until, lease_owner=None)
        )


def renew_leases(conn: Connection, event_ids: Sequence[int], *, owner: int, lease_until: int) -> list[int]:
    """Extend this process's leases; returns the ids it still held (the others ran out and were taken)."""
    t = webhook_events
    kept: list[int] = []
    for chunk in _chunks(list(event_ids)):
        kept.extend(
            conn.execute(
                update(t)
                .where(t.c.id.in_(chunk), t.c.lease_owner == owner, t.c.state == PENDING)
                .values(next_attempt_at=lease_until)
                .returning(t.c.id)
            ).scalars()
        )
    return kept


# ---------------------------------------------------------------------------------------------- operators


@dataclass(frozen=True)
class DeliveryLogEntry:
    event_id: int
    field: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    latency_ms: int | None  # of the last attempt
    url: str | None  # of the last attempt
    created_at: int
    delivered_at: int | None
    next_attempt_at: int | None  # while pending


def delivery_log(conn: Connection, waba_id: int, limit: int = 100) -> list[DeliveryLogEntry]:
    """A WABA's most recent events with their delivery outcome, newest first."""
    t = webhook_events
    events = conn.execute(select(t).where(t.c.waba_id == waba_id).order_by(t.c.id.desc()).limit(limit)).all()
    return _with_last_attempts(conn, events)


# How many of a business's events one filtered page looks through at most: a page stays O(1) in the size of the
# history without an index on (waba_id, state, id), which every delivery would pay to keep up.
DELIVERY_SCAN_WINDOW = 2000


def delivery_page(
    conn: Connection, waba_id: int, *, states: Sequence[str] | None, before: int | None, limit: int
) -> tuple[list[DeliveryLogEntry], int | None]:
    """One page of the delivery log, newest first: events older than `before` (an event id), in `states`.

    Returns the entries and the cursor of the next page (None: no older events). A filtered page looks through at
    most `DELIVERY_SCAN_WINDOW` events; when that finds fewer than `limit`, the cursor resumes after the window.
    """
    t = webhook_events
    conditions = [t.c.waba_id == waba_id]
    if before is not None:
        conditions.append(t.c.id < before)
    if states is None:
        events = conn.execute(select(t).where(*conditions).order_by(t.c.id.desc()).limit(limit + 1)).all()
        more = len(events) > limit
        events = events[:limit]
        return _with_last_attempts(conn, events), (events[-1].id if more and events else None)
    window = select(t.c.id).where(*conditions).order_by(t.c.id.desc()).limit(DELIVERY_SCAN_WINDOW).subquery()
    looked_at, oldest = conn.execute(select(func.count(), func.min(window.c.id)).select_from(window)).one()
    if not looked_at:
        return [], None
    query = (
        select(t)
        .where(t.c.id.in_(select(window.c.id)), t.c.state.in_(list(states)))
        .order_by(t.c.id.desc())
        .limit(limit + 1)
    )
    events = conn.execute(query).all()
    if len(events) > limit:
        events = events[:limit]
        cursor: int | None = events[-1].id
    else:
        cursor = int(oldest) if looked_at >= DELIVERY_SCAN_WINDOW else None
    return _with_last_attempts(conn, events), cursor


def _with_last_attempts(conn: Connection, events: Sequence[Any]) -> list[DeliveryLogEntry]:
    """Each event's log entry, with the URL and latency of its last attempt."""
    if not events:
        return []
    a = webhook_attempts
    last_attempt: dict[int, Any] = {}
    for chunk in _chunks([e.id for e in events]):
        for row in conn.execute(
            select(a.c.event_id, a.c.latency_ms, a.c.url, a.c.id).where(a.c.event_id.in_(chunk)).order_by(a.c.id)
        ):
            last_attempt[row.event_id] = row
    entries = []
    for e in events:
        attempt = last_attempt.get(e.id)
        entries.append(
            DeliveryLogEntry(
                event_id=e.id,
                field=e.field,
                state=e.state,
                attempts=e.attempts,
                last_status=e.last_status,
                last_error=e.last_error,
                latency_ms=None if attempt is None else attempt.latency_ms,
                url=None if attempt is None else attempt.url,
                created_at=e.created_at,
                delivered_at=e.delivered_at,
                next_attempt_at=e.next_attempt_at if e.state == PENDING else None,
            )
        )
    return entries


def attempts_of(conn: Connection, event_id: int) -> list[Any]:
    a = webhook_attempts
    return list(conn.execute(select(a).where(a.c.event_id == event_id).order_by(a.c.id)).all())


def redeliver(
    conn: Connection,
    waba_id: int,
    *,
    now: int,
    event_ids: Sequence[int] | None = None,
    dead_only: bool = False,
    since: int | None = None,
) -> int:
    """Put finished events (dead, delivered or dropped) back in the queue, and make the matching events that
    wait for a retry due now; returns how many of each together."""
    t = webhook_events
    states = [DEAD] if dead_only else [DEAD, DELIVERED, DROPPED]
    conditions = [t.c.waba_id == waba_id, t.c.state.in_(states)]
    if since is not None:
        conditions.append(t.c.created_at >= since)
    values = {
        "state": PENDING,
        "next_attempt_at": now,
        "retry_from": now,
        "lease_owner": None,
        "delivered_at": None,
        "last_error": None,
    }
    count = release_backlog(conn, waba_id, now=now, event_ids=event_ids, since=since)
    if event_ids is None:
        return count + int(conn.execute(update(t).where(*conditions).values(**values)).rowcount)
    for chunk in _chunks(list(event_ids)):
        count += int(conn.execute(update(t).where(*conditions, t.c.id.in_(chunk)).values(**values)).rowcount)
    return count


def release_backlog(
    conn: Connection, waba_id: int, *, now: int, event_ids: Sequence[int] | None = None, since: int | None = None
) -> int:
    """Make a business's events that wait for a retry due now (its callback was fixed, or an operator asked
    for a redelivery): the back-off was for the old trouble. Events a process is sending are left alone."""
    t = webhook_events
    conditions = [t.c.waba_id == waba_id, t.c.state == PENDING, t.c.lease_owner.is_(None), t.c.next_attempt_at > now]
    if since is not None:
        conditions.append(t.c.created_at >= since)
    if event_ids is None:
        return int(conn.execute(update(t).where(*conditions).values(next_attempt_at=now)).rowcount)
    count = 0
    for chunk in _chunks(list(event_ids)):
        count += int(conn.execute(update(t).where(*conditions, t.c.id.in_(chunk)).values(next_attempt_at=now)).rowcount)
    return count


def count_pending(conn: Connection) -> int:
    t = webhook_events
    return int(conn.execute(select(func.count()).select_from(t).where(t.c.state == PENDING)).scalar_one())
