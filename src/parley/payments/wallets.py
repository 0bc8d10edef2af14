"""People's wallets on the ledger: balances, history, monthly statements, and top-ups and withdrawals through the
payment provider (cards, UPI, Pix).

A wallet is the credit-normal account `person:{id}:wallet:{CUR}` with a floor of zero. A top-up moves provider
clearing -> wallet once the provider says it succeeded; a withdrawal moves wallet -> provider clearing before the
payout is asked for, and a failed payout is reversed. The provider is called outside any transaction; what it
answered is recorded by a conditional update, so a retry, a lookup and the sweep settle a payment exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from parley import accounts, ledger
from parley.config import PersonPaySettings
from parley.kit.clock import Clock
from parley.kit.errors import AppError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from parley.kit.idempotency import request_fingerprint
from parley.kit.ids import IdGenerator, first_id_at, parse_id
from parley.kit.money import parse_amount
from parley.kit.pagination import decode_cursor, encode_cursor
from parley.kit.periodic import PeriodicTask
from parley.payments import wallet_repository as repo
from parley.payments.books import open_person_wallet_in, person_wallet_key, provider_clearing_key
from parley.payments.limits import MarketLimits, money, month_bounds, pay_amount
from parley.payments.provider import (
    DECLINED,
    PROCESSING,
    REQUIRES_ACTION,
    REQUIRES_CONFIRMATION,
    SUCCEEDED,
    CardDetails,
    PaymentMethod,
    PaymentsUnavailableError,
    PayoutDestination,
    PixDetails,
    ProviderPayment,
    ProviderTimeoutError,
    UpiDetails,
    WalletProvider,
    handle_of,
)
from parley.payments.wallet_repository import FundingRow
from parley.platform.db import Database

MAX_KEY_LENGTH = 100
TOPUP, WITHDRAWAL = "topup", "withdrawal"


def withdrawal_key(funding_id: int) -> str:
    """The ledger transfer that takes a withdrawal out of the wallet."""
    return f"wallet:withdrawal:{funding_id}"


def withdrawal_returned_key(funding_id: int) -> str:
    """The reversal that puts a failed withdrawal back in the wallet (the reconciliation looks for it)."""
    return f"wallet:withdrawal:{funding_id}:returned"


class PaymentFailedError(AppError):
    """The provider declined the top-up or the payout (its reason is the message); nothing moved."""

    status = 402
    code = "payment_failed"


@dataclass(frozen=True)
class WalletBalance:
    currency: str
    balance: int  # micros


@dataclass(frozen=True)
class Movement:
    """One line of a wallet's history: money in (positive) or out (negative), with who and why."""

    id: int
    amount: int
    currency: str
    kind: str  # topup | withdrawal | withdrawal_returned | payment_sent | payment_received | ...
    counterparty: str | None
    reference: str | None
    created_at: int


@dataclass(frozen=True)
class WalletStatement:
    period: str
    currency: str
    opening: int
    movements: list[Movement]
    closing: int


def checked_key(key: str | None) -> str:
    if key is None or not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInputError(f"an Idempotency-Key header of 1 to {MAX_KEY_LENGTH} printable characters is required")
    return key


class Wallets:
    """Wallet balances and movements, and money in and out through the provider."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        journal: ledger.Ledger,
        provider: WalletProvider | None,
        limits: MarketLimits,
        settings: PersonPaySettings,
    ) -> None:
        self._db, self._clock, self._ids, self._journal = db, clock, ids, journal
        self._provider, self._limits, self._settings = provider, limits, settings
        self._topup_max = parse_amount(settings.topup_max)
        self._sweep = PeriodicTask("wallet-settle", settings.sweep_interval_s, self.settle_pending)

    def start(self) -> None:
        """Start the sweep that settles top-ups and withdrawals the provider left unanswered."""
        self._sweep.start()

    async def close(self) -> None:
        await self._sweep.close()

    # --- accounts (inside the caller's unit) -----------------------------------------------------------------

    def wallet_in(self, conn: Connection, user_id: int, currency: str) -> ledger.AccountRow:
        return open_person_wallet_in(self._journal, conn, user_id, currency)

    def _clearing_in(self, conn: Connection, provider: str, currency: str) -> ledger.AccountRow:
        return self._journal.open_account(
            conn,
            provider_clearing_key(provider, currency),
            currency=currency,
            normal_side=ledger.DEBIT,
            kind="provider_clearing",
        )

    # --- reading ------------------------------------------------------------------------------------------------

    async def balances(self, user_id: int) -> list[WalletBalance]:
        def unit(conn: Connection) -> list[WalletBalance]:
            found = []
            for currency in self._limits.currencies:
                account = self._journal.account(conn, person_wallet_key(user_id, currency))
                found.append(WalletBalance(currency, 0 if account is None else account.balance))
            return found

        return await self._db.read(unit)

    async def home(self, user_id: int) -> tuple[str, str]:
        """The person's market and the currency their payments default to (their market's, else USD or the first)."""
        users = await self._db.read(lambda conn: accounts.get_users(conn, [user_id]))
        user = users.get(user_id)
        market = "ZZ" if user is None else self._limits.market_of(user.phone)
        currency = self._limits.caps_for(market).currency
        if currency not in self._limits.currencies:
            currency = "USD" if "USD" in self._limits.currencies else self._limits.currencies[0]
        return market, currency

    async def balance(self, user_id: int, currency: str) -> int:
        return next(b.balance for b in await self.balances(user_id) if b.currency == currency)

    async def history(
        self, user_id: int, currency: str, cursor: str | None, limit: int = 50
    ) -> tuple[list[Movement], str | None]:
        """Newest first, `limit` at a time; the cursor is the last movement's id (keyset: any depth costs the same)."""
        self._limits.check_currency(currency)
        before = decode_cursor(cursor)

        def unit(conn: Connection) -> tuple[list[Movement], str | None]:
            account = self._journal.account(conn, person_wallet_key(user_id, currency))
            if account is None:
                return [], None
            rows = self._journal.transfers_of(
                conn, account, until_id=None if before is None else before - 1, limit=limit + 1, newest_first=True
            )
            page = rows[:limit]
            more = encode_cursor(page[-1].id) if len(rows) > limit else None
            return self._movements(conn, account, page), more

        return await self._db.read(unit)

    async def statement(self, user_id: int, currency: str, period: str) -> WalletStatement:
        """Opening balance, the month's movements and the closing balance, exact, in the person's market's month."""
        self._limits.check_currency(currency)

        def unit(conn: Connection) -> WalletStatement:
            user = accounts.get_users(conn, [user_id]).get(user_id)
            market = "ZZ" if user is None else self._limits.market_of(user.phone)
            start, end = month_bounds(period, self._limits.caps_for(market).timezone)
            account = self._journal.account(conn, person_wallet_key(user_id, currency))
            if account is None:
                return WalletStatement(period, currency, 0, [], 0)
            opening, inside, after = 0, [], first_id_at(start)
            last = 0
            while True:
                rows = self._journal.transfers_of(conn, account, after_id=last, until_id=first_id_at(end) - 1)
                if not rows:
                    break
                for row in rows:
                    if row.id < after:
                        opening += _signed(account, row)
                    else:
                        inside.append(row)
                last = rows[-1].id
            movements = self._movements(conn, account, inside)
            return WalletStatement(period, currency, opening, movements, opening + sum(m.amount for m in movements))

        return await self._db.read(unit)

    def _movements(
        self, conn: Connection, account: ledger.AccountRow, rows: list[ledger.TransferRow]
    ) -> list[Movement]:
        people_ids = {int(r.references[k]) for r in rows for k in ("payer_id", "payee_id") if k in r.references}
        people = accounts.get_users(conn, people_ids)
        found = []
        for row in rows:
            if row.kind not in (ledger.POSTED, ledger.POST):
                continue  # holds do not change a wallet's balance
            refs = row.references
            signed = _signed(account, row)
            counterparty = refs.get("handle")
            if "payer_id" in refs:  # a payment between people: the other one of the two
                other = people.get(int(refs["payee_id"] if signed < 0 else refs["payer_id"]))
                counterparty = None if other is None else f"{other.name} ({other.phone})"
            kind = row.code
            if row.code == "p2p_payment":
                kind = "payment_received" if signed > 0 else "payment_sent"
            found.append(
                Movement(row.id, signed, row.currency, kind, counterparty, refs.get("reference"), row.created_at)
            )
        return found

    # --- top-ups -------------------------------------------------------------------------------------------------

    def _needs_provider(self) -> WalletProvider:
        if self._provider is None:
            raise PaymentsUnavailableError("Parley Pay has no payment provider on this installation")
        return self._provider

    def topup_amount(self, text: str, currency: str) -> int:
        self._limits.check_currency(currency)
        amount = pay_amount(text, currency)
        if amount > self._topup_max:
            raise InvalidInputError(f"a top-up is at most {money(self._topup_max, currency)}")
        return amount

    async def top_up(
        self, user_id: int, amount: int, currency: str, method: PaymentMethod, key: str | None
    ) -> FundingRow:
        """Money in from a card, a UPI ID or a Pix key. The same Idempotency-Key answers the first top-up."""
        provider = self._needs_provider()
        row = await self._start(user_id, TOPUP, amount, currency, method, checked_key(key), provider.name)
        if row.status != "created":
            return self._answer(row)
        remote_id = row.provider_payment_id
        if remote_id is None:
            remote = await provider.create_payment(amount, currency, f"person:{user_id}:topup:{row.idempotency_key}")
            remote_id = remote.id
            await self._db.write(
                "payments.wallet_topup_sent",
                lambda conn: repo.set_funding(conn, row.id, provider_payment_id=remote_id),
            )
        try:
            remote = await provider.confirm_with(remote_id, method)
        except ProviderTimeoutError:
            return await self._mark_processing(row.id)
        return self._answer(await self._settle(row.id, remote))

    async def submit_code(self, user_id: int, raw_id: str, code: str) -> FundingRow:
        """The second step of a top-up (UPI PIN, OTP, 3-D Secure code)."""
        row = await self.funding(user_id, raw_id)
        if row.status != REQUIRES_ACTION:
            return self._answer(row)
        assert row.provider_payment_id is not None
        remote = await self._needs_provider().submit_code(row.provider_payment_id, code)
        return self._answer(await self._settle(row.id, remote))

    async def funding(self, user_id: int, raw_id: str, *, look_up: bool = True) -> FundingRow:
        """A top-up or withdrawal of this person; one the provider left unanswered is looked up and settled."""
        funding_id = parse_id(raw_id)
        row = None if funding_id is None else await self._db.read(lambda conn: repo.funding(conn, funding_id))
        if row is None or row.user_id != user_id:
            raise NotFoundError("no such top-up or withdrawal")
        if look_up and row.status in ("created", PROCESSING):
            row = await self._look_up(row)
        return row

    async def recent(self, user_id: int, limit: int = 20) -> list[FundingRow]:
        return await self._db.read(lambda conn: repo.recent_funding(conn, user_id, limit))

    async def settle_pending(self, limit: int = 200) -> int:
        """The sweep: ask the provider about top-ups and withdrawals it left unanswered; how many ended."""
        before = self._clock.now_ms() - int(self._settings.settle_after_s * 1000)
        rows = await self._db.read(lambda conn: repo.open_funding_before(conn, before, limit))
        ended = 0
        for row in rows:
            done = await self._look_up(row, abandon_unconfirmed=True)
            ended += done.status in (SUCCEEDED, "failed")
        return ended

    # --- withdrawals ---------------------------------------------------------------------------------------------

    async def withdraw(
        self, user_id: int, amount: int, currency: str, destination: PayoutDestination, key: str | None
    ) -> FundingRow:
        """Money out to the person's UPI ID or Pix key: the wallet is debited first (402 when it has not enough),
        and credited back if the payout fails."""
        provider = self._needs_provider()
        row = await self._start(user_id, WITHDRAWAL, amount, currency, destination, checked_key(key), provider.name)
        if row.status != "created":
            return self._answer(row)
        try:
            remote = await provider.create_payout(
                amount, currency, f"person:{user_id}:withdrawal:{row.idempotency_key}", destination
            )
        except ProviderTimeoutError:
            return await self._mark_processing(row.id)
        return self._answer(await self._settle(row.id, remote))

    # --- internals ---------------------------------------------------------------------------------------------

    async def _start(
        self,
        user_id: int,
        direction: str,
        amount: int,
        currency: str,
        method: PaymentMethod,
        key: str,
        provider: str,
    ) -> FundingRow:
        kind = "card" if isinstance(method, CardDetails) else "upi" if isinstance(method, UpiDetails) else "pix"
        handle = handle_of(method)
        fingerprint = request_fingerprint({"amount": amount, "currency": currency, "method": kind, "handle": handle})
        row = FundingRow(
            id=self._ids.next_id(),
            user_id=user_id,
            direction=direction,
            method=kind,
            handle=handle,
            amount=amount,
            currency=currency,
            status="created",
            provider=provider,
            provider_payment_id=None,
            idempotency_key=key,
            request_hash=fingerprint,
            failure_code=None,
            failure_reason=None,
            created_at=self._clock.now_ms(),
            completed_at=None,
        )

        def unit(conn: Connection) -> FundingRow:
            inserted = repo.insert_funding_once(conn, row)
            stored = repo.funding_by_key(conn, user_id, direction, key)
            assert stored is not None
            if stored.request_hash != fingerprint:
                raise IdempotencyKeyReusedError("this Idempotency-Key was used for another top-up or withdrawal")
            if inserted and direction == WITHDRAWAL:
                # The money leaves the wallet before the payout is asked for: it cannot be spent twice.
                self._journal.transfer(
                    conn,
                    withdrawal_key(row.id),
                    debit=self.wallet_in(conn, user_id, currency),
                    credit=self._clearing_in(conn, provider, currency),
                    amount=amount,
                    code="withdrawal",
                    refs={"funding_id": str(row.id), "handle": handle, "reference": f"withdrawal {row.id}"},
                    known_new=True,
                )
            return stored

        return await self._db.write(f"payments.wallet_{direction}_start", unit)

    async def _mark_processing(self, funding_id: int) -> FundingRow:
        def unit(conn: Connection) -> FundingRow:
            repo.set_funding(conn, funding_id, status=PROCESSING)
            found = repo.funding(conn, funding_id)
            assert found is not None
            return found

        return await self._db.write("payments.wallet_funding_processing", unit)

    async def _look_up(self, row: FundingRow, *, abandon_unconfirmed: bool = False) -> FundingRow:
        """Settle from what the provider says. The sweep (`abandon_unconfirmed`) also cancels, at the provider, a
        top-up whose process died before confirming it: left alone it would stay open forever, and once canceled
        a late confirm cannot charge the card."""
        provider = self._needs_provider()
        if row.provider != provider.name:
            return row
        try:
            if row.direction == TOPUP:
                if row.provider_payment_id is None:
                    return row  # never reached the provider: nothing to settle, nothing moved
                remote = await provider.get_payment(row.provider_payment_id)
                if abandon_unconfirmed and remote.status == REQUIRES_CONFIRMATION:
                    remote = await provider.cancel_payment(row.provider_payment_id)
            else:
                remote = await provider.get_payout(await self._payout_id(provider, row))
        except (ProviderTimeoutError, NotFoundError):
            return row
        return await self._settle(row.id, remote)

    @staticmethod
    async def _payout_id(provider: WalletProvider, row: FundingRow) -> str:
        if row.provider_payment_id is not None:
            return row.provider_payment_id
        # Asking again with the same key is safe: the provider answers the payout it already made.
        destination: PayoutDestination = UpiDetails(row.handle) if row.method == "upi" else PixDetails(row.handle)
        remote = await provider.create_payout(
            row.amount, row.currency, f"person:{row.user_id}:withdrawal:{row.idempotency_key}", destination
        )
        return remote.id

    async def _settle(self, funding_id: int, remote: ProviderPayment) -> FundingRow:
        """Record what the provider answered; only the unit that ends the payment moves money."""
        now = self._clock.now_ms()

        def unit(conn: Connection) -> FundingRow:
            current = repo.funding(conn, funding_id)
            assert current is not None
            if remote.status in (SUCCEEDED, DECLINED):
                status = SUCCEEDED if remote.status == SUCCEEDED else "failed"
                moved = repo.set_funding(
                    conn,
                    funding_id,
                    status=status,
                    provider_payment_id=remote.id,
                    failure_code=remote.decline_code,
                    failure_reason=None if remote.decline_reason is None else remote.decline_reason[:200],
                    completed_at=now,
                )
                if moved:
                    self._money_of_end(conn, current, status, remote.id)
            else:
                status = REQUIRES_ACTION if remote.status == REQUIRES_ACTION else PROCESSING
                repo.set_funding(conn, funding_id, status=status, provider_payment_id=remote.id)
            done = repo.funding(conn, funding_id)
            assert done is not None
            return done

        return await self._db.write("payments.wallet_funding_settle", unit)

    def _money_of_end(self, conn: Connection, row: FundingRow, status: str, provider_payment_id: str) -> None:
        # The provider's id lets the reconciliation report match the transfer to what the provider did.
        refs: dict[str, Any] = {
            "funding_id": str(row.id),
            "handle": f"{row.method.upper()} {row.handle}",
            "provider_payment_id": provider_payment_id,
        }
        if row.direction == TOPUP and status == SUCCEEDED:
            self._journal.transfer(
                conn,
                f"wallet:topup:{row.id}",
                debit=self._clearing_in(conn, row.provider, row.currency),
                credit=self.wallet_in(conn, row.user_id, row.currency),
                amount=row.amount,
                code="topup",
                refs={**refs, "reference": f"top-up {row.id}"},
            )
        elif row.direction == WITHDRAWAL and status == "failed":
            taken = self._journal.transfer_by_key(conn, withdrawal_key(row.id))
            assert taken is not None
            self._journal.reverse(
                conn,
                withdrawal_returned_key(row.id),
                taken,
                code="withdrawal_returned",
                refs={**refs, "reference": f"withdrawal {row.id} returned"},
            )

    @staticmethod
    def _answer(row: FundingRow) -> FundingRow:
        if row.status == "failed":
            raise PaymentFailedError(row.failure_reason or "The payment failed.", funding_id=str(row.id))
        return row


def _signed(account: ledger.AccountRow, row: ledger.TransferRow) -> int:
    """The movement's effect on a credit-normal wallet: credits add, debits take away."""
    return row.amount if row.credit_account_id == account.id else -row.amount
