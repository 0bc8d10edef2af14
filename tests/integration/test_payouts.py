"""Payouts as a merchant sees them: each capture waits the payout delay, a day's run pays the matured payable to
the bank once (however often it runs, or races), a bank that refuses gets the money back in the payable through
a reversal, and the schedule runs by itself on the injected clock. The ledger verifies after each step."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from parley.config import PayoutSettings, Settings
from parley.kit.clock import FrozenClock
from parley.payments.books import merchant_payable_key, provider_clearing_key
from parley.payments.payout_models import payment_payouts
from tests.integration.pay_helpers import START_MS, balance, card_payment, pay_container, verified

BRL = 1_000_000


async def _payouts(c, waba_id: int) -> list[tuple[str, int, str]]:  # type: ignore[no-untyped-def]
    rows = await c.db.read(
        lambda conn: conn.execute(
            select(payment_payouts.c.period, payment_payouts.c.amount, payment_payouts.c.status)
            .where(payment_payouts.c.waba_id == waba_id)
            .order_by(payment_payouts.c.id)
        ).all()
    )
    return [tuple(r) for r in rows]


async def test_only_captures_older_than_the_delay_are_paid_once_a_day(settings: Settings) -> None:
    clock = FrozenClock(START_MS)
    async with pay_container(settings, clock) as c:
        waba = (await c.business.create_business("Loja Azul", "+5511987650001")).waba_id
        payable = merchant_payable_key(waba, "BRL")
        await card_payment(c, waba_id=waba, amount=100 * BRL, fee=3_990_000, reference_id="order-1")
        run = await c.payouts.run_due()
        assert run.paid == [] and run.below_minimum == 1  # nothing has waited two days yet
        [view] = await c.payouts.payables(waba)
        assert (view.balance, view.available, view.held) == (96_010_000, 0, 96_010_000)

        clock.advance(hours=24)
        await card_payment(c, waba_id=waba, amount=50 * BRL, fee=1_995_000, reference_id="order-2")
        assert (await c.payouts.run_due()).paid == []  # the first capture has waited one day of two

        clock.advance(hours=24, minutes=1)
        run = await c.payouts.run_due()
        assert [(p.amount, p.status) for p in run.paid] == [(96_010_000, "paid")]
        assert run.paid[0].bank_reference is not None and run.paid[0].bank_reference.startswith("po_sandbox_")
        assert await balance(c, payable) == 48_005_000  # the second capture is still held
        assert await balance(c, provider_clearing_key("sandbox", "BRL")) == 150 * BRL - 96_010_000

        # Again the same day (a restart, a second worker, racing runs): nothing more moves.
        again = await asyncio.gather(c.payouts.run_due(), c.payouts.run_due())
        assert all(r.already_paid == 1 for r in again)
        assert await balance(c, payable) == 48_005_000
        assert len(await _payouts(c, waba)) == 1

        clock.advance(hours=24)
        run = await c.payouts.run_due()
        # A bank moves whole cents: 48.005 pays 48.00, the half cent waits in the payable.
        assert [p.amount for p in run.paid] == [48_000_000]
        assert await balance(c, payable) == 5_000
        periods = await _payouts(c, waba)
        assert [(amount, status) for _period, amount, status in periods] == [
            (96_010_000, "paid"),
            (48_000_000, "paid"),
        ]
        assert periods[0][0] < periods[1][0]  # one per UTC day
        listed = await c.payouts.payouts_of(waba)
        assert [p.amount for p in listed] == [48_000_000, 96_010_000]  # newest first
        assert await verified(c)


async def test_a_bank_refusal_reverses_the_payout_and_the_next_day_pays_it(settings: Settings) -> None:
    clock = FrozenClock(START_MS)
    async with pay_container(settings, clock) as c:
        waba = (await c.business.create_business("Loja Verde", "+5511987650002")).waba_id
        payable = merchant_payable_key(waba, "BRL")
        await card_payment(c, waba_id=waba, amount=20 * BRL, fee=798_000, reference_id="order-1")
        clock.advance(hours=49)
        assert c.payouts.bank is not None
        c.payouts.bank.close_account(waba)  # type: ignore[attr-defined]
        run = await c.payouts.run_due()
        assert run.paid == [] and [p.status for p in run.failed] == ["failed"]
        failed = run.failed[0]
        assert failed.failure_reason is not None and "account_closed" in failed.failure_reason
        assert failed.reversal_id is not None
        assert await balance(c, payable) == 19_202_000  # back in the payable, by a reversal
        transfers = await c.db.read(
            lambda conn: (
                c.ledger.journal.transfer_by_key(conn, f"payout:{failed.id}"),
                c.ledger.journal.transfer_by_key(conn, f"payout:{failed.id}:returned"),
            )
        )
        assert transfers[0] is not None and transfers[1] is not None
        assert transfers[1].reverses_id == transfers[0].id and transfers[1].amount == 19_200_000
        assert await verified(c)

        c.payouts.bank.reopen_account(waba)  # type: ignore[attr-defined]
        assert (await c.payouts.run_due()).already_paid == 1  # today's payout failed; no second try today
        clock.advance(hours=24)
        assert [p.amount for p in (await c.payouts.run_due()).paid] == [19_200_000]  # whole cents
        assert await balance(c, payable) == 2_000
        assert await verified(c)


async def test_a_payable_below_the_minimum_waits(settings: Settings) -> None:
    clock = FrozenClock(START_MS)
    tight = settings.model_copy(update={"payouts": PayoutSettings(minimum="5", interval_s=0)})
    async with pay_container(tight, clock) as c:
        waba = (await c.business.create_business("Loja Rosa", "+5511987650003")).waba_id
        await card_payment(c, waba_id=waba, amount=4 * BRL, fee=160_000, reference_id="order-1")
        clock.advance(hours=49)
        run = await c.payouts.run_due()
        assert run.paid == [] and run.below_minimum == 1
        await card_payment(c, waba_id=waba, amount=4 * BRL, fee=160_000, reference_id="order-2")
        clock.advance(hours=49)
        assert [p.amount for p in (await c.payouts.run_due()).paid] == [7_680_000]


async def test_the_schedule_pays_by_itself(settings: Settings) -> None:
    clock = FrozenClock(START_MS)
    quick = settings.model_copy(update={"payouts": PayoutSettings(interval_s=0.05)})
    async with pay_container(quick, clock) as c:
        waba = (await c.business.create_business("Loja Sol", "+5511987650004")).waba_id
        await card_payment(c, waba_id=waba, amount=10 * BRL, fee=0, reference_id="order-1")
        await asyncio.sleep(0.3)
        assert await _payouts(c, waba) == []  # the background runs find nothing matured
        clock.advance(hours=48, seconds=1)
        for _ in range(100):
            found = await _payouts(c, waba)
            if found and found[0][2] != "pending":  # between its two units a payout is pending at the bank
                break
            await asyncio.sleep(0.05)
        [(_period, amount, status)] = await _payouts(c, waba)
        assert (amount, status) == (10 * BRL, "paid")
        assert await verified(c)
