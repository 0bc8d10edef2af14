"""Payouts: each merchant's matured payable moves to its bank once per day, through a bank seam that can refuse.

A run (the periodic task on the injected clock, or `parley payments payouts run`) pays every merchant payable
account `waba:{id}:payable:{CUR}` what has been held long enough: the balance less the captures' net credits
(`payment.net`) younger than `delay_days` (each capture is held from its own time, like Stripe's rolling payout
schedule), rounded down to the currency's minor unit (a bank moves no fraction of a cent), when that reaches
`minimum`. One payout per merchant, currency and UTC day (the period), however often runs repeat or race.

Each payout is two write units around the bank call, never one holding the database while a bank answers:
  1. `payments.payout_start`: the payout row (pending) and the ledger transfer payable -> provider clearing;
  2. `payments.payout_finish`: paid with the bank's reference, or failed and the transfer reversed (never edited).
A payout left pending (a crash, a bank that did not answer) is resumed by the next run; the bank seam is
idempotent per payout id, so a resumed payout is never sent twice.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from parley import ledger
from parley.config import PayoutSettings
from parley.kit.clock import Clock
from parley.kit.errors import AppError
from parley.kit.ids import IdGenerator, first_id_at
from parley.kit.money import minor_units, parse_amount
from parley.kit.periodic import PeriodicTask
from parley.payments.books import merchant_payable_key, provider_clearing_key
from parley.payments.payout_models import payment_payouts
from parley.platform.db import Database

DAY_MS = 86_400_000
PENDING, PAID, FAILED = "pending", "paid", "failed"
# Ledger transfer codes: the merchant's capture credit (posted by the merchant flow), and the payout's own legs.
NET_CODE = "payment.net"
PAYOUT_CODE = "payout"
PAYOUT_RETURNED_CODE = "payout.failed"
PAYABLE_PREFIX = "waba:"
PAYABLE_INFIX = ":payable:"
_PAGE = 1000


class PayoutsUnavailableError(AppError):
    """No bank seam is configured on this installation (a setting, not an outage)."""

    status = 409
    code = "payouts_unavailable"


class BankRefusedError(Exception):
    """The bank refused the transfer for good (a closed account, a wrong account number): the payout failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BankUnavailableError(Exception):
    """The bank did not answer: the payout stays pending and the next run asks again."""


class PayoutBank(Protocol):
    """Sends money from the platform's balance at provider `name` to a merchant's bank account.

    Idempotent per payout id: asking again for the same payout answers the first transfer's reference."""

    name: str

    async def send(self, payout_id: int, waba_id: int, amount: int, currency: str) -> str: ...


class SandboxBank:
    """Stripe-test-mode-like: every transfer succeeds with a `po_sandbox_…` reference, except to the merchants
    whose account was closed (`close_account`, as Stripe's test account 000111111113 answers `account_closed`)."""

    name = "sandbox"

    def __init__(self) -> None:
        self._closed: dict[int, str] = {}
        self._sent: dict[int, str] = {}

    def close_account(self, waba_id: int, reason: str = "account_closed: the bank account is closed") -> None:
        self._closed[waba_id] = reason

    def reopen_account(self, waba_id: int) -> None:
        self._closed.pop(waba_id, None)

    async def send(self, payout_id: int, waba_id: int, amount: int, currency: str) -> str:
        if payout_id in self._sent:
            return self._sent[payout_id]
        if waba_id in self._closed:
            raise BankRefusedError(self._closed[waba_id])
        reference = "po_sandbox_" + hashlib.sha256(str(payout_id).encode()).hexdigest()[:20]
        self._sent[payout_id] = reference
        return reference


@dataclass(frozen=True)
class PayoutRow:
    id: int
    waba_id: int
    currency: str
    period: str
    amount: int
    status: str
    bank: str
    bank_reference: str | None
    failure_reason: str | None
    transfer_id: int
    reversal_id: int | None
    created_at: int
    completed_at: int | None


@dataclass
class PayoutRun:
    """What one run did: the payouts it finished (paid or failed), those still pending, and what it skipped."""

    period: str
    accounts: int = 0
    paid: list[PayoutRow] = field(default_factory=list)
    failed: list[PayoutRow] = field(default_factory=list)
    pending: list[PayoutRow] = field(default_factory=list)
    below_minimum: int = 0
    already_paid: int = 0


@dataclass(frozen=True)
class PayableView:
    """A merchant's payable in one currency: its balance, what a run today would pay, and what is still held."""

    waba_id: int
    currency: str
    balance: int
    available: int
    held: int


def parse_payable_key(key: str) -> tuple[int, str] | None:
    """(waba id, currency) of a merchant payable account key, None for any other key."""
    if not key.startswith(PAYABLE_PREFIX) or PAYABLE_INFIX not in key:
        return None
    waba, _, currency = key.removeprefix(PAYABLE_PREFIX).partition(PAYABLE_INFIX)
    if not waba.isascii() or not waba.isdigit() or len(currency) != 3:
        return None
    return int(waba), currency


def day_of(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).date().isoformat()


def matured_in(conn: Connection, journal: ledger.Ledger, account: ledger.AccountRow, cutoff_ms: int) -> int:
    """The payable's balance less the capture credits posted after `cutoff_ms` (still held); may be negative."""
    held = 0
    after = max(first_id_at(cutoff_ms) - 1, 0)  # ids are time-ordered: nothing later than the cutoff is before it
    while True:
        page = journal.transfers_of(conn, account, after_id=after, limit=_PAGE)
        for entry in page:
            if (
                entry.code == NET_CODE
                and entry.credit_account_id == account.id
                and entry.kind in (ledger.POSTED, ledger.POST)
                and entry.created_at > cutoff_ms
            ):
                held += entry.amount
        if len(page) < _PAGE:
            return account.balance - held
        after = page[-1].id


def payouts_of_in(conn: Connection, waba_id: int, limit: int = 50) -> list[PayoutRow]:
    p = payment_payouts.c
    rows = conn.execute(select(payment_payouts).where(p.waba_id == waba_id).order_by(p.id.desc()).limit(limit))
    return [PayoutRow(**r._mapping) for r in rows]


def payout_in(conn: Connection, payout_id: int) -> PayoutRow | None:
    row = conn.execute(select(payment_payouts).where(payment_payouts.c.id == payout_id)).first()
    return None if row is None else PayoutRow(**row._mapping)


class Payouts:
    """Pays merchants their matured payable, daily on the injected clock (`interval_s` sets how often it looks)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        journal: ledger.Ledger,
        bank: PayoutBank | None,
        settings: PayoutSettings,
    ) -> None:
        self._db, self._clock, self._ids, self._journal = db, clock, ids, journal
        self.bank = bank
        self.settings = settings
        self._task = PeriodicTask("payouts", settings.interval_s, self.run_due)

    async def start(self) -> None:
        if self.bank is not None:
            self._task.start()

    async def close(self) -> None:
        await self._task.close()

    @property
    def delay_ms(self) -> int:
        return self.settings.delay_days * DAY_MS

    def _needs_bank(self) -> PayoutBank:
        if self.bank is None:
            raise PayoutsUnavailableError(
                "payouts need a bank; none is set up on this installation (the sandbox bank comes with "
                "PARLEY_PAYMENTS__PROVIDER=sandbox)"
            )
        return self.bank

    async def payables(self, waba_id: int | None = None) -> list[PayableView]:
        """Every merchant payable (or one merchant's), with what a run now would consider matured."""
        cutoff = self._clock.now_ms() - self.delay_ms

        def unit(conn: Connection) -> list[PayableView]:
            views = []
            prefix = PAYABLE_PREFIX if waba_id is None else merchant_payable_key(waba_id, "")
            for account in self._journal.accounts_with_prefix(conn, prefix):
                parsed = parse_payable_key(account.key)
                if parsed is None or (waba_id is not None and parsed[0] != waba_id):
                    continue
                matured = matured_in(conn, self._journal, account, cutoff)
                available = max(whole_minor_units(matured, parsed[1]), 0)
                # As Stripe splits a balance: pending (young captures' net) + available (the rest, which refunds and
                # chargebacks come out of, so it may be below zero while the pending part waits).
                views.append(PayableView(parsed[0], parsed[1], account.balance, available, account.balance - matured))
            views.sort(key=lambda v: (v.waba_id, v.currency))
            return views

        return await self._db.read(unit)

    async def payouts_of(self, waba_id: int, limit: int = 50) -> list[PayoutRow]:
        return await self._db.read(lambda conn: payouts_of_in(conn, waba_id, limit))

    async def run_due(self, progress: Callable[[int, int], None] | None = None) -> PayoutRun:
        """One pass: resume pending payouts, then pay each payable its matured funds (once per UTC day).

        `progress(done, total)` is called after each account (the CLI draws a bar with it)."""
        bank = self._needs_bank()
        now = self._clock.now_ms()
        run = PayoutRun(period=day_of(now))
        for pending in await self._db.read(_pending_in):
            await self._finish(bank, pending, run)
        keys = [
            account.key
            for account in await self._db.read(lambda conn: self._journal.accounts_with_prefix(conn, PAYABLE_PREFIX))
            if parse_payable_key(account.key) is not None
        ]
        run.accounts = len(keys)
        minimum = parse_amount(self.settings.minimum)
        for done, key in enumerate(keys, start=1):

            def start(conn: Connection, key: str = key) -> PayoutRow | str:
                return self._start_in(conn, bank, key, run.period, now, minimum)

            started = await self._db.write("payments.payout_start", start)
            if isinstance(started, PayoutRow):
                await self._finish(bank, started, run)
            elif started == "paid":
                run.already_paid += 1
            else:
                run.below_minimum += 1
            if progress is not None:
                progress(done, len(keys))
        return run

    def _start_in(
        self, conn: Connection, bank: PayoutBank, key: str, period: str, now: int, minimum: int
    ) -> PayoutRow | str:
        parsed = parse_payable_key(key)
        payable = self._journal.account(conn, key)
        assert parsed is not None and payable is not None
        waba_id, currency = parsed
        p = payment_payouts.c
        exists = conn.execute(
            select(p.id).where(p.waba_id == waba_id, p.currency == currency, p.period == period)
        ).first()
        if exists is not None:
            return "paid"
        amount = whole_minor_units(matured_in(conn, self._journal, payable, now - self.delay_ms), currency)
        if amount <= 0 or amount < minimum:
            return "below"
        payout_id = self._ids.next_id()
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        values = {
            "id": payout_id,
            "waba_id": waba_id,
            "currency": currency,
            "period": period,
            "amount": amount,
            "status": PENDING,
            "bank": bank.name,
            "bank_reference": None,
            "failure_reason": None,
            "transfer_id": 0,
            "reversal_id": None,
            "created_at": now,
            "completed_at": None,
        }
        inserted = conn.execute(dialect.insert(payment_payouts).values(**values).on_conflict_do_nothing())
        if inserted.rowcount != 1:
            return "paid"  # another run (another worker) made this period's payout first
        clearing = self._journal.open_account(
            conn,
            provider_clearing_key(bank.name, currency),
            currency=currency,
            normal_side=ledger.DEBIT,
            kind="provider_clearing",
        )
        moved = self._journal.transfer(
            conn,
            f"payout:{payout_id}",
            debit=payable,
            credit=clearing,
            amount=amount,
            code=PAYOUT_CODE,
            refs={"waba_id": waba_id, "payout_id": payout_id, "period": period},
            known_new=True,  # the payout id was made in this very unit
        )
        conn.execute(update(payment_payouts).where(p.id == payout_id).values(transfer_id=moved.id))
        row = payout_in(conn, payout_id)
        assert row is not None
        return row

    async def _finish(self, bank: PayoutBank, payout: PayoutRow, run: PayoutRun) -> None:
        try:
            reference: str | None = await bank.send(payout.id, payout.waba_id, payout.amount, payout.currency)
            reason = None
        except BankUnavailableError:
            run.pending.append(payout)
            return
        except BankRefusedError as refused:
            reference, reason = None, refused.reason[:200]
        now = self._clock.now_ms()

        def unit(conn: Connection) -> PayoutRow:
            p = payment_payouts.c
            # The outcome first, conditionally: a second run finishing the same payout (another worker) waits
            # here and then finds it finished, so a refusal is reversed once.
            moved = conn.execute(
                update(payment_payouts)
                .where(p.id == payout.id, p.status == PENDING)
                .values(
                    status=PAID if reason is None else FAILED,
                    bank_reference=reference,
                    failure_reason=reason,
                    completed_at=now,
                )
            )
            if moved.rowcount == 1 and reason is not None:
                original = self._journal.transfer_by_id(conn, payout.transfer_id)
                assert original is not None
                returned = self._journal.reverse(
                    conn,
                    f"payout:{payout.id}:returned",
                    original,
                    code=PAYOUT_RETURNED_CODE,
                    refs={"waba_id": payout.waba_id, "payout_id": payout.id, "reason": reason},
                )
                conn.execute(update(payment_payouts).where(p.id == payout.id).values(reversal_id=returned.id))
            done = payout_in(conn, payout.id)
            assert done is not None
            return done

        finished = await self._db.write("payments.payout_finish", unit)
        (run.paid if finished.status == PAID else run.failed).append(finished)


def _pending_in(conn: Connection) -> list[PayoutRow]:
    p = payment_payouts.c
    rows = conn.execute(select(payment_payouts).where(p.status == PENDING).order_by(p.id))
    return [PayoutRow(**r._mapping) for r in rows]


def whole_minor_units(micros: int, currency: str) -> int:
    """Rounded down (toward zero) to the currency's minor unit: the rest waits in the payable."""
    step = 10 ** (6 - minor_units(currency))
    return micros - micros % step if micros > 0 else micros
