"""SQL of the journal. Funds checks are conditional UPDATEs, so two racing charges cannot both pass."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update

from parley.ledger.models import CREDIT, DEBIT, PENDING, ledger_accounts, ledger_transfers


@dataclass(frozen=True)
class AccountRow:
    id: int
    key: str
    currency: str
    normal_side: str
    kind: str
    owner_id: int | None
    floor_limit: int | None
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    created_at: int

    @property
    def balance(self) -> int:
        """Posted balance on the account's normal side (a wallet's money; negative when it owes)."""
        if self.normal_side == CREDIT:
            return self.credits_posted - self.debits_posted
        return self.debits_posted - self.credits_posted

    @property
    def held(self) -> int:
        """Pending amounts that will lower the balance if posted."""
        return self.debits_pending if self.normal_side == CREDIT else self.credits_pending

    @property
    def available(self) -> int | None:
        """What may still be spent (balance − holds + credit line); None when the account has no floor."""
        if self.floor_limit is None:
            return None
        return self.balance - self.held + self.floor_limit


@dataclass(frozen=True)
class TransferRow:
    id: int
    key: str
    kind: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    currency: str
    code: str
    pending_id: int | None
    reverses_id: int | None
    refs: str
    expires_at: int | None
    created_at: int
    digest: str

    @property
    def references(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.refs)
        return value


def compact_refs(refs: dict[str, Any]) -> str:
    return json.dumps(refs, separators=(",", ":"), sort_keys=True)


# The facts of a transfer its digest covers, in order.
DIGEST_FIELDS = (
    "id",
    "key",
    "kind",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "currency",
    "code",
    "pending_id",
    "reverses_id",
    "refs",
    "expires_at",
    "created_at",
)


def digest_of(row: dict[str, Any]) -> str:
    """The facts of a transfer, hashed: a row edited behind the ledger's back no longer matches its digest."""
    return hashlib.sha256("|".join(str(row[name]) for name in DIGEST_FIELDS).encode()).hexdigest()


def _account(row: Any) -> AccountRow:
    return AccountRow(**row._mapping)


def _transfer(row: Any) -> TransferRow:
    return TransferRow(**row._mapping)


def account_by_key(conn: Connection, key: str) -> AccountRow | None:
    row = conn.execute(_ACCOUNT_BY_KEY, {"key": key}).first()
    return None if row is None else _account(row)


def account_by_id(conn: Connection, account_id: int) -> AccountRow | None:
    row = conn.execute(select(ledger_accounts).where(ledger_accounts.c.id == account_id)).first()
    return None if row is None else _account(row)


def accounts_of_owner(conn: Connection, owner_id: int) -> list[AccountRow]:
    rows = conn.execute(
        select(ledger_accounts).where(ledger_accounts.c.owner_id == owner_id).order_by(ledger_accounts.c.id)
    )
    return [_account(r) for r in rows]


def insert_account(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(
        insert(ledger_accounts).values(**values, debits_posted=0, credits_posted=0, debits_pending=0, credits_pending=0)
    )


def lock_accounts(conn: Connection, account_ids: Sequence[int]) -> bool:
    """Lock in id order (PostgreSQL) so two multi-leg events can never deadlock each other.

    True when locks were taken: a unit that waited for them may now see what another committed meanwhile.
    (SQLite has one writer at a time, so nothing can change between a unit's reads and its writes.)
    """
    if conn.dialect.name != "postgresql":
        return False
    conn.execute(
        select(ledger_accounts.c.id)
        .where(ledger_accounts.c.id.in_(sorted(set(account_ids))))
        .order_by(ledger_accounts.c.id)
        .with_for_update()
    )
    return True


def read_one_snapshot(conn: Connection) -> None:
    """Make every later read on this connection see the same committed state, even while writers commit.

    Only for a connection that has not started its transaction yet (a read unit); a write unit already reads
    what its own transaction sees.
    """
    if conn.in_transaction():
        return
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="REPEATABLE READ")
    elif conn.dialect.name == "sqlite":
        # The driver starts no transaction for a SELECT, so each statement would read its own snapshot.
        conn.exec_driver_sql("BEGIN")


def _add_statement(normal_side: str, side: str, column: str, checked: bool) -> Any:
    c = ledger_accounts.c
    target = getattr(c, f"{side}s_{column}")
    amount: Any = bindparam("amount")
    condition = c.id == bindparam("account_id")
    # The side that lowers the balance (debits of a credit-normal account, credits of a debit-normal one) is
    # checked against the floor in the UPDATE itself: of two racing charges, the second sees the first.
    if checked and normal_side == CREDIT and side == DEBIT:
        room = c.credits_posted - c.debits_posted - c.debits_pending + c.floor_limit
        condition = and_(condition, or_(c.floor_limit.is_(None), room >= amount))
    elif checked and normal_side == DEBIT and side == CREDIT:
        room = c.debits_posted - c.credits_posted - c.credits_pending + c.floor_limit
        condition = and_(condition, or_(c.floor_limit.is_(None), room >= amount))
    return update(ledger_accounts).where(condition).values({target: target + amount})


# Prebuilt: the send path runs these for every charged message.
_ADD = {
    (normal, side, column, checked): _add_statement(normal, side, column, checked)
    for normal in (DEBIT, CREDIT)
    for side in (DEBIT, CREDIT)
    for column in ("posted", "pending")
    for checked in (False, True)
}
_SETTLE = {
    side: update(ledger_accounts)
    .where(ledger_accounts.c.id == bindparam("account_id"))
    .values(
        {
            getattr(ledger_accounts.c, f"{side}s_pending"): getattr(ledger_accounts.c, f"{side}s_pending")
            - bindparam("held"),
            getattr(ledger_accounts.c, f"{side}s_posted"): getattr(ledger_accounts.c, f"{side}s_posted")
            + bindparam("posted"),
        }
    )
    for side in (DEBIT, CREDIT)
}
_INSERT_TRANSFER = insert(ledger_transfers)
_TRANSFER_BY_KEY = select(ledger_transfers).where(ledger_transfers.c.key == bindparam("key"))
_TRANSFER_BY_ID = select(ledger_transfers).where(ledger_transfers.c.id == bindparam("id"))
_ACCOUNT_BY_KEY = select(ledger_accounts).where(ledger_accounts.c.key == bindparam("key"))


def add_to_side(conn: Connection, account: AccountRow, side: str, column: str, amount: int, *, checked: bool) -> bool:
    """Add `amount` to one running total; with `checked`, only while the account stays above its floor."""
    statement = _ADD[(account.normal_side, side, column, checked)]
    return conn.execute(statement, {"account_id": account.id, "amount": amount}).rowcount == 1


def move_pending_to_posted(conn: Connection, account_id: int, side: str, held: int, posted: int) -> None:
    conn.execute(_SETTLE[side], {"account_id": account_id, "held": held, "posted": posted})


def set_floor_limit(conn: Connection, account_id: int, limit: int | None) -> None:
    conn.execute(update(ledger_accounts).where(ledger_accounts.c.id == account_id).values(floor_limit=limit))


def transfer_by_key(conn: Connection, key: str) -> TransferRow | None:
    row = conn.execute(_TRANSFER_BY_KEY, {"key": key}).first()
    return None if row is None else _transfer(row)


def transfer_by_id(conn: Connection, transfer_id: int) -> TransferRow | None:
    row = conn.execute(_TRANSFER_BY_ID, {"id": transfer_id}).first()
    return None if row is None else _transfer(row)


def resolution_of(conn: Connection, pending_id: int) -> TransferRow | None:
    row = conn.execute(select(ledger_transfers).where(ledger_transfers.c.pending_id == pending_id)).first()
    return None if row is None else _transfer(row)


def reversal_of(conn: Connection, transfer_id: int) -> TransferRow | None:
    row = conn.execute(select(ledger_transfers).where(ledger_transfers.c.reverses_id == transfer_id)).first()
    return None if row is None else _transfer(row)


def insert_transfer(conn: Connection, values: dict[str, Any]) -> TransferRow:
    values = {**values, "digest": digest_of(values)}
    conn.execute(_INSERT_TRANSFER, values)
    return TransferRow(**values)


def expired_holds(conn: Connection, now: int, limit: int) -> list[TransferRow]:
    resolved = ledger_transfers.alias("resolved")
    t = ledger_transfers.c
    rows = conn.execute(
        select(ledger_transfers)
        .outerjoin(resolved, resolved.c.pending_id == t.id)
        .where(t.kind == PENDING, t.expires_at <= now, resolved.c.id.is_(None))
        .order_by(t.expires_at)
        .limit(limit)
    )
    return [_transfer(r) for r in rows]


def transfers_of_account(
    conn: Connection,
    account_id: int,
    *,
    after_id: int = 0,
    until_id: int | None = None,
    limit: int = 1000,
    newest_first: bool = False,
) -> list[TransferRow]:
    t = ledger_transfers.c
    condition = and_(or_(t.debit_account_id == account_id, t.credit_account_id == account_id), t.id > after_id)
    if until_id is not None:
        condition = and_(condition, t.id <= until_id)
    order = t.id.desc() if newest_first else t.id
    rows = conn.execute(select(ledger_transfers).where(condition).order_by(order).limit(limit))
    return [_transfer(r) for r in rows]


def count_transfers(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(ledger_transfers)).scalar_one())


def iter_transfers(conn: Connection, batch: int = 50_000) -> Iterator[TransferRow]:
    last = -1
    while True:
        rows = conn.execute(
            select(ledger_transfers).where(ledger_transfers.c.id > last).order_by(ledger_transfers.c.id).limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield _transfer(row)
        last = rows[-1].id


def accounts_with_prefix(conn: Connection, prefix: str) -> list[AccountRow]:
    """Accounts whose key starts with `prefix`. LIKE (escaped) rather than a key range: under PostgreSQL's
    locale collations punctuation sorts loosely, so a range could miss keys; SQLite's LIKE ignores case, hence
    the exact check after it."""
    rows = conn.execute(
        select(ledger_accounts)
        .where(ledger_accounts.c.key.startswith(prefix, autoescape=True))
        .order_by(ledger_accounts.c.id)
    )
    return [account for account in map(_account, rows) if account.key.startswith(prefix)]


def all_accounts(conn: Connection) -> list[AccountRow]:
    return [_account(r) for r in conn.execute(select(ledger_accounts).order_by(ledger_accounts.c.id))]
