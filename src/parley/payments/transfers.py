"""Person-to-person payments in a 1:1 chat: free, capped by the payer's market, confirmed with a payment PIN.

A payment is created pending, then confirmed: the PIN is checked (argon2, off the event loop; five wrong guesses
lock it for a while), and one write unit moves payer wallet -> payee wallet, marks the payment completed and puts
the payment bubble in the chat for both. Two racing confirms move the money once: the unit that moved the
payment out of `pending` is the only one that posts.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection

from parley import accounts, ledger, messaging
from parley.config import PersonPaySettings
from parley.kit.clock import Clock
from parley.kit.errors import (
    AppError,
    ConflictError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
)
from parley.kit.idempotency import request_fingerprint
from parley.kit.ids import IdGenerator, parse_id
from parley.kit.money import format_amount, minor_units
from parley.payments import wallet_repository as repo
from parley.payments.limits import Caps, MarketLimits, day_and_month_start, money, pay_amount
from parley.payments.wallet_repository import PayProfileRow, PersonPaymentRow
from parley.payments.wallets import Wallets, checked_key
from parley.platform.db import Database

PENDING, COMPLETED = "pending", "completed"
MAX_NOTE = 200


class WrongPinError(AppError):
    status = 403
    code = "wrong_pin"


class PinNotSetError(ConflictError):
    code = "pin_not_set"


class PinLockedError(RateLimitedError):
    code = "pin_locked"


class NotPayableError(AppError):
    """Payments are between two people in a 1:1 chat: not in groups, not to businesses."""

    status = 422
    code = "not_payable"


@dataclass(frozen=True)
class Party:
    user_id: int
    name: str
    phone: str


@dataclass(frozen=True)
class PaymentView:
    """A payment with the two people in it (its receipt names both)."""

    payment: PersonPaymentRow
    payer: Party
    payee: Party


def checked_pin(pin: object) -> str:
    if not isinstance(pin, str) or not pin.isascii() or not pin.isdigit() or len(pin) not in (4, 6):
        raise InvalidInputError("a payment PIN is 4 or 6 digits")
    return pin


class PersonPayments:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        journal: ledger.Ledger,
        wallets: Wallets,
        messages: messaging.MessagingService,
        limits: MarketLimits,
        settings: PersonPaySettings,
    ) -> None:
        self._db, self._clock, self._ids, self._journal = db, clock, ids, journal
        self._wallets, self._messages, self._limits, self._settings = wallets, messages, limits, settings
        self._hasher = PasswordHasher()

    # --- PIN -------------------------------------------------------------------------------------------------

    async def has_pin(self, user_id: int) -> bool:
        return await self._db.read(lambda conn: repo.profile(conn, user_id)) is not None

    async def set_pin(self, user_id: int, pin: str, current_pin: str | None) -> None:
        """Set the payment PIN once; changing it takes the current one (counted like any other guess)."""
        new_hash = await asyncio.to_thread(self._hasher.hash, checked_pin(pin))
        existing = await self._db.read(lambda conn: repo.profile(conn, user_id))
        if existing is not None:
            await self._check_pin(existing, current_pin or "")
            await self._db.write(
                "payments.pin_change",
                lambda conn: repo.update_profile(
                    conn, user_id, pin_hash=new_hash, pin_failures=0, locked_until=None, updated_at=self._clock.now_ms()
                ),
            )
            return
        created = await self._db.write(
            "payments.pin_set", lambda conn: repo.insert_profile(conn, user_id, new_hash, self._clock.now_ms())
        )
        if not created:
            raise ConflictError("a payment PIN is already set: send the current one to change it")

    async def check_spending_pin(self, user_id: int, pin: object) -> None:
        """The PIN that lets the wallet's money go elsewhere (an order paid from the wallet): wrong guesses count
        and lock payments exactly as for a payment in a chat; a right one clears the count."""
        if not isinstance(pin, str):
            raise InvalidInputError("pin is a string of 4 or 6 digits")
        profile = await self._db.read(lambda conn: repo.profile(conn, user_id))
        if profile is None:
            raise PinNotSetError("set a payment PIN first (PUT /client/v1/wallet/pin)")
        await self._check_pin(profile, pin)
        if profile.pin_failures:
            await self._db.write("payments.pin_right", lambda conn: repo.update_profile(conn, user_id, pin_failures=0))

    async def _check_pin(self, profile: PayProfileRow, pin: str) -> None:
        now = self._clock.now_ms()
        self._refuse_if_locked(profile, now)
        if await asyncio.to_thread(self._verify, profile.pin_hash, pin):
            return
        attempts = self._settings.pin_attempts

        def unit(conn: Connection) -> int:
            failures = repo.add_pin_failure(conn, profile.user_id)
            if failures >= attempts:
                lock_until = now + self._settings.pin_lock_minutes * 60_000
                repo.update_profile(conn, profile.user_id, pin_failures=0, locked_until=lock_until)
            return failures

        failures = await self._db.write("payments.pin_wrong", unit)
        if failures >= attempts:
            raise PinLockedError(
                f"wrong PIN {attempts} times: payments are locked for {self._settings.pin_lock_minutes} minutes",
                retry_after_s=self._settings.pin_lock_minutes * 60,
            )
        left = attempts - failures
        raise WrongPinError(f"wrong PIN; {left} {'try' if left == 1 else 'tries'} left before payments are locked")

    def _refuse_if_locked(self, profile: PayProfileRow, now: int) -> None:
        if profile.locked_until is not None and profile.locked_until > now:
            wait_s = (profile.locked_until - now + 999) // 1000
            raise PinLockedError(
                f"payments are locked after too many wrong PINs; try again in {(wait_s + 59) // 60} minutes",
                retry_after_s=wait_s,
            )

    def _verify(self, pin_hash: str, pin: str) -> bool:
        try:
            return self._hasher.verify(pin_hash, pin)
        except (VerificationError, InvalidHashError):
            return False

    # --- payments --------------------------------------------------------------------------------------------

    async def create(
        self,
        payer_id: int,
        raw_chat_id: str,
        amount_text: str,
        currency: str,
        note: str | None,
        client_id: str | None,
        key: str | None,
    ) -> PaymentView:
        """A pending payment to the other person of a 1:1 chat; the same Idempotency-Key answers the first one."""
        key = checked_key(key)
        chat_id = parse_id(raw_chat_id)
        if chat_id is None:
            raise NotFoundError("no such chat")
        amount = pay_amount(amount_text, currency)
        note = (note or "").strip() or None
        if note is not None and len(note) > MAX_NOTE:
            raise InvalidInputError(f"a note is at most {MAX_NOTE} characters")
        # The bubble's client id: the caller's, or one derived from the key so a retry names the same message.
        client_id = client_id or "pay-" + hashlib.sha256(key.encode()).hexdigest()[:40]
        if not 1 <= len(client_id) <= 64 or not client_id.isprintable():
            raise InvalidInputError("client_id: 1 to 64 printable characters")
        fingerprint = request_fingerprint(
            {"chat_id": chat_id, "amount": amount, "currency": currency, "note": note, "client_id": client_id}
        )
        now = self._clock.now_ms()

        def unit(conn: Connection) -> PaymentView:
            first = repo.person_payment_by_key(conn, payer_id, key)
            if first is None:
                payee_id = self._messages.direct_peer_in(conn, chat_id, payer_id)
                if payee_id is None:
                    if _is_member(conn, chat_id, payer_id):
                        raise NotPayableError("payments are between two people in a 1:1 chat, not in groups")
                    raise NotFoundError("no such chat")
                payer, _ = self._parties(conn, payer_id, payee_id)
                market = self._limits.market_of(payer.phone)
                caps = self._limits.caps_for(market)
                self._limits.check_payment(caps, amount, currency)
                self._check_running(conn, caps, payer_id, amount, currency, now)
                repo.insert_person_payment_once(
                    conn,
                    PersonPaymentRow(
                        id=self._ids.next_id(),
                        payer_id=payer_id,
                        payee_id=payee_id,
                        chat_id=chat_id,
                        amount=amount,
                        currency=currency,
                        note=note,
                        status=PENDING,
                        market=market,
                        idempotency_key=key,
                        client_id=client_id,
                        request_hash=fingerprint,
                        message_id=None,
                        created_at=now,
                        completed_at=None,
                    ),
                )
                first = repo.person_payment_by_key(conn, payer_id, key)
                assert first is not None
            if first.request_hash != fingerprint:
                raise IdempotencyKeyReusedError("this Idempotency-Key was used for another payment")
            return self._view(conn, first)

        return await self._db.write("payments.p2p_create", unit)

    async def get(self, user_id: int, raw_id: str) -> PaymentView:
        """A payment its payer or payee may see (with its receipt)."""
        payment_id = parse_id(raw_id)

        def unit(conn: Connection) -> PaymentView:
            found = None if payment_id is None else repo.person_payment(conn, payment_id)
            if found is None or user_id not in (found.payer_id, found.payee_id):
                raise NotFoundError("no such payment")
            return self._view(conn, found)

        return await self._db.read(unit)

    async def confirm(self, payer_id: int, raw_id: str, pin: object) -> PaymentView:
        """Check the PIN, then move the money and post the bubble in one write unit (once, however often asked)."""
        payment_id = parse_id(raw_id)
        found = None if payment_id is None else await self._db.read(lambda conn: repo.person_payment(conn, payment_id))
        if found is None or found.payer_id != payer_id:
            raise NotFoundError("no such payment")
        if not isinstance(pin, str):
            raise InvalidInputError("pin is a string of 4 or 6 digits")
        profile = await self._db.read(lambda conn: repo.profile(conn, payer_id))
        if profile is None:
            raise PinNotSetError("set a payment PIN first (PUT /client/v1/wallet/pin)")
        await self._check_pin(profile, pin)
        now = self._clock.now_ms()
        committed: list[messaging.Committed] = []

        def unit(conn: Connection) -> PaymentView:
            locked = repo.profile(conn, payer_id, lock=True)
            assert locked is not None
            self._refuse_if_locked(locked, now)  # a wrong guess racing this one may have locked payments
            if locked.pin_failures:
                repo.update_profile(conn, payer_id, pin_failures=0)
            payment = repo.person_payment(conn, found.id)
            assert payment is not None
            if payment.status != PENDING:
                return self._view(conn, payment)
            caps = self._limits.caps_for(payment.market)
            self._limits.check_payment(caps, payment.amount, payment.currency)
            self._check_running(conn, caps, payer_id, payment.amount, payment.currency, now)
            if not repo.complete_person_payment(conn, payment.id, now):
                done = repo.person_payment(conn, payment.id)
                assert done is not None
                return self._view(conn, done)
            payer_wallet = self._wallets.wallet_in(conn, payer_id, payment.currency)
            payee_wallet = self._wallets.wallet_in(conn, payment.payee_id, payment.currency)
            try:
                self._journal.transfer(
                    conn,
                    f"p2p:{payment.id}",
                    debit=payer_wallet,
                    credit=payee_wallet,
                    amount=payment.amount,
                    code="p2p_payment",
                    refs={
                        "payment_id": str(payment.id),
                        "payer_id": str(payer_id),
                        "payee_id": str(payment.payee_id),
                        "reference": f"payment {payment.id}" + (f": {payment.note}" if payment.note else ""),
                    },
                    known_new=True,
                )
            except ledger.InsufficientFundsError:
                have = self._journal.account(conn, payer_wallet.key)
                balance = 0 if have is None else have.balance
                raise ledger.InsufficientFundsError(
                    f"your {payment.currency} wallet has {money(balance, payment.currency)}, not enough for "
                    f"{money(payment.amount, payment.currency)}: top it up first"
                ) from None
            content = messaging.PaymentContent(
                payment_id=str(payment.id),
                amount=format_amount(payment.amount, minor_units(payment.currency)),
                currency=payment.currency,
                note=payment.note,
                status=COMPLETED,
            )
            sent, fanout = self._messages.send_direct_in(
                conn,
                payer_id,
                payment.payee_id,
                payment.client_id,
                "payment",
                content,
                None,
                now,
                sender_inbox=True,
            )
            if sent.retried:
                raise IdempotencyKeyReusedError("client_id was already used for another message")
            if sent.withheld:
                raise ForbiddenError("you cannot pay this person")
            repo.set_payment_message(conn, payment.id, sent.message_id)
            committed.append(fanout)
            done = repo.person_payment(conn, payment.id)
            assert done is not None
            return self._view(conn, done)

        view = await self._db.write("payments.p2p_confirm", unit)
        for fanout in committed:
            await self._messages.publish_committed(fanout)
        return view

    # --- internals ---------------------------------------------------------------------------------------------

    def _check_running(self, conn: Connection, caps: Caps, payer_id: int, amount: int, currency: str, now: int) -> None:
        if caps.max_payments_per_day is None and caps.max_per_month is None:
            return
        day_start, month_start = day_and_month_start(now, caps.timezone)
        count_today, _ = repo.sent_since(conn, payer_id, currency, day_start)
        _, sent_month = repo.sent_since(conn, payer_id, currency, month_start)
        self._limits.check_running(caps, amount, currency, count_today, sent_month)

    def _parties(self, conn: Connection, payer_id: int, payee_id: int) -> tuple[Party, Party]:
        users = accounts.get_users(conn, [payer_id, payee_id])
        payer, payee = users.get(payer_id), users.get(payee_id)
        if payer is None or payee is None:
            raise NotFoundError("no such chat")
        if payer.kind != "person" or payee.kind != "person":
            raise NotPayableError("Parley Pay sends money between people; a business is paid through its orders")
        return Party(payer.id, payer.name, payer.phone), Party(payee.id, payee.name, payee.phone)

    def _view(self, conn: Connection, payment: PersonPaymentRow) -> PaymentView:
        users = accounts.get_users(conn, [payment.payer_id, payment.payee_id])

        def party(user_id: int) -> Party:
            user = users.get(user_id)
            return Party(user_id, "" if user is None else user.name, "" if user is None else user.phone)

        return PaymentView(payment, party(payment.payer_id), party(payment.payee_id))


def _is_member(conn: Connection, chat_id: int, user_id: int) -> bool:
    return (chat_id, user_id) in messaging.chat_members_among(conn, [chat_id], [user_id])
