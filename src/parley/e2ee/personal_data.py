"""A person's published keys, for their export and their erasure (`parley.rights`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, insert, select

from parley.e2ee.models import e2ee_device_keys, e2ee_device_list_changes, e2ee_one_time_keys, e2ee_to_device
from parley.kit.rows import Rows, rows_of


def personal_data_in(conn: Connection, user_id: int) -> dict[str, Rows]:
    """The public identity keys of their devices (the server never holds a private key)."""
    return {
        "e2ee_device_keys": rows_of(
            conn, e2ee_device_keys, e2ee_device_keys.c.user_id == user_id, parse=["device_keys"]
        )
    }


def erase_person_in(conn: Connection, user_id: int, device_ids: Sequence[int], change_id: int, now: int) -> None:
    """Keys, one-time keys and the queue of ciphertext to their devices (`device_ids`: all of them) go; peers are
    told the device list changed (to none), so they stop encrypting to it."""
    for start in range(0, len(device_ids), 500):
        batch = device_ids[start : start + 500]
        conn.execute(delete(e2ee_one_time_keys).where(e2ee_one_time_keys.c.device_id.in_(batch)))
        conn.execute(delete(e2ee_to_device).where(e2ee_to_device.c.recipient_device_id.in_(batch)))
    keyed = select(e2ee_device_keys.c.device_id).where(e2ee_device_keys.c.user_id == user_id).limit(1)
    had_keys = conn.execute(keyed).first() is not None
    conn.execute(delete(e2ee_device_keys).where(e2ee_device_keys.c.user_id == user_id))
    if had_keys:
        conn.execute(insert(e2ee_device_list_changes).values(id=change_id, user_id=user_id, created_at=now))
