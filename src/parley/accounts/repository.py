"""Account queries: plain functions of a Connection, run by the Database seam."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from parley.accounts.models import devices, otp_codes, token_revocations, users


@dataclass(frozen=True)
class UserRow:
    id: int
    phone: str
    name: str
    kind: str


@dataclass(frozen=True)
class DeviceRow:
    id: int
    user_id: int
    name: str
    created_at: int
    last_seen_at: int
    revoked_at: int | None
    acked_seq: int


@dataclass(frozen=True)
class OtpRow:
    phone: str
    code_hash: str
    expires_at: int
    attempts: int


def _user(row: object) -> UserRow:
    return UserRow(row.id, row.phone, row.name, row.kind)  # type: ignore[attr-defined]


def get_user_by_phone(conn: Connection, phone: str) -> UserRow | None:
    row = conn.execute(select(users).where(users.c.phone == phone)).first()
    return None if row is None else _user(row)


def get_user(conn: Connection, user_id: int) -> UserRow | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return None if row is None else _user(row)


def get_users(conn: Connection, user_ids: Iterable[int]) -> dict[int, UserRow]:
    ids = list(set(user_ids))
    if not ids:
        return {}
    return {r.id: _user(r) for r in conn.execute(select(users).where(users.c.id.in_(ids)))}


def insert_user(conn: Connection, user_id: int, phone: str, name: str, now: int, kind: str = "person") -> UserRow:
    conn.execute(insert(users).values(id=user_id, phone=phone, name=name, kind=kind, created_at=now))
    return UserRow(user_id, phone, name, kind)


def set_user_name(conn: Connection, user_id: int, name: str) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(name=name))


def insert_device(conn: Connection, device_id: int, user_id: int, name: str, token_hash: str, now: int) -> None:
    # A new device starts with everything already in the inbox acknowledged: it reads history instead.
    current_seq = conn.execute(select(users.c.inbox_seq).where(users.c.id == user_id)).scalar_one()
    conn.execute(
        insert(devices).values(
            id=device_id,
            user_id=user_id,
            name=name,
            token_hash=token_hash,
            created_at=now,
            last_seen_at=now,
            acked_seq=current_seq,
        )
    )


def _device(row: object) -> DeviceRow:
    r = row
    return DeviceRow(r.id, r.user_id, r.name, r.created_at, r.last_seen_at, r.revoked_at, r.acked_seq)  # type: ignore[attr-defined]


def get_device_by_token_hash(conn: Connection, token_hash: str) -> DeviceRow | None:
    row = conn.execute(select(devices).where(devices.c.token_hash == token_hash)).first()
    return None if row is None else _device(row)


def get_device(conn: Connection, device_id: int) -> DeviceRow | None:
    row = conn.execute(select(devices).where(devices.c.id == device_id)).first()
    return None if row is None else _device(row)


def list_active_devices(conn: Connection, user_id: int) -> list[DeviceRow]:
    rows = conn.execute(
        select(devices).where(devices.c.user_id == user_id, devices.c.revoked_at.is_(None)).order_by(devices.c.id)
    )
    return [_device(r) for r in rows]


def revoke_device(conn: Connection, device_id: int, now: int) -> str | None:
    """Revoke; returns the device's token hash (for cache eviction) or None if already revoked."""
    row = conn.execute(
        select(devices.c.token_hash).where(devices.c.id == device_id, devices.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    conn.execute(update(devices).where(devices.c.id == device_id).values(revoked_at=now))
    note_token_revoked(conn)
    return str(row.token_hash)


def touch_device(conn: Connection, device_id: int, now: int) -> None:
    conn.execute(update(devices).where(devices.c.id == device_id).values(last_seen_at=now))


_NEXT_INBOX_SEQ = (
    update(users)
    .where(users.c.id == bindparam("uid"))
    .values(inbox_seq=users.c.inbox_seq + 1)
    .returning(users.c.inbox_seq)
)


def next_inbox_seqs(conn: Connection, user_ids: Iterable[int]) -> dict[int, int]:
    """Take the next inbox sequence number of each user (row-locked until commit: commit order)."""
    seqs: dict[int, int] = {}
    for user_id in sorted(set(user_ids)):  # one lock order for every transaction: no deadlocks
        seqs[user_id] = conn.execute(_NEXT_INBOX_SEQ, {"uid": user_id}).scalar_one()
    return seqs


def get_otp(conn: Connection, phone: str) -> OtpRow | None:
    # Row-locked until commit: concurrent guesses are counted one after another, never past the limit.
    row = conn.execute(select(otp_codes).where(otp_codes.c.phone == phone).with_for_update()).first()
    return None if row is None else OtpRow(row.phone, row.code_hash, row.expires_at, row.attempts)


def put_otp(conn: Connection, phone: str, code_hash: str, expires_at: int, now: int) -> None:
    conn.execute(otp_codes.delete().where(otp_codes.c.phone == phone))
    conn.execute(insert(otp_codes).values(phone=phone, code_hash=code_hash, expires_at=expires_at, created_at=now))


def count_otp_attempt(conn: Connection, phone: str) -> None:
    conn.execute(update(otp_codes).where(otp_codes.c.phone == phone).values(attempts=otp_codes.c.attempts + 1))


def delete_otp(conn: Connection, phone: str) -> None:
    conn.execute(otp_codes.delete().where(otp_codes.c.phone == phone))


def note_token_revoked(conn: Connection) -> None:
    """Move the revocation counter, inside the revoking transaction (so it moves exactly when the revocation lands)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(token_revocations).values(id=1, generation=1)
    conn.execute(
        statement.on_conflict_do_update(index_elements=["id"], set_={"generation": token_revocations.c.generation + 1})
    )


def revocation_counter_sql() -> str:
    """The counter's driver-level query, for a check cheap enough to run on every authenticated request."""
    query = select(token_revocations.c.generation).where(token_revocations.c.id == 1)
    return str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
