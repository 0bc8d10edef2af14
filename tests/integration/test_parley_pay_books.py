"""The merchant flow's real money through the back office: a card payment and a partial refund, then the
reconciliation report, the merchant's statement, a payout and a chargeback, each agreeing with the ledger."""

from __future__ import annotations

import datetime

from parley.payments import merchant_statement, reconcile
from parley.payments.books import merchant_payable_key, payments_revenue_key
from tests.conftest import LiveServer
from tests.integration.test_merchant_payments import _balance, _pay, _refund, _send_order, _setup


async def test_a_paid_and_partly_refunded_order_reconciles_states_pays_out_and_can_be_charged_back(
    server: LiveServer,
) -> None:
    c = server.container
    biz, person = await _setup(server)
    _, order_id = await _send_order(server, biz, person, "BR-BOOKS-1")  # R$ 110.00, a Brazilian merchant
    paid = await _pay(server, person, order_id, "pay-books-1")
    assert paid.status_code == 200, paid.text
    refunded = await _refund(server, biz, "BR-BOOKS-1", 1000)  # R$ 10.00 back to the card
    assert refunded.status_code == 200, refunded.text

    payable_key = merchant_payable_key(int(biz.waba_id), "BRL")
    # Fee 3.99 % of 110.00 = 4.389 -> 4.39 (half-up at the centavo); the refund returns 4.39 x 10 / 110 = 0.399 -> 0.40.
    assert await _balance(server, payable_key) == 110_000_000 - 4_390_000 - 10_000_000 + 400_000
    assert await _balance(server, payments_revenue_key("BRL")) == 4_390_000 - 400_000

    today = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, datetime.UTC).date()
    report = await reconcile(c.db, c.ledger.journal, today, today)
    assert report.ok, report.as_json()
    assert report.matched == 1

    statement = await merchant_statement(c.db, c.ledger.journal, int(biz.waba_id), today.strftime("%Y-%m"), "BRL")
    assert (statement.captures, statement.fees, statement.refunds, statement.fees_returned) == (
        110_000_000,
        4_390_000,
        10_000_000,
        400_000,
    )
    assert statement.closing == await _balance(server, payable_key) == 96_010_000

    # The young capture's net credit is held (pending); the refund came out of the available part, now below zero.
    [view] = await c.payouts.payables(int(biz.waba_id))
    assert (view.balance, view.available, view.held) == (96_010_000, 0, 105_610_000)
    # Nothing is paid out before the holding delay; after it, the whole payable goes to the bank.
    early = await c.payouts.run_due()
    assert early.paid == []
    server.clock.advance(hours=24 * 3)
    run = await c.payouts.run_due()
    assert [(p.amount, p.currency) for p in run.paid] == [(96_010_000, "BRL")]
    assert await _balance(server, payable_key) == 0

    # A chargeback after the payout: the payable goes below zero (what the merchant owes), the fee is kept.
    dispute = await c.disputes.open("BR-BOOKS-1", 50_000_000, reason="fraudulent")
    assert dispute.amount == 50_000_000
    assert await _balance(server, payable_key) == -50_000_000
    assert await _balance(server, payments_revenue_key("BRL")) == 3_990_000
    # A refund the payable no longer covers is refused and moves nothing.
    refused = await _refund(server, biz, "BR-BOOKS-1", 1000)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 131009
    assert await _balance(server, payable_key) == -50_000_000

    assert (await c.ledger.verify()).ok
