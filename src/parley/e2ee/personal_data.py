"""A person's published keys, for their export (`parley.rights`); erasure forgets them through
`E2EEService.forget_devices_in`, as a sign-out does."""

from __future__ import annotations

from sqlalchemy import Connection

from parley.e2ee.models import e2ee_device_keys
from parley.kit.rows import Rows, rows_of


def personal_data_in(conn: Connection, user_id: int) -> dict[str, Rows]:
    """The public identity keys of their devices (the server never holds a private key)."""
    keys = rows_of(conn, e2ee_device_keys, e2ee_device_keys.c.user_id == user_id, parse=["device_keys"])
    return {"e2ee_device_keys": keys}
