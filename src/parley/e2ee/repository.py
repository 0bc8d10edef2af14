"""Queries of the key directory, the to-device queue and the device-list change log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, insert, select, update

from parley.e2ee.models import e2ee_device_keys, e2ee_device_list_changes, e2ee_one_time_keys, e2ee_to_device


@dataclass(frozen=True)
class DeviceKeysRow:
    device_id: int
    user_id: int
    curve25519: str
    ed25519: str
    device_keys: str


@dataclass(frozen=True)
class ToDeviceRow:
    id: int
    sender_user_id: int
    type: str
    content: str


def device_keys_of(conn: Connection, device_ids: Iterable[int]) -> dict[int, DeviceKeysRow]:
    ids = list(device_ids)
    if not ids:
        return {}
    k = e2ee_device_keys.c
    rows = conn.execute(
        select(k.device_id, k.user_id, k.curve25519, k.ed25519, k.device_keys).where(k.device_id.in_(ids))
    )
    return {r.device_id: DeviceKeysRow(r.device_id, r.user_id, r.curve25519, r.ed25519, r.device_keys) for r in rows}


def device_keys_of_users(conn: Connection, user_ids: Iterable[int]) -> list[DeviceKeysRow]:
    ids = list(user_ids)
    if not ids:
        return []
    k = e2ee_device_keys.c
    rows = conn.execute(
        select(k.device_id, k.user_id, k.curve25519, k.ed25519, k.device_keys)
        .where(k.user_id.in_(ids))
        .order_by(k.user_id, k.device_id)
    )
    return [DeviceKeysRow(r.device_id, r.user_id, r.curve25519, r.ed25519, r.device_keys) for r in rows]


def insert_device_keys(
    conn: Connection, device_id: int, user_id: int, curve25519: str, ed25519: str, signed: str, now: int
) -> None:
    conn.execute(
        insert(e2ee_device_keys).values(
            device_id=device_id,
            user_id=user_id,
            curve25519=curve25519,
            ed25519=ed25519,
            device_keys=signed,
            created_at=now,
            updated_at=now,
        )
    )


def update_signed_device_keys(conn: Connection, device_id: int, signed: str, now: int) -> None:
    """The same identity keys, signed again (e.g. with more signatures): only the stored object changes."""
    k = e2ee_device_keys.c
    conn.execute(update(e2ee_device_keys).where(k.device_id == device_id).values(device_keys=signed, updated_at=now))


def delete_device_keys(conn: Connection, device_ids: Iterable[int]) -> int:
    ids = list(device_ids)
    if not ids:
        return 0
    conn.execute(delete(e2ee_one_time_keys).where(e2ee_one_time_keys.c.device_id.in_(ids)))
    conn.execute(delete(e2ee_to_device).where(e2ee_to_device.c.recipient_device_id.in_(ids)))
    return conn.execute(delete(e2ee_device_keys).where(e2ee_device_keys.c.device_id.in_(ids))).rowcount or 0


def stored_keys(conn: Connection, device_id: int, key_ids: Iterable[str]) -> dict[str, str]:
    ids = list(key_ids)
    if not ids:
        return {}
    o = e2ee_one_time_keys.c
    rows = conn.execute(select(o.key_id, o.key).where(o.device_id == device_id, o.key_id.in_(ids)))
    return {r.key_id: r.key for r in rows}


# Fallback keys are numbered apart from one-time keys (vodozemac's first of each is `AAAAAAAAAAA`): stored under
# a marked id so the two never collide in the table's key, and handed out under the id the device gave.
_FALLBACK_MARK = "~fallback~"


def _stored_key_id(key_id: str, fallback: bool) -> str:
    algorithm, _, name = key_id.partition(":")
    return f"{algorithm}:{_FALLBACK_MARK}{name}" if fallback else key_id


def _given_key_id(stored: str) -> str:
    return stored.replace(":" + _FALLBACK_MARK, ":", 1)


def insert_one_time_keys(conn: Connection, device_id: int, keys: dict[str, str], now: int, *, fallback: bool) -> None:
    if keys:
        conn.execute(
            insert(e2ee_one_time_keys),
            [
                {
                    "device_id": device_id,
                    "key_id": _stored_key_id(key_id, fallback),
                    "key": key,
                    "fallback": fallback,
                    "created_at": now,
                }
                for key_id, key in keys.items()
            ],
        )


def delete_fallback_keys(conn: Connection, device_id: int, algorithm: str) -> None:
    o = e2ee_one_time_keys.c
    conn.execute(
        delete(e2ee_one_time_keys).where(o.device_id == device_id, o.fallback.is_(True), o.key_id.startswith(algorithm))
    )


def one_time_key_count(conn: Connection, device_id: int) -> int:
    o = e2ee_one_time_keys.c
    query = select(func.count()).where(o.device_id == device_id, o.fallback.is_(False))
    return int(conn.execute(query).scalar_one())


def fallback_key_algorithms(conn: Connection, device_id: int) -> list[str]:
    o = e2ee_one_time_keys.c
    rows = conn.execute(select(o.key_id).where(o.device_id == device_id, o.fallback.is_(True)))
    return sorted({r.key_id.split(":", 1)[0] for r in rows})


def claim_key(conn: Connection, device_id: int, algorithm: str) -> tuple[str, str] | None:
    """Take one one-time key of `algorithm` (deleted: handed out once), else the fallback key (kept)."""
    o = e2ee_one_time_keys.c
    prefix = algorithm + ":"
    for _ in range(5):  # another claim may take the key we read first: try the next one
        row = conn.execute(
            select(o.key_id, o.key)
            .where(o.device_id == device_id, o.fallback.is_(False), o.key_id.startswith(prefix))
            .order_by(o.key_id)
            .limit(1)
        ).first()
        if row is None:
            break
        gone = conn.execute(delete(e2ee_one_time_keys).where(o.device_id == device_id, o.key_id == row.key_id))
        if gone.rowcount:
            return str(row.key_id), str(row.key)
    row = conn.execute(
        select(o.key_id, o.key).where(o.device_id == device_id, o.fallback.is_(True), o.key_id.startswith(prefix))
    ).first()
    return None if row is None else (_given_key_id(str(row.key_id)), str(row.key))


def queue_to_device(conn: Connection, rows: list[dict[str, object]]) -> int:
    """Queue messages; those whose (sender device, txn id, recipient) is queued already are skipped (a retry)."""
    if not rows:
        return 0
    t = e2ee_to_device.c
    first = rows[0]
    taken = {
        r.recipient_device_id
        for r in conn.execute(
            select(t.recipient_device_id).where(
                t.sender_device_id == first["sender_device_id"], t.txn_id == first["txn_id"]
            )
        )
    }
    fresh = [r for r in rows if r["recipient_device_id"] not in taken]
    if fresh:
        conn.execute(insert(e2ee_to_device), fresh)
    return len(fresh)


def ack_to_device(conn: Connection, device_id: int, up_to_id: int) -> None:
    """The device processed what earlier syncs handed it, up to `up_to_id`: those messages go."""
    t = e2ee_to_device.c
    conn.execute(
        delete(e2ee_to_device).where(t.recipient_device_id == device_id, t.delivered.is_(True), t.id <= up_to_id)
    )


def hand_over_to_device(conn: Connection, device_id: int, limit: int) -> list[ToDeviceRow]:
    """The device's queue, oldest id first (a message committed late comes too, whatever its id), marked
    delivered; a sync whose answer was lost hands the same ones over again."""
    t = e2ee_to_device.c
    rows = [
        ToDeviceRow(r.id, r.sender_user_id, r.type, r.content)
        for r in conn.execute(
            select(t.id, t.sender_user_id, t.type, t.content)
            .where(t.recipient_device_id == device_id)
            .order_by(t.id)
            .limit(limit)
        )
    ]
    fresh = [r.id for r in rows]
    if fresh:
        conn.execute(update(e2ee_to_device).where(t.id.in_(fresh), t.delivered.is_(False)).values(delivered=True))
    return rows


def note_device_list_change(conn: Connection, change_id: int, user_id: int, now: int) -> None:
    conn.execute(insert(e2ee_device_list_changes).values(id=change_id, user_id=user_id, created_at=now))


def last_device_list_change(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(e2ee_device_list_changes.c.id), 0))).scalar_one())


def users_changed_since(conn: Connection, after_id: int) -> set[int]:
    c = e2ee_device_list_changes.c
    return {r.user_id for r in conn.execute(select(c.user_id).where(c.id > after_id).distinct())}
