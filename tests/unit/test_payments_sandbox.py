"""The sandbox payment provider answers as Stripe's test mode does, and card details are checked as typed."""

from __future__ import annotations

import asyncio

import pytest

from parley.kit.clock import FrozenClock
from parley.payments import (
    DECLINED,
    REQUIRES_CONFIRMATION,
    SUCCEEDED,
    CardDetails,
    InvalidCardError,
    SandboxPaymentProvider,
    card_brand,
    checked_card,
    luhn_valid,
)

# 2026-11-29: cards expiring in 2025 have expired, 2034 is in the future.
CLOCK_MS = 1_796_000_000_000


@pytest.mark.parametrize(
    "number",
    ["4242424242424242", "4000000000000002", "4000000000009995", "5555555555554444", "378282246310005", "79927398713"],
)
def test_real_test_card_numbers_pass_the_luhn_check(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4242424242424241", "4000000000000001", "79927398710", "", "4242x42424242424"])
def test_a_mistyped_number_fails_the_luhn_check(number: str) -> None:
    assert not luhn_valid(number)


def test_brands_come_from_the_leading_digits() -> None:
    assert [card_brand(n) for n in ("4242424242424242", "5555555555554444", "2223003122003222", "378282246310005")] == [
        "visa",
        "mastercard",
        "mastercard",
        "amex",
    ]


def test_card_details_are_checked_as_typed_and_never_show_their_number() -> None:
    card = checked_card("4242 4242-4242 4242", 12, 34, "123")
    assert (card.number, card.exp_year) == ("4242424242424242", 2034)
    assert "4242424242424242" not in repr(card) and "****4242" in repr(card)
    for number, month, cvc, says in [
        ("4242 4242 4242 4241", 12, "123", "incorrect"),
        ("4242", 12, "123", "incomplete"),
        ("4242 4242 4242 4242", 13, "123", "month"),
        ("4242 4242 4242 4242", 12, "12", "3 digits"),
        ("3782 822463 10005", 12, "123", "4 digits"),  # American Express has a 4-digit code
    ]:
        with pytest.raises(InvalidCardError, match=says):
            checked_card(number, month, 2034, cvc)


def _sandbox() -> SandboxPaymentProvider:
    return SandboxPaymentProvider(FrozenClock(CLOCK_MS))


def _card(number: str, year: int = 2034) -> CardDetails:
    return CardDetails(number, 12, year, "123")


async def test_the_success_card_succeeds_and_a_repeated_confirm_answers_the_same() -> None:
    sandbox = _sandbox()
    created = await sandbox.create_payment(25_000_000, "USD", "key-1")
    assert created.status == REQUIRES_CONFIRMATION
    assert (await sandbox.create_payment(25_000_000, "USD", "key-1")).id == created.id  # same key, same payment
    paid = await sandbox.confirm_payment(created.id, _card("4242424242424242"))
    assert (paid.status, paid.card_brand, paid.card_last4) == (SUCCEEDED, "visa", "4242")
    # A confirm after success (a double click) changes nothing, even with another card.
    again = await sandbox.confirm_payment(created.id, _card("4000000000000002"))
    assert again == paid == await sandbox.get_payment(created.id)


@pytest.mark.parametrize(
    ("number", "year", "code", "reason"),
    [
        ("4000000000000002", 2034, "card_declined", "Your card was declined."),
        ("4000000000009995", 2034, "insufficient_funds", "Your card has insufficient funds."),
        ("4242424242424242", 2025, "expired_card", "Your card has expired."),
        ("4242424242424241", 2034, "incorrect_number", "Your card number is incorrect."),
    ],
)
async def test_the_decline_cards_decline_with_their_reason(number: str, year: int, code: str, reason: str) -> None:
    sandbox = _sandbox()
    created = await sandbox.create_payment(5_000_000, "USD", f"key-{number}-{year}")
    declined = await sandbox.confirm_payment(created.id, _card(number, year))
    assert (declined.status, declined.decline_code, declined.decline_reason) == (DECLINED, code, reason)
    assert declined.card_last4 == number[-4:]


async def test_concurrent_confirms_of_one_payment_all_see_one_outcome() -> None:
    sandbox = _sandbox()
    created = await sandbox.create_payment(5_000_000, "USD", "race")
    outcomes = await asyncio.gather(*[sandbox.confirm_payment(created.id, _card("4242424242424242")) for _ in range(5)])
    assert len(set(outcomes)) == 1


async def test_the_sandbox_refuses_what_a_provider_would() -> None:
    sandbox = _sandbox()
    await sandbox.create_payment(5_000_000, "USD", "k")
    with pytest.raises(Exception, match="another amount"):
        await sandbox.create_payment(6_000_000, "USD", "k")
    with pytest.raises(Exception, match="positive"):
        await sandbox.create_payment(0, "USD", "zero")
    with pytest.raises(Exception, match="no payment"):
        await sandbox.get_payment("pi_unknown")
