"""The payment-provider seam: create a payment, confirm it with a card, look it up.

A real provider (Stripe, Adyen …) plugs in behind `PaymentProvider`; the container picks one from settings.
`SandboxPaymentProvider` stands in for a card network the way Stripe's test mode does: Stripe's well-known test
cards succeed or decline without money moving. Card numbers pass through to the provider and are never kept:
what comes back is the card's brand and last four digits.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from parley.kit.clock import Clock
from parley.kit.errors import AppError, InvalidInputError, NotFoundError
from parley.payments.sandbox_store import SandboxStore

PaymentStatus = Literal["requires_confirmation", "succeeded", "declined", "requires_action", "processing"]
REQUIRES_CONFIRMATION: PaymentStatus = "requires_confirmation"
SUCCEEDED: PaymentStatus = "succeeded"
DECLINED: PaymentStatus = "declined"
# A second step the person must take (a UPI PIN, a Pix or 3-D Secure code), then `submit_code`.
REQUIRES_ACTION: PaymentStatus = "requires_action"
# Sent to the bank, no answer yet (after a timeout): a later `get_payment` says how it ended.
PROCESSING: PaymentStatus = "processing"


class InvalidCardError(InvalidInputError):
    """The card details cannot be a card (wrong length, fails the Luhn check, no such month)."""

    code = "invalid_card"


class UnknownProviderPaymentError(NotFoundError):
    code = "payment_not_found"


class PaymentsUnavailableError(AppError):
    """No payment provider is configured on this installation (a setting, not an outage: not a 5xx)."""

    status = 409
    code = "payments_unavailable"


@dataclass(frozen=True, repr=False)
class CardDetails:
    """What a person types into a card form. Its repr hides the number, so it never reaches a log."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str

    def __repr__(self) -> str:
        return f"CardDetails(****{self.number[-4:]}, {self.exp_month:02d}/{self.exp_year})"


@dataclass(frozen=True)
class ProviderPayment:
    """The provider's view of a payment. `card_brand`/`card_last4` once a card was tried."""

    id: str
    amount: int  # micros of `currency`
    currency: str
    status: PaymentStatus
    card_brand: str | None = None
    card_last4: str | None = None
    decline_code: str | None = None
    decline_reason: str | None = None  # what to show the person, in the provider's words
    handle: str | None = None  # a UPI VPA or Pix key the payment used (cards: brand and last4 above)


class PaymentProvider(Protocol):
    """Takes money from a card. Each call is idempotent: the same key or a repeated confirm answers the same."""

    name: str

    async def create_payment(self, amount: int, currency: str, idempotency_key: str) -> ProviderPayment: ...

    async def confirm_payment(self, payment_id: str, card: CardDetails) -> ProviderPayment: ...

    async def get_payment(self, payment_id: str) -> ProviderPayment: ...

    async def cancel_payment(self, payment_id: str) -> ProviderPayment:
        """Cancel a payment whose card was not charged (it answers `declined`); one already ended answers as it
        ended. Parley's sweep calls it for a payment its process died confirming, so a late confirm cannot charge."""
        ...


def luhn_valid(digits: str) -> bool:
    """The check digit every card number carries (ISO/IEC 7812)."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_brand(digits: str) -> str:
    """The network, from the number's leading digits (the few a sandbox needs to name)."""
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"51", "52", "53", "54", "55"} or "2221" <= digits[:4] <= "2720":
        return "mastercard"
    if digits[:2] in {"34", "37"}:
        return "amex"
    if digits.startswith("6011") or digits.startswith("65"):
        return "discover"
    return "unknown"


def checked_card(number: str, exp_month: int, exp_year: int, cvc: str) -> CardDetails:
    """Card details as typed (spaces and dashes in the number are fine); InvalidCardError says what is wrong."""
    digits = "".join(ch for ch in number if ch not in " -")
    if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise InvalidCardError("Your card number is incomplete or has characters other than digits.")
    if not luhn_valid(digits):
        raise InvalidCardError("Your card number is incorrect.")
    if not 1 <= exp_month <= 12:
        raise InvalidCardError("Your card's expiry month is not a month (1 to 12).")
    if exp_year < 100:
        exp_year += 2000  # "MM/YY" as printed on the card
    if not 2000 <= exp_year <= 2200:
        raise InvalidCardError("Your card's expiry year is not a year.")
    expected_cvc = 4 if card_brand(digits) == "amex" else 3
    if not cvc.isascii() or not cvc.isdigit() or len(cvc) != expected_cvc:
        raise InvalidCardError(f"Your card's security code (CVC) has {expected_cvc} digits.")
    return CardDetails(digits, exp_month, exp_year, cvc)


_PAYMENT, _PAYOUT = "payment", "payout"  # the sandbox store's kinds
# Stripe's test cards that Parley's sandbox knows: number -> (decline code, message); success needs no entry.
SANDBOX_SUCCESS_CARD = "4242424242424242"
SANDBOX_DECLINES: dict[str, tuple[str, str]] = {
    "4000000000000002": ("card_declined", "Your card was declined."),
    "4000000000009995": ("insufficient_funds", "Your card has insufficient funds."),
}


class SandboxPaymentProvider:
    """Stripe-test-mode-like: 4242 4242 4242 4242 succeeds (any future expiry, any CVC), 4000 0000 0000 0002
    and 4000 0000 0000 9995 decline, an expired card declines, any other valid number succeeds.

    Payments live in a `SandboxStore`: this process's memory, or (as the container sets it up) a small SQLite file
    under the data directory, so that after a restart the sandbox still answers for the payments it took, as a
    real provider remembers them, and its record of charges shows any payment charged twice.
    """

    name = "sandbox"

    def __init__(self, clock: Clock, store: SandboxStore | None = None, latency_s: float = 0.0) -> None:
        self._clock = clock
        self._store = store or SandboxStore()
        # How long a confirm's answer takes to come back after the card was charged (a real network's second).
        self._latency_s = latency_s
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        """One change at a time: in this process (the lock) and across processes sharing the file."""
        async with self._lock:
            with self._store.transaction():
                yield

    def _get(self, kind: str, payment_id: str) -> ProviderPayment | None:
        body = self._store.get(kind, payment_id)
        return None if body is None else ProviderPayment(**body)

    def _put(self, kind: str, payment: ProviderPayment) -> ProviderPayment:
        before = self._get(kind, payment.id)
        charged = payment.status == SUCCEEDED and (before is None or before.status != SUCCEEDED)
        self._store.put(kind, dataclasses.asdict(payment), charged=charged)
        return payment

    def charges(self) -> list[tuple[str, str, int, str]]:
        """(kind, id, amount, currency) of each time the sandbox took or paid out money."""
        return self._store.charges()

    def close(self) -> None:
        self._store.close()

    async def create_payment(self, amount: int, currency: str, idempotency_key: str) -> ProviderPayment:
        if amount <= 0:
            raise InvalidInputError("a payment must be a positive amount")
        payment_id = "pi_sandbox_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        async with self._guard():
            existing = self._get(_PAYMENT, payment_id)
            if existing is not None:
                if (existing.amount, existing.currency) != (amount, currency):
                    raise InvalidInputError("this idempotency key was used for another amount")
                return existing
            return self._put(_PAYMENT, ProviderPayment(payment_id, amount, currency, REQUIRES_CONFIRMATION))

    async def confirm_payment(self, payment_id: str, card: CardDetails) -> ProviderPayment:
        answer = await self._confirm_card(payment_id, card)
        if self._latency_s:
            await asyncio.sleep(self._latency_s)
        return answer

    async def _confirm_card(self, payment_id: str, card: CardDetails) -> ProviderPayment:
        async with self._guard():
            payment = self._known(payment_id)
            if payment.status != REQUIRES_CONFIRMATION:
                return payment  # a repeated confirm answers what the first one did
            brand, last4 = card_brand(card.number), card.number[-4:]
            outcome = self._outcome(card)
            if outcome is None:
                done = ProviderPayment(payment.id, payment.amount, payment.currency, SUCCEEDED, brand, last4)
            else:
                code, reason = outcome
                done = ProviderPayment(
                    payment.id, payment.amount, payment.currency, DECLINED, brand, last4, code, reason
                )
            return self._put(_PAYMENT, done)

    async def get_payment(self, payment_id: str) -> ProviderPayment:
        async with self._guard():
            return self._known(payment_id)

    async def cancel_payment(self, payment_id: str) -> ProviderPayment:
        async with self._guard():
            payment = self._known(payment_id)
            if payment.status not in (REQUIRES_CONFIRMATION, REQUIRES_ACTION):
                return payment
            canceled = replace(
                payment,
                status=DECLINED,
                decline_code="canceled",
                decline_reason="The payment was canceled before the card was charged.",
            )
            return self._put(_PAYMENT, canceled)

    def _known(self, payment_id: str) -> ProviderPayment:
        found = self._get(_PAYMENT, payment_id)
        if found is None:
            raise UnknownProviderPaymentError(f"the payment provider has no payment {payment_id!r}")
        return found

    def _outcome(self, card: CardDetails) -> tuple[str, str] | None:
        if not luhn_valid(card.number):  # callers check first; a provider never trusts them to
            return ("incorrect_number", "Your card number is incorrect.")
        today = datetime.datetime.fromtimestamp(self._clock.now_ms() / 1000, datetime.UTC).date()
        if (card.exp_year, card.exp_month) < (today.year, today.month):
            return ("expired_card", "Your card has expired.")
        return SANDBOX_DECLINES.get(card.number)


# --- Parley Pay for people: UPI and Pix next to cards, second steps, timeouts, payouts ------------------------


class ProviderTimeoutError(AppError):
    """The provider did not answer in time. The payment may still complete: look it up later, never retry blind."""

    status = 504
    code = "payment_provider_timeout"


class InvalidPaymentMethodError(InvalidInputError):
    code = "invalid_payment_method"


@dataclass(frozen=True)
class UpiDetails:
    """A UPI virtual payment address, `name@bank`."""

    vpa: str


@dataclass(frozen=True)
class PixDetails:
    """A Pix key: an e-mail address, a +55 phone number, a CPF/CNPJ, or a random key (UUID)."""

    key: str


PaymentMethod = CardDetails | UpiDetails | PixDetails
PayoutDestination = UpiDetails | PixDetails

_VPA = re.compile(r"[A-Za-z0-9._-]{2,64}@[A-Za-z][A-Za-z0-9]{1,31}", re.ASCII)
_PIX_KEY = re.compile(
    r"[^@\s]{1,64}@[^@\s]{1,120}"  # e-mail
    r"|\+55[0-9]{10,11}"  # phone
    r"|[0-9]{11}|[0-9]{14}"  # CPF / CNPJ
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",  # random key
    re.ASCII,
)


def checked_vpa(vpa: str) -> UpiDetails:
    text = vpa.strip()
    if not _VPA.fullmatch(text):
        raise InvalidPaymentMethodError("A UPI ID looks like name@bank (letters, digits, dots, dashes).")
    return UpiDetails(text.lower())


def checked_pix_key(key: str) -> PixDetails:
    text = key.strip()
    if not _PIX_KEY.fullmatch(text):
        raise InvalidPaymentMethodError(
            "A Pix key is an e-mail address, a +55 phone number, a CPF or CNPJ (digits only), or a random key."
        )
    return PixDetails(text.lower())


def handle_of(method: PaymentMethod) -> str:
    """What identifies the method to its owner (never a card number)."""
    if isinstance(method, CardDetails):
        return f"{card_brand(method.number)} {method.number[-4:]}"
    if isinstance(method, UpiDetails):
        return method.vpa
    return method.key


class WalletProvider(PaymentProvider, Protocol):
    """A provider that also takes UPI and Pix, asks for second steps, and pays money out to a person's account."""

    async def confirm_with(self, payment_id: str, method: PaymentMethod) -> ProviderPayment:
        """Like `confirm_payment` for any method; may answer `requires_action` or raise ProviderTimeoutError."""
        ...

    async def submit_code(self, payment_id: str, code: str) -> ProviderPayment:
        """The second step's code (UPI PIN, OTP): succeeded, or declined when the code is wrong."""
        ...

    async def create_payout(
        self, amount: int, currency: str, idempotency_key: str, destination: PayoutDestination
    ) -> ProviderPayment:
        """Send money to the person's account; the same key answers the same payout."""
        ...

    async def get_payout(self, payout_id: str) -> ProviderPayment: ...


# The sandbox's test credentials: the part before "@" picks the outcome, for UPI IDs and e-mail Pix keys alike.
SANDBOX_ACTION_CODE = "123456"
SANDBOX_THREE_D_SECURE_CARD = "4000002500003155"  # Stripe's "authentication required" card
SANDBOX_UPI = {
    "success": "success@parley",
    "failure": "failure@parley",
    "action": "otp@parley",
    "timeout": "timeout@parley",
}
SANDBOX_PIX = {
    "success": "success@pix.parley",
    "failure": "failure@pix.parley",
    "action": "otp@pix.parley",
    "timeout": "timeout@pix.parley",
}


def _sandbox_outcome(method: PaymentMethod) -> str:
    if isinstance(method, CardDetails):
        return "action" if method.number == SANDBOX_THREE_D_SECURE_CARD else "card"
    name = (method.vpa if isinstance(method, UpiDetails) else method.key).split("@", 1)[0]
    return name if name in ("failure", "timeout") else "action" if name == "otp" else "success"


class SandboxWalletProvider(SandboxPaymentProvider):
    """The sandbox, extended for Parley Pay. UPI IDs and Pix keys: `success@…` (or any other) succeeds,
    `failure@…` is declined, `otp@…` asks for a code (123456 succeeds, anything else declines), `timeout@…` raises
    ProviderTimeoutError and completes when looked up. Card 4000 0025 0000 3155 asks for the code too.
    Payouts follow the same names (no second step)."""

    async def confirm_with(self, payment_id: str, method: PaymentMethod) -> ProviderPayment:
        outcome = _sandbox_outcome(method)
        if outcome == "card":
            assert isinstance(method, CardDetails)
            return await self.confirm_payment(payment_id, method)
        async with self._guard():
            payment = self._known(payment_id)
            if payment.status != REQUIRES_CONFIRMATION:
                return payment
            handle = handle_of(method)
            brand, last4 = (
                (card_brand(method.number), method.number[-4:]) if isinstance(method, CardDetails) else (None, None)
            )
            base = ProviderPayment(
                payment.id, payment.amount, payment.currency, PROCESSING, brand, last4, handle=handle
            )
            if outcome == "failure":
                done = replace(
                    base,
                    status=DECLINED,
                    decline_code="payment_declined",
                    decline_reason="The bank declined the payment.",
                )
            elif outcome == "action":
                done = replace(base, status=REQUIRES_ACTION)
            elif outcome == "timeout":
                self._put(_PAYMENT, base)
                raise ProviderTimeoutError("the payment provider did not answer in time")
            else:
                done = replace(base, status=SUCCEEDED)
            return self._put(_PAYMENT, done)

    async def submit_code(self, payment_id: str, code: str) -> ProviderPayment:
        async with self._guard():
            payment = self._known(payment_id)
            if payment.status != REQUIRES_ACTION:
                return payment
            if code.strip() == SANDBOX_ACTION_CODE:
                done = replace(payment, status=SUCCEEDED)
            else:
                done = replace(
                    payment, status=DECLINED, decline_code="incorrect_code", decline_reason="The code was incorrect."
                )
            return self._put(_PAYMENT, done)

    async def get_payment(self, payment_id: str) -> ProviderPayment:
        async with self._guard():
            payment = self._known(payment_id)
            if payment.status == PROCESSING:  # the bank answered meanwhile
                payment = self._put(_PAYMENT, replace(payment, status=SUCCEEDED))
            return payment

    async def create_payout(
        self, amount: int, currency: str, idempotency_key: str, destination: PayoutDestination
    ) -> ProviderPayment:
        if amount <= 0:
            raise InvalidInputError("a payout must be a positive amount")
        payout_id = "po_sandbox_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        async with self._guard():
            existing = self._get(_PAYOUT, payout_id)
            if existing is not None:
                if existing.status == PROCESSING:  # asked again after a timeout: the bank answered meanwhile
                    existing = self._put(_PAYOUT, replace(existing, status=SUCCEEDED))
                return existing
            handle = handle_of(destination)
            outcome = _sandbox_outcome(destination)
            base = ProviderPayment(payout_id, amount, currency, PROCESSING, handle=handle)
            if outcome == "timeout":
                self._put(_PAYOUT, base)
                raise ProviderTimeoutError("the payment provider did not answer in time")
            if outcome == "failure":
                done = replace(
                    base, status=DECLINED, decline_code="payout_failed", decline_reason="The receiving bank refused it."
                )
            else:
                done = replace(base, status=SUCCEEDED)
            return self._put(_PAYOUT, done)

    async def get_payout(self, payout_id: str) -> ProviderPayment:
        async with self._guard():
            found = self._get(_PAYOUT, payout_id)
            if found is None:
                raise UnknownProviderPaymentError(f"the payment provider has no payout {payout_id!r}")
            if found.status == PROCESSING:
                found = self._put(_PAYOUT, replace(found, status=SUCCEEDED))
            return found
