"""Parley Pay money as the merchant and wallet flows post it, for the payouts, disputes, reconciliation and
statement tests: a card payment through the sandbox provider, captured onto the ledger in the same unit.

The scheme (the merchant flow's): payer source -> `platform:clearing:payments:{CUR}` (amount, `payment.capture`);
clearing -> `waba:{id}:payable:{CUR}` (amount - fee, `payment.net`); clearing -> `platform:revenue:payments:{CUR}`
(fee, `payment.fee`); a refund reverses those, keyed by the refund id, with code `payment.refund`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import Connection

from parley import ledger
from parley.config import Settings
from parley.container import Container, build_container
from parley.kit.clock import FrozenClock
from parley.payments import SANDBOX_SUCCESS_CARD, CardDetails, PaymentRow
from parley.payments.books import (
    merchant_payable_key,
    payments_clearing_key,
    payments_revenue_key,
    provider_clearing_key,
)

CARD = CardDetails(SANDBOX_SUCCESS_CARD, 12, 2099, "123")
DAY_S = 86_400
# 2026-11-10T12:00:00Z: the statements' month (November 2026) starts days before and ends weeks after.
START_MS = 1_794_312_000_000


@asynccontextmanager
async def pay_container(settings: Settings, clock: FrozenClock | None = None) -> AsyncIterator[Container]:
    c = build_container(settings, clock or FrozenClock(START_MS))
    await c.start()
    try:
        yield c
    finally:
        await c.close()


def accounts_in(conn: Connection, journal: ledger.Ledger, currency: str, waba_id: int) -> dict[str, ledger.AccountRow]:
    def opened(key: str, side: str, kind: str, owner: int | None = None) -> ledger.AccountRow:
        return journal.open_account(conn, key, currency=currency, normal_side=side, kind=kind, owner_id=owner)

    return {
        "provider": opened(provider_clearing_key("sandbox", currency), ledger.DEBIT, "provider_clearing"),
        "clearing": opened(payments_clearing_key(currency), ledger.DEBIT, "payments_clearing"),
        "payable": opened(merchant_payable_key(waba_id, currency), ledger.CREDIT, "merchant_payable", waba_id),
        "revenue": opened(payments_revenue_key(currency), ledger.CREDIT, "revenue"),
    }


def post_capture_in(
    conn: Connection,
    journal: ledger.Ledger,
    *,
    waba_id: int,
    amount: int,
    fee: int,
    currency: str,
    reference_id: str,
    provider_payment_id: str | None,
    key: str | None = None,
) -> None:
    """The three legs of a card capture, as the merchant flow posts them."""
    books = accounts_in(conn, journal, currency, waba_id)
    key = key or f"capture:{provider_payment_id or reference_id}"
    refs: dict[str, object] = {"waba_id": waba_id, "reference_id": reference_id}
    if provider_payment_id is not None:
        refs["provider_payment_id"] = provider_payment_id
    journal.transfer(
        conn, key, debit=books["provider"], credit=books["clearing"], amount=amount, code="payment.capture", refs=refs
    )
    journal.transfer(
        conn,
        f"{key}:net",
        debit=books["clearing"],
        credit=books["payable"],
        amount=amount - fee,
        code="payment.net",
        refs=refs,
    )
    if fee:
        journal.transfer(
            conn,
            f"{key}:fee",
            debit=books["clearing"],
            credit=books["revenue"],
            amount=fee,
            code="payment.fee",
            refs=refs,
        )


def refund_in(conn: Connection, journal: ledger.Ledger, capture_key: str, refund_id: str) -> None:
    """A full refund: each leg of the capture reversed, keyed by the refund id."""
    for suffix in (":net", ":fee", ""):
        original = journal.transfer_by_key(conn, capture_key + suffix)
        if original is not None:
            journal.reverse(
                conn,
                f"refund:{refund_id}{suffix}",
                original,
                code="payment.refund",
                refs={**original.references, "refund_id": refund_id},
            )


@dataclass(frozen=True)
class Paid:
    payment: PaymentRow
    reference_id: str


async def card_payment(
    c: Container,
    *,
    waba_id: int,
    amount: int,
    fee: int,
    currency: str = "BRL",
    reference_id: str,
    payer_id: int = 7,
    posted_amount: int | None = None,
    post: bool = True,
    idempotency_key: str | None = None,
) -> Paid:
    """A person pays a merchant's order with the sandbox's test card; the capture is posted in the unit that
    records the provider's success (unless `post` is False: a capture the ledger never heard of)."""
    created = await c.payments.create(
        payer_kind="person",
        payer_id=payer_id,
        purpose="order",
        amount=amount,
        currency=currency,
        idempotency_key=idempotency_key or reference_id,
    )

    def on_succeeded(conn: Connection, row: PaymentRow) -> None:
        if post:
            post_capture_in(
                conn,
                c.ledger.journal,
                waba_id=waba_id,
                amount=posted_amount or amount,
                fee=fee,
                currency=currency,
                reference_id=reference_id,
                provider_payment_id=row.provider_payment_id,
            )

    done = await c.payments.confirm(created.id, CARD, payer_kind="person", payer_id=payer_id, on_succeeded=on_succeeded)
    return Paid(done, reference_id)


async def write(c: Container, fn: Callable[[Connection], object]) -> None:
    await c.db.write("tests.pay", fn)


async def balance(c: Container, key: str) -> int:
    account = await c.db.read(lambda conn: c.ledger.journal.account(conn, key))
    return 0 if account is None else account.balance


async def verified(c: Container) -> bool:
    report = await c.ledger.verify()
    return report.ok
