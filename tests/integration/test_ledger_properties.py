"""The ledger's seven guarantees, checked after every step of random operation sequences on a real database.

A Hypothesis state machine drives the real `Ledger` through `Database.write` units (SQLite file by default,
PostgreSQL when PARLEY_TEST_DATABASE_URL is set, where the "racing" rules really race on separate connections)
and keeps its own model of every account in plain dicts. After every step it checks:

1. debits equal credits in every currency (summed from the accounts' totals, independently of verify);
2. one transfer per key, and a retried key returns the first transfer (or a conflict for another body);
3. every transfer row ever written is still in the database, unchanged;
4. no account is below its floor (prepaid wallets at 0, credit lines at -limit);
5. every hold is resolved at most once, and the model knows by which transfer;
6. `verify_journal` passes (every balance equals the sum of its journal) and counts what the model counts;
7. (all legs or none) a unit that fails part-way leaves nothing behind — the model would disagree otherwise.
The crash half of guarantee 7 is tests/e2e/test_billing_crash.py.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Connection, delete, exc, select, text, update

from parley.kit.clock import FrozenClock
from parley.kit.errors import AppError, ConflictError, InvalidInputError
from parley.kit.ids import IdGenerator
from parley.ledger import (
    CREDIT,
    DEBIT,
    PENDING,
    POST,
    POSTED,
    HoldResolvedError,
    InsufficientFundsError,
    Ledger,
    TransferConflictError,
    TransferRow,
    verify_journal,
)
from parley.ledger.models import ledger_accounts, ledger_transfers
from parley.platform.db import Database, create_database
from tests.backends import PostgresTemplate, SqliteTemplate

CURRENCIES = ("USD", "EUR")
HOUR_MS = 3_600_000
Outcome = TransferRow | AppError
Unit = Callable[[Connection], TransferRow]


# --- the model --------------------------------------------------------------------------------------------


@dataclass
class ModelAccount:
    key: str
    currency: str
    normal_side: str
    floor: int | None
    # debits posted, credits posted, debits pending, credits pending
    totals: list[int] = field(default_factory=lambda: [0, 0, 0, 0])

    @property
    def balance(self) -> int:
        dp, cp, _, _ = self.totals
        return cp - dp if self.normal_side == CREDIT else dp - cp

    @property
    def held(self) -> int:
        return self.totals[2] if self.normal_side == CREDIT else self.totals[3]

    def room(self, side: str) -> int | None:
        """What may still move out on `side` before the floor; None when that side cannot breach it."""
        lowers = (self.normal_side == CREDIT and side == DEBIT) or (self.normal_side == DEBIT and side == CREDIT)
        if self.floor is None or not lowers:
            return None
        return self.balance - self.held + self.floor


@dataclass
class ModelHold:
    key: str
    id: int
    debit: str
    credit: str
    amount: int
    expires_at: int
    resolved_by: str | None = None


@dataclass
class Call:
    """How a transfer was made, so a retry can make exactly the same call (or the same one with other refs)."""

    make: Callable[[dict[str, Any]], Unit]
    refs: dict[str, Any]


class LedgerMachine(RuleBasedStateMachine):
    accounts = Bundle("accounts")
    holds = Bundle("holds")
    transfers = Bundle("transfers")

    def __init__(self, url: str) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        # Durability is not what this test is about: NORMAL keeps the many small units quick.
        self.db: Database = create_database(url, sqlite_synchronous="NORMAL")
        self.clock = FrozenClock()
        self.ledger = Ledger(IdGenerator(self.clock, node=7), self.clock)
        self.model: dict[str, ModelAccount] = {}
        self.model_holds: dict[str, ModelHold] = {}
        self.rows: dict[int, TransferRow] = {}  # every transfer ever written, as it was written
        self.by_key: dict[str, TransferRow] = {}
        self.calls: dict[str, Call] = {}
        self.reversed: set[int] = set()
        self.account_keys: dict[int, str] = {}
        self.seq = itertools.count()

    def teardown(self) -> None:
        self.runner.run(self.db.close())
        self.runner.close()

    # --- helpers -----------------------------------------------------------------------------------

    def fresh_key(self, what: str) -> str:
        return f"{what}:{next(self.seq)}"

    def write(self, unit: Callable[[Connection], Any]) -> Any:
        return self.runner.run(self.db.write("tests.write", unit))

    def attempt(self, unit: Unit) -> Outcome:
        try:
            result: TransferRow = self.write(unit)
        except AppError as error:
            return error
        return result

    def race(self, units: Sequence[Callable[[Connection], Any]], *reads: Callable[[Connection], Any]) -> list[Any]:
        """Run units concurrently (each its own transaction; on PostgreSQL each on its own connection)."""

        async def together() -> list[Any]:
            writes = [self.db.write("tests.together", u) for u in units]
            return await asyncio.gather(*writes, *(self.db.read(r) for r in reads), return_exceptions=True)

        results = self.runner.run(together())
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, AppError):
                raise result
        return results

    def account_row(self, conn: Connection, key: str) -> Any:
        row = self.ledger.account(conn, key)
        assert row is not None, key
        return row

    def predict(self, debit: str, credit: str, amount: int) -> type[AppError] | None:
        """The error a new transfer or hold of `amount` must meet now, or None when it must succeed."""
        d, c = self.model[debit], self.model[credit]
        if debit == credit or d.currency != c.currency:
            return InvalidInputError
        for account, side in ((d, DEBIT), (c, CREDIT)):
            room = account.room(side)
            if room is not None and room < amount:
                return InsufficientFundsError
        return None

    def record(self, key: str, row: TransferRow, call: Call) -> None:
        assert row.key == key
        assert row.id not in self.rows, "a new transfer must get a new id"
        self.rows[row.id] = row
        self.by_key[key] = row
        self.calls[key] = call

    def apply_new(self, row: TransferRow, debit: str, credit: str) -> None:
        column = 2 if row.kind == PENDING else 0
        self.model[debit].totals[column] += row.amount
        self.model[credit].totals[column + 1] += row.amount

    def apply_resolution(self, hold: ModelHold, row: TransferRow) -> None:
        posted = row.amount if row.kind == POST else 0
        d, c = self.model[hold.debit], self.model[hold.credit]
        d.totals[2] -= hold.amount
        c.totals[3] -= hold.amount
        d.totals[0] += posted
        c.totals[1] += posted
        hold.resolved_by = row.key

    def new_transfer_call(self, key: str, debit: str, credit: str, amount: int, code: str) -> Call:
        def make(refs: dict[str, Any]) -> Unit:
            return lambda conn: self.ledger.transfer(
                conn,
                key,
                debit=self.account_row(conn, debit),
                credit=self.account_row(conn, credit),
                amount=amount,
                code=code,
                refs=refs,
            )

        return Call(make, {"seq": key})

    def new_hold_call(self, key: str, debit: str, credit: str, amount: int, expires_at: int) -> Call:
        def make(refs: dict[str, Any]) -> Unit:
            return lambda conn: self.ledger.hold(
                conn,
                key,
                debit=self.account_row(conn, debit),
                credit=self.account_row(conn, credit),
                amount=amount,
                code="message_charge",
                expires_at=expires_at,
                refs=refs,
            )

        return Call(make, {"seq": key})

    def resolve_call(
        self, key: str, hold_key: str, action: str, amount: int | None, first_refs: dict[str, Any] | None = None
    ) -> Call:
        hold = self.by_key[hold_key]

        def make(refs: dict[str, Any]) -> Unit:
            if action == "post":
                return lambda conn: self.ledger.post(conn, key, hold, amount=amount, refs=refs)
            return lambda conn: self.ledger.void(conn, key, hold, refs=refs, expired=action == "expire")

        return Call(make, {"seq": key} if first_refs is None else first_refs)

    def do_new(self, key: str, debit: str, credit: str, call: Call, amount: int) -> Outcome:
        expected = self.predict(debit, credit, amount)
        outcome = self.attempt(call.make(call.refs))
        if expected is None:
            assert isinstance(outcome, TransferRow), f"expected success, got {outcome!r}"
            self.record(key, outcome, call)
            self.apply_new(outcome, debit, credit)
            if outcome.kind == PENDING:
                self.model_holds[key] = ModelHold(key, outcome.id, debit, credit, amount, outcome.expires_at or 0)
        else:
            assert type(outcome) is expected, f"expected {expected.__name__}, got {outcome!r}"
        return outcome

    # --- accounts ----------------------------------------------------------------------------------

    @initialize(target=accounts)
    def platform_accounts(self) -> Any:
        keys = []
        for currency in CURRENCIES:
            for kind, side in (("cash", DEBIT), ("revenue", CREDIT), ("promotions", DEBIT)):
                key = f"platform:{kind}:{currency}"
                row = self.write(
                    lambda conn, key=key, currency=currency, side=side, kind=kind: self.ledger.open_account(
                        conn, key, currency=currency, normal_side=side, kind=kind
                    )
                )
                self.model[key] = ModelAccount(key, currency, side, None)
                self.account_keys[row.id] = key
                keys.append(key)
        return multiple(*keys)

    @rule(
        target=accounts,
        currency=st.sampled_from(CURRENCIES),
        credit_line=st.one_of(st.just(0), st.integers(1, 5_000)),
    )
    def open_wallet(self, currency: str, credit_line: int) -> str:
        """A business wallet: prepaid (floor 0) or with a credit line."""
        key = self.fresh_key("waba") + ":wallet"
        row = self.write(
            lambda conn: self.ledger.open_account(
                conn, key, currency=currency, normal_side=CREDIT, kind="wallet", owner_id=1, floor_limit=credit_line
            )
        )
        assert (row.key, row.floor_limit, row.balance, row.held) == (key, credit_line, 0, 0)
        self.model[key] = ModelAccount(key, currency, CREDIT, credit_line)
        self.account_keys[row.id] = key
        return key

    @rule(
        target=accounts,
        currency=st.sampled_from(CURRENCIES),
        side=st.sampled_from((DEBIT, CREDIT)),
        floor=st.one_of(st.none(), st.integers(0, 3_000)),
    )
    def open_other_account(self, currency: str, side: str, floor: int | None) -> str:
        key = self.fresh_key("other")
        row = self.write(
            lambda conn: self.ledger.open_account(
                conn, key, currency=currency, normal_side=side, kind="other", floor_limit=floor
            )
        )
        self.model[key] = ModelAccount(key, currency, side, floor)
        self.account_keys[row.id] = key
        return key

    @rule(key=accounts, same=st.booleans())
    def open_again(self, key: str, same: bool) -> None:
        """Opening an existing key returns it; with another currency it is refused."""
        account = self.model[key]
        currency = account.currency if same else next(c for c in CURRENCIES if c != account.currency)
        try:
            row = self.write(
                lambda conn: self.ledger.open_account(
                    conn, key, currency=currency, normal_side=account.normal_side, kind="again", floor_limit=10**9
                )
            )
        except ConflictError:
            assert not same
        else:
            assert same and row.floor_limit == account.floor, "opening again must not change the account"

    @rule(key=accounts, limit=st.integers(-1, 6_000))
    def set_credit_line(self, key: str, limit: int) -> None:
        account = self.model[key]
        try:
            self.write(lambda conn: self.ledger.set_floor_limit(conn, self.account_row(conn, key), limit))
        except InvalidInputError:
            assert limit < 0
        except ConflictError:
            assert limit >= 0 and account.balance - account.held + limit < 0
        else:
            assert limit >= 0 and account.balance - account.held + limit >= 0
            account.floor = limit

    # --- transfers ---------------------------------------------------------------------------------

    @rule(target=transfers, debit=accounts, credit=accounts, amount=st.integers(0, 4_000))
    def transfer(self, debit: str, credit: str, amount: int) -> Any:
        key = self.fresh_key("transfer")
        outcome = self.do_new(key, debit, credit, self.new_transfer_call(key, debit, credit, amount, "test"), amount)
        return key if isinstance(outcome, TransferRow) else multiple()

    @rule(target=transfers, account=accounts, amount=st.integers(1, 4_000))
    def topup(self, account: str, amount: int) -> Any:
        cash = f"platform:cash:{self.model[account].currency}"
        key = self.fresh_key("topup")
        outcome = self.do_new(key, cash, account, self.new_transfer_call(key, cash, account, amount, "topup"), amount)
        return key if isinstance(outcome, TransferRow) else multiple()

    @rule(target=transfers, account=accounts, amount=st.integers(0, 3_000))
    def charge(self, account: str, amount: int) -> Any:
        revenue = f"platform:revenue:{self.model[account].currency}"
        key = self.fresh_key("charge")
        call = self.new_transfer_call(key, account, revenue, amount, "message_charge")
        outcome = self.do_new(key, account, revenue, call, amount)
        return key if isinstance(outcome, TransferRow) else multiple()

    @rule(targets=(holds, transfers), account=accounts, amount=st.integers(0, 3_000), hours=st.integers(1, 4))
    def hold(self, account: str, amount: int, hours: int) -> Any:
        revenue = f"platform:revenue:{self.model[account].currency}"
        key = self.fresh_key("msg") + ":hold"
        expires_at = self.clock.now_ms() + hours * HOUR_MS
        outcome = self.do_new(
            key, account, revenue, self.new_hold_call(key, account, revenue, amount, expires_at), amount
        )
        return key if isinstance(outcome, TransferRow) else multiple()

    @rule(target=transfers, debit=accounts, legs=st.lists(st.integers(0, 2_500), min_size=2, max_size=4))
    def multi_leg(self, debit: str, legs: list[int]) -> Any:
        """Several legs in one unit: all are written, or (one leg short of funds) none is."""
        revenue = f"platform:revenue:{self.model[debit].currency}"
        keys = [self.fresh_key("leg") for _ in legs]
        calls = [self.new_transfer_call(k, debit, revenue, a, "fee") for k, a in zip(keys, legs, strict=True)]

        def unit(conn: Connection) -> list[TransferRow]:
            return [call.make(call.refs)(conn) for call in calls]

        expected: type[AppError] | None = None
        snapshot = [list(self.model[debit].totals), list(self.model[revenue].totals)]
        for amount in legs:  # predict leg by leg on the model, then undo: the database decides next
            expected = self.predict(debit, revenue, amount)
            if expected is not None:
                break
            self.model[debit].totals[0] += amount
            self.model[revenue].totals[1] += amount
        self.model[debit].totals, self.model[revenue].totals = snapshot
        try:
            rows = self.write(unit)
        except AppError as error:
            assert type(error) is expected, f"expected {expected}, got {error!r}"
            return multiple()
        assert expected is None, f"expected {expected}, but all legs were written"
        for key, call, row in zip(keys, calls, rows, strict=True):
            self.record(key, row, call)
            self.apply_new(row, debit, revenue)
        return multiple(*keys)

    # --- holds -------------------------------------------------------------------------------------

    @rule(target=transfers, hold=holds, quarters=st.integers(0, 5))
    def post(self, hold: str, quarters: int) -> Any:
        """Post a hold in full (4 quarters) or in part; 5 quarters is more than was held and is refused."""
        model = self.model_holds[hold]
        amount = None if quarters == 4 else (model.amount * quarters // 4 if quarters < 5 else model.amount + 1)
        return self._resolve(hold, "post", amount)

    @rule(target=transfers, hold=holds)
    def void(self, hold: str) -> Any:
        return self._resolve(hold, "void", None)

    def _resolve(self, hold_key: str, action: str, amount: int | None) -> Any:
        model = self.model_holds[hold_key]
        key = self.fresh_key(action)
        call = self.resolve_call(key, hold_key, action, amount)
        outcome = self.attempt(call.make(call.refs))
        if amount is not None and amount > model.amount:
            assert type(outcome) is InvalidInputError, outcome
            return multiple()
        if model.resolved_by is not None:
            assert type(outcome) is HoldResolvedError, outcome
            return multiple()
        assert isinstance(outcome, TransferRow), outcome
        assert outcome.pending_id == model.id
        assert outcome.amount == (model.amount if amount is None else amount)
        self.record(key, outcome, call)
        self.apply_resolution(model, outcome)
        return key

    @rule(hours=st.integers(0, 3))
    def expire_due(self, hours: int) -> None:
        """Time passes; the sweeper releases every hold whose time ran out, and only those."""
        self.clock.advance(hours=hours)
        now = self.clock.now_ms()

        def unit(conn: Connection) -> list[TransferRow]:
            return [
                self.ledger.void(conn, f"{due.key}:expired", due, expired=True)
                for due in self.ledger.expired_holds(conn)
            ]

        released = self.write(unit)
        due = {h.key for h in self.model_holds.values() if h.resolved_by is None and h.expires_at <= now}
        by_id = {h.id: h for h in self.model_holds.values()}
        assert {by_id[r.pending_id].key for r in released if r.pending_id is not None} == due
        for row in released:
            assert row.kind == "expire"
            model = by_id[row.pending_id or 0]
            # The sweeper passes no refs: the release carries the hold's own.
            refs = self.by_key[model.key].references
            self.record(row.key, row, self.resolve_call(row.key, model.key, "expire", None, refs))
            self.apply_resolution(model, row)

    # --- corrections -------------------------------------------------------------------------------

    @rule(target=transfers, original=transfers)
    def reverse(self, original: str) -> Any:
        row = self.by_key[original]
        key = self.fresh_key("reversal")

        def make(refs: dict[str, Any]) -> Unit:
            return lambda conn: self.ledger.reverse(conn, key, row, refs=refs)

        call = Call(make, {"seq": key})
        debit, credit = self.account_keys[row.credit_account_id], self.account_keys[row.debit_account_id]
        outcome = self.attempt(call.make(call.refs))
        if row.kind not in (POSTED, POST):
            assert type(outcome) is InvalidInputError, outcome
            return multiple()
        if row.id in self.reversed:
            assert type(outcome) is ConflictError, outcome
            return multiple()
        expected = self.predict(debit, credit, row.amount)
        if expected is not None:
            assert type(outcome) is expected, outcome
            return multiple()
        assert isinstance(outcome, TransferRow), outcome
        assert (outcome.reverses_id, outcome.amount, outcome.debit_account_id, outcome.credit_account_id) == (
            row.id,
            row.amount,
            row.credit_account_id,
            row.debit_account_id,
        )
        self.record(key, outcome, call)
        self.apply_new(outcome, debit, credit)
        self.reversed.add(row.id)
        return key

    # --- retries -----------------------------------------------------------------------------------

    @rule(key=transfers)
    def retry_same_body(self, key: str) -> None:
        """A retry with the same key and body returns the first transfer and writes nothing."""
        call = self.calls[key]
        again = self.write(call.make(call.refs))
        assert again == self.by_key[key]

    @rule(key=transfers)
    def retry_other_body(self, key: str) -> None:
        """The same key with another body is refused, whatever the operation."""
        call = self.calls[key]
        outcome = self.attempt(call.make({"other": key}))
        assert type(outcome) is TransferConflictError, outcome

    # --- concurrency -------------------------------------------------------------------------------

    @rule(target=transfers, account=accounts, racers=st.integers(2, 6), share=st.integers(1, 6))
    def racing_charges(self, account: str, racers: int, share: int) -> Any:
        """Several charges for an account's last funds at once: exactly as many win as the funds cover."""
        revenue = f"platform:revenue:{self.model[account].currency}"
        room = self.model[account].room(DEBIT)
        amount = max(1, room // share) if room is not None and room > 0 else 1
        keys = [self.fresh_key("race") for _ in range(racers)]
        calls = [self.new_transfer_call(k, account, revenue, amount, "message_charge") for k in keys]
        results = self.race([c.make(c.refs) for c in calls])
        won = []
        for key, call, result in zip(keys, calls, results, strict=True):
            if isinstance(result, TransferRow):
                won.append(key)
                self.record(key, result, call)
            else:
                assert type(result) in (InsufficientFundsError, InvalidInputError), result
        expected = 0
        for _ in range(racers):
            if self.predict(account, revenue, amount) is not None:
                break
            self.model[account].totals[0] += amount
            self.model[revenue].totals[1] += amount
            expected += 1
        assert len(won) == expected, f"{len(won)} of {racers} racing charges of {amount} won, expected {expected}"
        return multiple(*won)

    @rule(
        target=transfers,
        account=accounts,
        racers=st.integers(2, 5),
        amount=st.one_of(st.none(), st.integers(1, 3_000)),
    )
    def racing_same_key(self, account: str, racers: int, amount: int | None) -> Any:
        """The same request sent several times at once: one transfer, and every copy answers with it.

        `None`: more than half of what the account has left, so a second copy could never pass the funds check.
        """
        revenue = f"platform:revenue:{self.model[account].currency}"
        if amount is None:
            room = self.model[account].room(DEBIT)
            amount = 1 if room is None or room <= 0 else room // 2 + 1
        key = self.fresh_key("dup")
        call = self.new_transfer_call(key, account, revenue, amount, "message_charge")
        expected = self.predict(account, revenue, amount)
        results = self.race([call.make(call.refs) for _ in range(racers)])
        if expected is not None:
            assert all(type(r) is expected for r in results), results
            return multiple()
        assert all(isinstance(r, TransferRow) for r in results), results
        assert len({r.id for r in results}) == 1, "every copy must answer with the one transfer"
        self.record(key, results[0], call)
        self.apply_new(results[0], account, revenue)
        return key

    @rule(
        target=transfers,
        hold=holds,
        actions=st.lists(st.sampled_from(("post", "part", "void")), min_size=2, max_size=4),
    )
    def racing_resolutions(self, hold: str, actions: list[str]) -> Any:
        """Post and void the same hold at once: exactly one resolves it, the others are told it is resolved."""
        model = self.model_holds[hold]
        keys = [self.fresh_key(a) for a in actions]
        calls = [
            self.resolve_call(k, hold, "void" if a == "void" else "post", model.amount // 2 if a == "part" else None)
            for k, a in zip(keys, actions, strict=True)
        ]
        results = self.race([c.make(c.refs) for c in calls])
        won = [(k, c, r) for k, c, r in zip(keys, calls, results, strict=True) if isinstance(r, TransferRow)]
        assert all(type(r) is HoldResolvedError for r in results if not isinstance(r, TransferRow)), results
        if model.resolved_by is not None:
            assert not won
            return multiple()
        assert len(won) == 1, f"{len(won)} resolutions of one hold"
        key, call, row = won[0]
        self.record(key, row, call)
        self.apply_resolution(model, row)
        return key

    @rule(account=accounts, spend=st.integers(1, 4), keep=st.integers(0, 3))
    def racing_credit_cut(self, account: str, spend: int, keep: int) -> None:
        """A credit line cut while a charge is in flight: whichever goes first, the floor holds.

        The charge takes `spend` quarters of what is left; the new line leaves room for only `keep` quarters of
        it, so the two cannot both succeed.
        """
        model = self.model[account]
        revenue = f"platform:revenue:{model.currency}"
        if model.floor is None or model.normal_side != CREDIT or account == revenue:
            return
        usage = model.held - model.balance
        amount = max(1, (model.floor - usage) * spend // 4)
        limit = max(0, usage + amount * keep // 4)
        key = self.fresh_key("cut")
        call = self.new_transfer_call(key, account, revenue, amount, "message_charge")
        cut = self.race(
            [
                call.make(call.refs),
                lambda conn: self.ledger.set_floor_limit(conn, self.account_row(conn, account), limit),
            ]
        )
        charged, limited = (not isinstance(r, AppError) for r in cut)
        for result in cut:
            assert not isinstance(result, AppError) or type(result) in (InsufficientFundsError, ConflictError), result
        floor = model.floor
        # Charge first, then the cut.
        charge_a = usage + amount <= floor
        cut_a = usage + (amount if charge_a else 0) <= limit
        # The cut first, then the charge.
        cut_b = usage <= limit
        charge_b = usage + amount <= (limit if cut_b else floor)
        assert (charged, limited) in ((charge_a, cut_a), (charge_b, cut_b)), (
            f"charge {charged}, cut {limited} matches no serial order "
            f"(usage {usage}, floor {floor}, limit {limit}, amount {amount})"
        )
        if charged:
            assert isinstance(cut[0], TransferRow)
            self.record(key, cut[0], call)
            self.apply_new(cut[0], account, revenue)
        if limited:
            model.floor = limit

    @rule(
        target=transfers,
        account=accounts,
        moves=st.lists(st.tuples(st.booleans(), st.integers(1, 1_500)), min_size=1, max_size=6),
    )
    def verify_under_load(self, account: str, moves: list[tuple[bool, int]]) -> Any:
        """`verify` run while top-ups and charges commit still sees one consistent journal."""
        currency = self.model[account].currency
        cash, revenue = f"platform:cash:{currency}", f"platform:revenue:{currency}"
        legs = [(cash, account) if topup else (account, revenue) for topup, _ in moves]
        keys = [self.fresh_key("load") for _ in moves]
        calls = [
            self.new_transfer_call(k, debit, credit, amount, "load")
            for k, (debit, credit), (_, amount) in zip(keys, legs, moves, strict=True)
        ]
        *results, report = self.race([c.make(c.refs) for c in calls], verify_journal)
        assert report.ok, [c for c in report.checks if not c.ok]
        won = []
        # Which charges found funds depends on the order the units ran in; the invariants check the result.
        for key, call, (debit, credit), result in zip(keys, calls, legs, results, strict=True):
            if isinstance(result, TransferRow):
                won.append(key)
                self.record(key, result, call)
                self.apply_new(result, debit, credit)
            else:
                assert type(result) in (InsufficientFundsError, InvalidInputError), result
        return multiple(*won)

    # --- invariants --------------------------------------------------------------------------------

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        def read(conn: Connection) -> tuple[Any, list[Any], list[TransferRow]]:
            report = verify_journal(conn)
            accounts = list(conn.execute(select(ledger_accounts)))
            rows = [TransferRow(**r._mapping) for r in conn.execute(select(ledger_transfers))]
            return report, accounts, rows

        report, accounts, rows = self.runner.run(self.db.read(read))

        # 6. verify passes and counts what the model counts.
        assert report.ok, [c for c in report.checks if not c.ok]
        assert (report.transfers, report.accounts) == (len(self.rows), len(self.model))

        # 2./3. one row per key, and every row ever written is still there, unchanged.
        assert len({r.key for r in rows}) == len(rows)
        assert {r.id: r for r in rows} == self.rows

        # 1. debits equal credits per currency, posted and pending.
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for a in accounts:
            for i, name in enumerate(("debits_posted", "credits_posted", "debits_pending", "credits_pending")):
                sums[a.currency][i] += getattr(a, name)
        for currency, (dp, cp, dpe, cpe) in sums.items():
            assert (dp, dpe) == (cp, cpe), f"{currency}: debits {dp}/{dpe} credits {cp}/{cpe}"

        # 4. floors hold, and the model's balances are the database's.
        for a in accounts:
            model = self.model[a.key]
            actual = [a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending]
            assert actual == model.totals, f"{a.key}: database {actual}, model {model.totals}"
            assert a.floor_limit == model.floor
            if model.floor is not None:
                assert model.balance - model.held + model.floor >= 0, f"{a.key} is below its floor"

        # 5. each hold is resolved at most once, by the transfer the model expects.
        resolutions: dict[int, list[str]] = defaultdict(list)
        for r in rows:
            if r.pending_id is not None:
                resolutions[r.pending_id].append(r.key)
        for hold in self.model_holds.values():
            assert resolutions.get(hold.id, []) == ([] if hold.resolved_by is None else [hold.resolved_by])


# --- running the machine ------------------------------------------------------------------------------------


@pytest.fixture
def machine_database(
    tmp_path: Path, sqlite_template: SqliteTemplate, postgres_template: PostgresTemplate | None
) -> Callable[[], str]:
    """A new empty database for every Hypothesis example (function fixtures run once per test, not per example)."""
    examples = itertools.count()

    def fresh() -> str:
        if postgres_template is not None:
            postgres_template.truncate()
            return postgres_template.url
        directory = tmp_path / f"example-{next(examples)}"
        return sqlite_template.fresh(directory)

    return fresh


# Passing takes seconds; a failure is shrunk for up to Hypothesis's own five minutes before it is reported.
@pytest.mark.timeout(600)
def test_ledger_guarantees_hold_under_random_operations(machine_database: Callable[[], str]) -> None:
    run_state_machine_as_test(
        lambda: LedgerMachine(machine_database()),
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


# --- the database itself guards the journal ---------------------------------------------------------------


async def _journal_with_a_charge(url: str) -> tuple[Database, Ledger, TransferRow]:
    db = create_database(url)
    clock = FrozenClock()
    journal = Ledger(IdGenerator(clock, node=3), clock)

    def unit(conn: Connection) -> TransferRow:
        cash = journal.open_account(conn, "platform:cash:USD", currency="USD", normal_side=DEBIT, kind="cash")
        wallet = journal.open_account(
            conn, "waba:1:wallet", currency="USD", normal_side=CREDIT, kind="wallet", floor_limit=0
        )
        revenue = journal.open_account(
            conn, "platform:revenue:messaging:USD", currency="USD", normal_side=CREDIT, kind="revenue"
        )
        journal.transfer(conn, "topup:1", debit=cash, credit=wallet, amount=5_000_000, code="topup")
        wallet = journal.account(conn, "waba:1:wallet") or wallet
        held = journal.hold(
            conn, "msg:1:hold", debit=wallet, credit=revenue, amount=40_000, code="message_charge", expires_at=1
        )
        journal.post(conn, "msg:1:charge", held, amount=30_000)
        return journal.transfer(conn, "charge:2", debit=wallet, credit=revenue, amount=25_000, code="message_charge")

    return db, journal, await db.write("tests.journal_with_a_charge", unit)


def _failed(report: Any) -> dict[str, list[str]]:
    return {c.name: c.problems for c in report.checks if not c.ok}


async def test_the_database_refuses_to_update_or_delete_a_transfer(database_url: str) -> None:
    db, _journal, charge = await _journal_with_a_charge(database_url)
    try:
        t = ledger_transfers.c
        attempts: list[Callable[[Connection], Any]] = [
            lambda conn: conn.execute(update(ledger_transfers).where(t.id == charge.id).values(amount=1)),
            lambda conn: conn.execute(update(ledger_transfers).values(refs="{}")),
            lambda conn: conn.execute(delete(ledger_transfers).where(t.id == charge.id)),
            lambda conn: conn.execute(delete(ledger_transfers)),
        ]
        for attempt in attempts:
            with pytest.raises(exc.DBAPIError, match="append-only"):
                await db.write("tests.test_the_database_refuses_to_update_or_delete_a_transfer", attempt)
        rows = await db.read(lambda conn: [TransferRow(**r._mapping) for r in conn.execute(select(ledger_transfers))])
        assert len(rows) == 4 and charge in rows
        assert (await db.read(verify_journal)).ok
    finally:
        await db.close()


async def behind_the_ledgers_back(db: Database, statement: str) -> None:
    """Run a statement with the append-only trigger out of the way (as an attacker with DDL rights would)."""

    def unit(conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            # Disabled and enabled in one transaction: the session's shared test database keeps its trigger.
            conn.execute(text("ALTER TABLE ledger_transfers DISABLE TRIGGER ledger_transfers_append_only"))
            conn.execute(text(statement))
            conn.execute(text("ALTER TABLE ledger_transfers ENABLE TRIGGER ledger_transfers_append_only"))
        else:
            conn.execute(text("DROP TRIGGER ledger_transfers_no_update"))
            conn.execute(text("DROP TRIGGER ledger_transfers_no_delete"))
            conn.execute(text(statement))

    await db.write("tests.behind_the_ledgers_back", unit)


async def test_verify_detects_an_edited_transfer(database_url: str) -> None:
    db, _journal, charge = await _journal_with_a_charge(database_url)
    try:
        assert (await db.read(verify_journal)).ok
        await behind_the_ledgers_back(db, f"UPDATE ledger_transfers SET amount = 1 WHERE id = {charge.id}")
        report = await db.read(verify_journal)
        failed = _failed(report)
        assert not report.ok
        digest_problems = failed["posted transfers unchanged (digests match, references intact)"]
        assert any("charge:2" in p and "digest" in p for p in digest_problems), digest_problems
        # The edit also left the wallet's running totals disagreeing with its journal.
        assert any("waba:1:wallet" in p for p in failed["every account's totals equal its journal"])
    finally:
        await db.close()


async def test_verify_detects_a_deleted_transfer(database_url: str) -> None:
    db, _journal, charge = await _journal_with_a_charge(database_url)
    try:
        await behind_the_ledgers_back(db, f"DELETE FROM ledger_transfers WHERE id = {charge.id}")
        report = await db.read(verify_journal)
        failed = _failed(report)
        assert report.transfers == 3
        assert set(failed) == {"every account's totals equal its journal"}, failed
        problems = failed["every account's totals equal its journal"]
        assert any("waba:1:wallet" in p for p in problems) and any("revenue" in p for p in problems), problems
    finally:
        await db.close()
