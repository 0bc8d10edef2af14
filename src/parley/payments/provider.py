"""The payment-provider seam: create a payment, confirm it with a card, look it up.

A real provider (Stripe, Adyen …) plugs in behind `PaymentProvider`; the container picks one from settings.
`SandboxPaymentProvider` stands in for a card network the way Stripe's test mode does: Stripe's well-known test
cards succeed or decline without money moving. Card numbers pass through to the provider and are never kept:
what comes back is the card's brand and last four digits.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
from dataclasses import dataclass
from typing import Literal, Protocol

from parley.kit.clock import Clock
from parley.kit.errors import AppError, InvalidInputError, NotFoundError

PaymentStatus = Literal["requires_confirmation", "succeeded", "declined"]
REQUIRES_CONFIRMATION: PaymentStatus = "requires_confirmation"
SUCCEEDED: PaymentStatus = "succeeded"
DECLINED: PaymentStatus = "declined"


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


class PaymentProvider(Protocol):
    """Takes money from a card. Each call is idempotent: the same key or a repeated confirm answers the same."""

    name: str

    async def create_payment(self, amount: int, currency: str, idempotency_key: str) -> ProviderPayment: ...

    async def confirm_payment(self, payment_id: str, card: CardDetails) -> ProviderPayment: ...

    async def get_payment(self, payment_id: str) -> ProviderPayment: ...


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


# Stripe's test cards that Parley's sandbox knows: number -> (decline code, message); success needs no entry.
SANDBOX_SUCCESS_CARD = "4242424242424242"
SANDBOX_DECLINES: dict[str, tuple[str, str]] = {
    "4000000000000002": ("card_declined", "Your card was declined."),
    "4000000000009995": ("insufficient_funds", "Your card has insufficient funds."),
}


class SandboxPaymentProvider:
    """Stripe-test-mode-like: 4242 4242 4242 4242 succeeds (any future expiry, any CVC), 4000 0000 0000 0002
    and 4000 0000 0000 9995 decline, an expired card declines, any other valid number succeeds.

    Payments live in this process's memory (like test data, they are gone after a restart): Parley's own
    payment records are the source of truth, this only answers as a provider would.
    """

    name = "sandbox"

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._payments: dict[str, ProviderPayment] = {}
        self._lock = asyncio.Lock()

    async def create_payment(self, amount: int, currency: str, idempotency_key: str) -> ProviderPayment:
        if amount <= 0:
            raise InvalidInputError("a payment must be a positive amount")
        payment_id = "pi_sandbox_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        async with self._lock:
            existing = self._payments.get(payment_id)
            if existing is not None:
                if (existing.amount, existing.currency) != (amount, currency):
                    raise InvalidInputError("this idempotency key was used for another amount")
                return existing
            created = ProviderPayment(payment_id, amount, currency, REQUIRES_CONFIRMATION)
            self._payments[payment_id] = created
            return created

    async def confirm_payment(self, payment_id: str, card: CardDetails) -> ProviderPayment:
        async with self._lock:
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
            self._payments[payment_id] = done
            return done

    async def get_payment(self, payment_id: str) -> ProviderPayment:
        async with self._lock:
            return self._known(payment_id)

    def _known(self, payment_id: str) -> ProviderPayment:
        found = self._payments.get(payment_id)
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
