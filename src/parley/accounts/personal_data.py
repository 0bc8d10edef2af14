"""A person's account data, for their export and their erasure (`parley.rights`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, func, select, update

from parley.accounts import repository as repo
from parley.accounts.models import devices, otp_codes, users
from parley.kit.rows import Rows, rows_of

ERASED_NAME = "Deleted account"


def pseudonym_phone(user_id: int) -> str:
    """What replaces an erased person's number: never a number (no `+`), unique, at most 20 characters."""
    return f"~{user_id}"


@dataclass(frozen=True)
class ErasedAccount:
    """What the erasing unit changed that caches elsewhere must forget once it commits."""

    user_id: int
    phone: str  # the number it had (empty when it was erased before)
    name: str  # the name it had (empty when it was erased before)
    token_hashes: list[str]  # of the devices it revoked
    device_ids: list[int]  # all its devices, revoked before or now


def personal_data_in(conn: Connection, user_id: int) -> dict[str, Rows]:
    """The account and its devices (never a token's hash)."""
    return {
        "account": rows_of(conn, users, users.c.id == user_id, omit=["inbox_seq"]),
        "devices": rows_of(conn, devices, devices.c.user_id == user_id, omit=["token_hash", "acked_seq"]),
    }


def erase_account_in(conn: Connection, user_id: int, now: int) -> ErasedAccount:
    """Replace number and name by a pseudonym, revoke every device and forget their names; the user id stays, so
    ledger entries and consent proofs keep pointing at the same (now pseudonymous) account. Repeatable."""
    row = conn.execute(
        select(users.c.phone, users.c.name, users.c.erased_at).where(users.c.id == user_id).with_for_update()
    ).first()
    phone, name = ("", "") if row is None or row.erased_at is not None else (str(row.phone), str(row.name))
    if phone:
        conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(phone=pseudonym_phone(user_id), name=ERASED_NAME, erased_at=now)
        )
        conn.execute(otp_codes.delete().where(otp_codes.c.phone == phone))
    rows = conn.execute(
        select(devices.c.id, devices.c.token_hash, devices.c.revoked_at).where(devices.c.user_id == user_id)
    ).all()
    active = [r for r in rows if r.revoked_at is None]
    conn.execute(
        update(devices)
        .where(devices.c.user_id == user_id)
        .values(name="", revoked_at=func.coalesce(devices.c.revoked_at, now))
    )
    if active:
        repo.note_token_revoked(conn)  # processes whose bus does not reach us drop their cached tokens
    return ErasedAccount(user_id, phone, name, [str(r.token_hash) for r in active], [int(r.id) for r in rows])


def erased_among_in(conn: Connection, user_ids: Iterable[int]) -> set[int]:
    """Which of these accounts were erased (a process's pending counters about them must not bring rows back)."""
    ids = list(user_ids)
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        query = select(users.c.id).where(users.c.id.in_(ids[start : start + 500]), users.c.erased_at.is_not(None))
        found.update(r.id for r in conn.execute(query))
    return found
