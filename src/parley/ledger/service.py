"""The ledger's operations, each run inside the caller's write unit so a charge commits with what caused it.

Every operation is keyed: the same key with the same body returns the first transfer, with another body it is
refused. Holds are two-phase (reserve, then post, void or expire exactly once). Posted transfers are never
changed: a correction is a reversing transfer.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import Connection, select

from parley.kit.clock import Clock
from parley.kit.errors import AppError, ConflictError, InvalidInputError, NotFoundError
from parley.kit.ids import IdGenerator
from parley.ledger import repository as repo
from parley.ledger.models import (
    CREDIT,
    DEBIT,
    EXPIRE,
    PENDING,
    POST,
    POSTED,
    VOID,
    ledger_transfers,
)
from parley.ledger.repository import AccountRow, TransferRow
from parley.platform.db import Database


class InsufficientFundsError(AppError):
    status = 402
    code = "insufficient_funds"


class TransferConflictError(ConflictError):
    """A transfer key used again with a different body."""


class HoldResolvedError(ConflictError):
    """A hold already posted, voided or expired."""


@dataclass(frozen=True)
class _Body:
    kind: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    currency: str
    code: str
    pending_id: int | None
    reverses_id: int | None
    refs: str


def _body_of(row: TransferRow) -> _Body:
    return _Body(
        row.kind,
        row.debit_account_id,
        row.credit_account_id,
        row.amount,
        row.currency,
        row.code,
        row.pending_id,
        row.reverses_id,
        row.refs,
    )


class Ledger:
    """Journal operations on a connection; callers own the transaction (one unit = all legs or none)."""

    def __init__(self, ids: IdGenerator, clock: Clock) -> None:
        self._ids, self._clock = ids, clock

    # --- accounts ---------------------------------------------------------------------------------

    def open_account(
        self,
        conn: Connection,
        key: str,
        *,
        currency: str,
        normal_side: str,
        kind: str,
        owner_id: int | None = None,
        floor_limit: int | None = None,
    ) -> AccountRow:
        """The account with this key, created on first use."""
        existing = repo.account_by_key(conn, key)
        if existing is not None:
            if existing.currency != currency or existing.normal_side != normal_side:
                raise ConflictError(f"account {key} exists in {existing.currency} ({existing.normal_side}-normal)")
            return existing
        if normal_side not in (DEBIT, CREDIT):
            raise InvalidInputError(f"normal side must be debit or credit, not {normal_side!r}")
        repo.insert_account(
            conn,
            {
                "id": self._ids.next_id(),
                "key": key,
                "currency": currency,
                "normal_side": normal_side,
                "kind": kind,
                "owner_id": owner_id,
                "floor_limit": floor_limit,
                "created_at": self._clock.now_ms(),
            },
        )
        account = repo.account_by_key(conn, key)
        assert account is not None
        return account

    def account(self, conn: Connection, key: str) -> AccountRow | None:
        return repo.account_by_key(conn, key)

    def set_floor_limit(self, conn: Connection, account: AccountRow, limit: int) -> AccountRow:
        """Change a credit line. Lowering it below what the account already uses is refused."""
        if limit < 0:
            raise InvalidInputError("a credit line cannot be negative")
        repo.lock_accounts(conn, (account.id,))  # a charge committing meanwhile must be counted in the check
        current = repo.account_by_id(conn, account.id)
        assert current is not None
        if current.balance - current.held + limit < 0:
            raise ConflictError(
                f"the account already uses {-(current.balance - current.held)} micros of credit; "
                "a lower credit line would leave it below its floor"
            )
        repo.set_floor_limit(conn, account.id, limit)
        updated = repo.account_by_id(conn, account.id)
        assert updated is not None
        return updated

    # --- transfers ---------------------------------------------------------------------------------

    def transfer(
        self,
        conn: Connection,
        key: str,
        *,
        debit: AccountRow,
        credit: AccountRow,
        amount: int,
        code: str,
        refs: dict[str, Any] | None = None,
        known_new: bool = False,
    ) -> TransferRow:
        """A posted transfer; refused with InsufficientFundsError when it would take an account below its floor.

        `known_new`: the caller guarantees the key was never used (e.g. it names a row created in the same unit),
        so the retry lookup is skipped; the key's unique index still refuses a duplicate.
        """
        return self._new(conn, key, POSTED, debit, credit, amount, code, refs, expires_at=None, known_new=known_new)

    def hold(
        self,
        conn: Connection,
        key: str,
        *,
        debit: AccountRow,
        credit: AccountRow,
        amount: int,
        code: str,
        expires_at: int,
        refs: dict[str, Any] | None = None,
        known_new: bool = False,
    ) -> TransferRow:
        """Reserve funds: they count against the floor until the hold is posted, voided or expired."""
        return self._new(
            conn, key, PENDING, debit, credit, amount, code, refs, expires_at=expires_at, known_new=known_new
        )

    def post(
        self,
        conn: Connection,
        key: str,
        hold: TransferRow,
        *,
        amount: int | None = None,
        refs: dict[str, Any] | None = None,
        known_new: bool = False,
    ) -> TransferRow:
        """Post a hold for its amount or less (the rest is released).

        `known_new`: the caller knows the hold is unresolved and the key unused (its own state says so, written
        in the same unit); the unique indexes on key and hold still refuse a second resolution.
        """
        posted = hold.amount if amount is None else amount
        if not 0 <= posted <= hold.amount:
            raise InvalidInputError(f"a hold of {hold.amount} can be posted for 0..{hold.amount}, not {posted}")
        return self._resolve(conn, key, hold, POST, posted, refs, known_new=known_new)

    def void(
        self,
        conn: Connection,
        key: str,
        hold: TransferRow,
        *,
        refs: dict[str, Any] | None = None,
        expired: bool = False,
    ) -> TransferRow:
        """Release a hold entirely (`expired`: because its time ran out)."""
        return self._resolve(conn, key, hold, EXPIRE if expired else VOID, hold.amount, refs)

    def reverse(
        self,
        conn: Connection,
        key: str,
        original: TransferRow,
        *,
        code: str = "reversal",
        refs: dict[str, Any] | None = None,
    ) -> TransferRow:
        """Correct a posted transfer with its mirror image; each transfer is reversed at most once."""
        if original.kind not in (POSTED, POST):
            raise InvalidInputError("only posted transfers can be reversed")
        existing = repo.transfer_by_key(conn, key)
        if existing is None:
            done = repo.reversal_of(conn, original.id)
            if done is not None:
                raise ConflictError(f"transfer {original.key} was already reversed by {done.key}")
        debit = repo.account_by_id(conn, original.credit_account_id)
        credit = repo.account_by_id(conn, original.debit_account_id)
        assert debit is not None and credit is not None
        return self._new(
            conn, key, POSTED, debit, credit, original.amount, code, refs, expires_at=None, reverses_id=original.id
        )

    def transfer_by_key(self, conn: Connection, key: str) -> TransferRow | None:
        return repo.transfer_by_key(conn, key)

    def transfer_by_id(self, conn: Connection, transfer_id: int) -> TransferRow | None:
        return repo.transfer_by_id(conn, transfer_id)

    def resolution_of(self, conn: Connection, hold: TransferRow) -> TransferRow | None:
        return repo.resolution_of(conn, hold.id)

    def transfers_of(
        self,
        conn: Connection,
        account: AccountRow,
        *,
        after_id: int = 0,
        until_id: int | None = None,
        limit: int = 1000,
        newest_first: bool = False,
    ) -> list[TransferRow]:
        """An account's journal in order, one page at a time (ids are time-ordered: the journal's sequence);
        `newest_first` pages backwards from `until_id` (a wallet's history)."""
        return repo.transfers_of_account(
            conn, account.id, after_id=after_id, until_id=until_id, limit=limit, newest_first=newest_first
        )

    def account_by_id(self, conn: Connection, account_id: int) -> AccountRow | None:
        return repo.account_by_id(conn, account_id)

    def accounts(self, conn: Connection) -> list[AccountRow]:
        return repo.all_accounts(conn)

    def accounts_with_prefix(self, conn: Connection, prefix: str) -> list[AccountRow]:
        """Accounts whose key starts with `prefix` (e.g. `platform:provider:`), in the order they were opened."""
        return repo.accounts_with_prefix(conn, prefix)

    def expired_holds(self, conn: Connection, limit: int = 500) -> list[TransferRow]:
        return repo.expired_holds(conn, self._clock.now_ms(), limit)

    # --- internals ---------------------------------------------------------------------------------

    def _new(
        self,
        conn: Connection,
        key: str,
        kind: str,
        debit: AccountRow,
        credit: AccountRow,
        amount: int,
        code: str,
        refs: dict[str, Any] | None,
        *,
        expires_at: int | None,
        reverses_id: int | None = None,
        known_new: bool = False,
    ) -> TransferRow:
        if not key or len(key) > 200:
            raise InvalidInputError("a transfer needs a key of 1 to 200 characters")
        if amount < 0:
            raise InvalidInputError("amounts are never negative; reverse the transfer instead")
        if debit.id == credit.id:
            raise InvalidInputError("a transfer moves money between two different accounts")
        if debit.currency != credit.currency:
            raise InvalidInputError(f"cannot move {debit.currency} into a {credit.currency} account")
        values = {
            "id": 0,
            "key": key,
            "kind": kind,
            "debit_account_id": debit.id,
            "credit_account_id": credit.id,
            "amount": amount,
            "currency": debit.currency,
            "code": code,
            "pending_id": None,
            "reverses_id": reverses_id,
            "refs": repo.compact_refs(refs or {}),
            "expires_at": expires_at,
            "created_at": self._clock.now_ms(),
        }
        if not known_new:
            first = self._replay(conn, key, values)
            if first is not None:
                return first
        column = "pending" if kind == PENDING else "posted"
        if repo.lock_accounts(conn, (debit.id, credit.id)) and not known_new:
            # A copy of this call may have committed while we waited for the locks: answer with its transfer.
            first = self._replay(conn, key, values)
            if first is not None:
                return first
        # A failed check raises, and the caller's unit rolls back whatever this transfer already changed.
        for account, side in ((debit, DEBIT), (credit, CREDIT)):
            if not repo.add_to_side(conn, account, side, column, amount, checked=True):
                raise InsufficientFundsError(f"account {account.key} has not enough funds for {amount} micros")
        values["id"] = self._ids.next_id()
        return repo.insert_transfer(conn, values)

    def _resolve(
        self,
        conn: Connection,
        key: str,
        hold: TransferRow,
        kind: str,
        amount: int,
        refs: dict[str, Any] | None,
        *,
        known_new: bool = False,
    ) -> TransferRow:
        if hold.kind != PENDING:
            raise InvalidInputError(f"transfer {hold.key} is not a hold")
        values = {
            "id": 0,
            "key": key,
            "kind": kind,
            "debit_account_id": hold.debit_account_id,
            "credit_account_id": hold.credit_account_id,
            "amount": amount,
            "currency": hold.currency,
            "code": hold.code,
            "pending_id": hold.id,
            "reverses_id": None,
            "refs": repo.compact_refs(refs if refs is not None else hold.references),
            "expires_at": None,
            "created_at": self._clock.now_ms(),
        }
        if known_new:
            repo.lock_accounts(conn, (hold.debit_account_id, hold.credit_account_id))
        else:
            first = self._replay(conn, key, values)
            if first is not None:
                return first
            if repo.lock_accounts(conn, (hold.debit_account_id, hold.credit_account_id)):
                first = self._replay(conn, key, values)  # as in _new: a copy of this call won the race
                if first is not None:
                    return first
            done = repo.resolution_of(conn, hold.id)
            if done is not None:
                raise HoldResolvedError(f"hold {hold.key} was already resolved ({done.kind}) by {done.key}")
        posted = amount if kind == POST else 0
        for account_id, side in sorted(((hold.debit_account_id, DEBIT), (hold.credit_account_id, CREDIT))):
            repo.move_pending_to_posted(conn, account_id, side, hold.amount, posted)
        values["id"] = self._ids.next_id()
        return repo.insert_transfer(conn, values)

    @staticmethod
    def _replay(conn: Connection, key: str, values: dict[str, Any]) -> TransferRow | None:
        """The first transfer made under this key, when this call is its retry."""
        existing = repo.transfer_by_key(conn, key)
        if existing is None:
            return None
        asked = _Body(
            values["kind"],
            values["debit_account_id"],
            values["credit_account_id"],
            values["amount"],
            values["currency"],
            values["code"],
            values["pending_id"],
            values["reverses_id"],
            values["refs"],
        )
        if _body_of(existing) != asked:
            raise TransferConflictError(f"transfer key {key!r} was already used for a different transfer")
        return existing


# --- verification -------------------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool = True
    problems: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        self.ok = False
        if len(self.problems) < 20:  # enough to act on; the count says the rest
            self.problems.append(problem)


@dataclass
class VerifyReport:
    transfers: int
    accounts: int
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


class _Checks:
    NAMES: ClassVar[tuple[str, ...]] = (
        "debits equal credits in every currency",
        "one transfer per key",
        "posted transfers unchanged (digests match, references intact)",
        "no account below its floor",
        "every hold resolved at most once, within its amount",
        "every account's totals equal its journal",
    )

    def __init__(self) -> None:
        self.by_name = {name: Check(name) for name in self.NAMES}

    def __getitem__(self, index: int) -> Check:
        return self.by_name[self.NAMES[index]]


def verify_journal(conn: Connection, progress: Any = None) -> VerifyReport:
    """Recompute everything from the journal in one pass and compare it with the accounts' running totals."""
    repo.read_one_snapshot(conn)  # accounts and journal from the same moment, even on a live system
    checks = _Checks()
    accounts = {a.id: a for a in repo.all_accounts(conn)}
    posted_debits: dict[int, int] = defaultdict(int)
    posted_credits: dict[int, int] = defaultdict(int)
    holds: dict[int, tuple[int, int, int, str]] = {}
    resolved: dict[int, str] = {}
    seen_keys: set[str] = set()
    postings: list[tuple[int, int, str, str]] = []  # (pending_id, amount, kind, key) checked after the pass
    reversals: list[tuple[int, int, int, int, str]] = []
    count = 0
    columns = [getattr(ledger_transfers.c, name) for name in _DIGEST_COLUMNS]
    result = conn.execution_options(yield_per=20_000).execute(select(*columns).order_by(ledger_transfers.c.id))
    for row in result:
        count += 1
        if progress is not None and count % 20_000 == 0:
            progress(20_000)
        values = dict(zip(_DIGEST_COLUMNS, row, strict=True))
        tid, key, kind = values["id"], values["key"], values["kind"]
        debit_id, credit_id, amount = values["debit_account_id"], values["credit_account_id"], values["amount"]
        if repo.digest_of(values) != values["digest"]:
            checks[2].fail(f"transfer {key} does not match its digest (edited after it was written)")
        if key in seen_keys:
            checks[1].fail(f"key {key} used twice")
        seen_keys.add(key)
        debit, credit = accounts.get(debit_id), accounts.get(credit_id)
        if debit is None or credit is None:
            checks[2].fail(f"transfer {key} names an account that does not exist")
        elif not debit.currency == credit.currency == values["currency"]:
            checks[0].fail(f"transfer {key} in {values['currency']} between {debit.currency} and {credit.currency}")
        if amount < 0:
            checks[0].fail(f"transfer {key} has a negative amount")
        if kind in (POSTED, POST):
            posted_debits[debit_id] += amount
            posted_credits[credit_id] += amount
        if kind == PENDING:
            holds[tid] = (debit_id, credit_id, amount, key)
        elif kind in (POST, VOID, EXPIRE):
            pending_id = values["pending_id"]
            if pending_id in resolved:
                checks[4].fail(f"hold {pending_id} resolved twice ({resolved[pending_id]} and {key})")
            resolved[pending_id] = key
            postings.append((pending_id, amount, kind, key))
        if values["reverses_id"] is not None:
            reversals.append((values["reverses_id"], debit_id, credit_id, amount, key))
    if progress is not None:
        progress(count % 20_000)
    for pending_id, amount, kind, key in postings:
        hold = holds.get(pending_id)
        if hold is None:
            checks[4].fail(f"{key} resolves {pending_id}, which is not a hold")
        elif kind == POST and amount > hold[2]:
            checks[4].fail(f"{key} posts {amount}, more than its hold of {hold[2]}")
    pending_debits: dict[int, int] = defaultdict(int)
    pending_credits: dict[int, int] = defaultdict(int)
    for hold_id, (debit_id, credit_id, amount, _key) in holds.items():
        if hold_id not in resolved:
            pending_debits[debit_id] += amount
            pending_credits[credit_id] += amount
    _check_reversals(conn, reversals, checks[2])
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for account in accounts.values():
        expected = (
            posted_debits[account.id],
            posted_credits[account.id],
            pending_debits[account.id],
            pending_credits[account.id],
        )
        actual = (account.debits_posted, account.credits_posted, account.debits_pending, account.credits_pending)
        if expected != actual:
            checks[5].fail(f"{account.key}: totals {actual} but the journal sums to {expected}")
        for i, value in enumerate(actual):
            totals[account.currency][i] += value
        if account.available is not None and account.available < 0:
            checks[3].fail(f"{account.key} is {-account.available} micros below its floor")
    for currency, (debits, credits, held_debits, held_credits) in totals.items():
        if debits != credits or held_debits != held_credits:
            checks[0].fail(f"{currency}: debits {debits} / credits {credits}, held {held_debits} / {held_credits}")
    return VerifyReport(transfers=count, accounts=len(accounts), checks=list(checks.by_name.values()))


_DIGEST_COLUMNS = (*repo.DIGEST_FIELDS, "digest")


def _check_reversals(conn: Connection, reversals: list[tuple[int, int, int, int, str]], check: Check) -> None:
    for original_id, debit_id, credit_id, amount, key in reversals:
        original = repo.transfer_by_id(conn, original_id)
        if original is None:
            check.fail(f"{key} reverses a transfer that no longer exists")
        elif (original.debit_account_id, original.credit_account_id, original.amount) != (credit_id, debit_id, amount):
            check.fail(f"{key} is not the mirror image of {original.key}")


class LedgerService:
    """The ledger for callers outside a unit (CLI, operators): each call is its own transaction."""

    def __init__(self, db: Database, ledger: Ledger) -> None:
        self._db = db
        self.journal = ledger

    async def verify(self, progress: Any = None) -> VerifyReport:
        return await self._db.read(lambda conn: verify_journal(conn, progress))

    async def count_transfers(self) -> int:
        return await self._db.read(repo.count_transfers)

    async def account(self, key: str) -> AccountRow:
        account = await self._db.read(lambda conn: repo.account_by_key(conn, key))
        if account is None:
            raise NotFoundError(f"no ledger account {key}")
        return account
