"""Disputes as the operator opens them from a card network's chargeback: the amount leaves the merchant's payable
(even below zero: then the merchant owes it), the platform's fee stays, one dispute per payment, won gives the
amount back by a reversal, lost moves nothing, and the ledger verifies throughout."""

from __future__ import annotations

import asyncio

import pytest

from parley.config import Settings
from parley.kit.clock import FrozenClock
from parley.kit.errors import ConflictError, InvalidInputError, NotFoundError
from parley.payments.books import merchant_payable_key, payments_revenue_key, provider_clearing_key
from tests.integration.pay_helpers import START_MS, balance, card_payment, pay_container, verified

BRL = 1_000_000


async def test_a_chargeback_claws_back_from_the_payable_keeps_the_fee_and_a_win_returns_it(
    settings: Settings,
) -> None:
    async with pay_container(settings) as c:
        waba = (await c.business.create_business("Loja Lua", "+5511987650011")).waba_id
        payable = merchant_payable_key(waba, "BRL")
        paid = await card_payment(c, waba_id=waba, amount=100 * BRL, fee=3_990_000, reference_id="pedido-9")
        assert await balance(c, payable) == 96_010_000

        dispute = await c.disputes.open("pedido-9", 100 * BRL, reason="fraudulent")
        assert (dispute.status, dispute.amount, dispute.waba_id) == ("open", 100 * BRL, waba)
        assert dispute.provider_payment_id == paid.payment.provider_payment_id
        # The merchant bears the whole amount; the fee is not returned: the payable is below zero, owed.
        assert await balance(c, payable) == -3_990_000
        assert await balance(c, payments_revenue_key("BRL")) == 3_990_000
        assert await balance(c, provider_clearing_key("sandbox", "BRL")) == 0
        assert await verified(c)

        # The same chargeback again (by the provider's payment id this time): the first dispute, nothing moves.
        again = await c.disputes.open(paid.payment.provider_payment_id, 100 * BRL, reason="fraudulent")
        assert again.id == dispute.id and await balance(c, payable) == -3_990_000
        with pytest.raises(ConflictError):
            await c.disputes.open("pedido-9", 50 * BRL)

        # An owed payable is never paid out.
        c.clock.advance(hours=72)  # type: ignore[attr-defined]
        assert (await c.payouts.run_due()).paid == []

        won = await c.disputes.resolve(dispute.id, "won")
        assert won.status == "won" and won.reversal_id is not None
        assert await balance(c, payable) == 96_010_000
        assert (await c.disputes.resolve(dispute.id, "won")).reversal_id == won.reversal_id  # once
        with pytest.raises(ConflictError):
            await c.disputes.resolve(dispute.id, "lost")
        assert await verified(c)


async def test_a_lost_dispute_moves_nothing_more_and_bad_requests_change_nothing(settings: Settings) -> None:
    async with pay_container(settings, FrozenClock(START_MS)) as c:
        waba = (await c.business.create_business("Loja Mar", "+5511987650012")).waba_id
        payable = merchant_payable_key(waba, "BRL")
        paid = await card_payment(c, waba_id=waba, amount=30 * BRL, fee=1_197_000, reference_id="pedido-1")
        for payment, amount, error in (
            ("pedido-404", 1 * BRL, NotFoundError),
            ("pedido-1", 31 * BRL, InvalidInputError),  # more than was captured
            ("pedido-1", 0, InvalidInputError),
        ):
            with pytest.raises(error):
                await c.disputes.open(payment, amount)
        assert await balance(c, payable) == 28_803_000 and await c.disputes.list() == []

        dispute = await c.disputes.open(str(paid.payment.id), 10 * BRL)  # by Parley's payment id
        assert await balance(c, payable) == 18_803_000
        lost = await c.disputes.resolve(dispute.id, "lost")
        assert lost.status == "lost" and lost.reversal_id is None
        assert await balance(c, payable) == 18_803_000
        assert [d.id for d in await c.disputes.list(waba)] == [dispute.id]
        with pytest.raises(NotFoundError):
            await c.disputes.resolve(12345, "won")
        assert await verified(c)


async def test_racing_opens_and_wins_move_the_money_once(settings: Settings) -> None:
    async with pay_container(settings, FrozenClock(START_MS)) as c:
        waba = (await c.business.create_business("Loja Corrida", "+5511987650013")).waba_id
        payable = merchant_payable_key(waba, "BRL")
        await card_payment(c, waba_id=waba, amount=40 * BRL, fee=0, reference_id="pedido-r")
        opened = await asyncio.gather(*[c.disputes.open("pedido-r", 40 * BRL) for _ in range(4)])
        assert len({d.id for d in opened}) == 1
        assert await balance(c, payable) == 0
        won = await asyncio.gather(*[c.disputes.resolve(opened[0].id, "won") for _ in range(4)])
        assert len({d.reversal_id for d in won}) == 1
        assert await balance(c, payable) == 40 * BRL
        assert await verified(c)
