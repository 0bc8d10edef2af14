"""Orders a dead process left `processing` (claimed for a card payment, the card's answer never recorded) are
settled by the sweep from what the payment provider remembers, on the injected clock, across a restart."""

from __future__ import annotations

import asyncio
import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from parley import payments
from parley.cli.main import app
from parley.config import Settings
from parley.kit.clock import SystemClock
from parley.payments import CardDetails, SandboxStore, SandboxWalletProvider
from parley.payments.books import merchant_payable_key
from tests.conftest import LiveServer, User, running_server
from tests.integration.business_helpers import Biz
from tests.integration.test_merchant_payments import (
    DECLINED_CARD,
    GOOD_CARD,
    _balance,
    _pay,
    _payment_statuses,
    _send_order,
    _setup,
)

TOTAL = 110_000_000  # the order's 110.00 BRL in micros
FEE = 4_390_000  # Brazil's 3.99 %, half-up to the centavo


def _card(raw: dict[str, Any]) -> CardDetails:
    return payments.checked_card(raw["number"].replace(" ", ""), raw["exp_month"], raw["exp_year"], raw["cvc"])


def _sandbox_file(settings: Settings) -> Path:
    return settings.data_dir / "sandbox-provider.db"


def _card_network(settings: Settings) -> SandboxWalletProvider:
    """The sandbox as another client of the same provider sees it (its records live in the file)."""
    return SandboxWalletProvider(SystemClock(), SandboxStore(_sandbox_file(settings)))


async def _die_while_paying(
    server: LiveServer, person: User, order_id: str, key: str, card: dict[str, Any] | None
) -> payments.PaymentRow:
    """What a process killed mid-payment leaves: the payment created, the order claimed (`processing`) and, with
    `card`, the card charged (or declined) at the provider, but nothing of that answer recorded."""
    c = server.container
    payment = await c.payments.create(
        payer_kind="person",
        payer_id=int(person.user_id),
        purpose=f"order:{order_id}",
        amount=TOTAL,
        currency="BRL",
        idempotency_key=key,
    )
    await c.db.write("payments.order_claim", lambda conn: c.merchant_payments._claim_in(conn, int(order_id), payment))
    if card is not None:
        network = _card_network(server.settings)
        await network.confirm_payment(payment.provider_payment_id, _card(card))
        network.close()
    return payment


async def _order(server: LiveServer, person: User, order_id: str) -> dict[str, Any]:
    found = await server.http.get(f"/client/v1/orders/{order_id}", headers=person.headers)
    assert found.status_code == 200, found.text
    return dict(found.json())


async def _books_agree(server: LiveServer) -> None:
    report = await server.container.ledger.verify()
    assert report.ok, [check.problems for check in report.checks if not check.ok]
    today = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, datetime.UTC).date()
    c = server.container
    reconciled = await payments.reconcile(c.db, c.ledger.journal, today, today)
    assert reconciled.ok, reconciled.mismatches


async def _stuck_order(server: LiveServer, key: str, card: dict[str, Any] | None) -> tuple[Biz, User, str, Any]:
    biz, person = await _setup(server)
    _, order_id = await _send_order(server, biz, person)
    payment = await _die_while_paying(server, person, order_id, key, card)
    shown = await _order(server, person, order_id)
    assert (shown["payment_status"], shown["payable"]) == ("processing", False)
    return biz, person, order_id, payment


async def test_a_card_charged_before_the_crash_is_captured_once_after_a_restart(settings: Settings) -> None:
    async with running_server(settings) as first:
        biz, person, order_id, payment = await _stuck_order(first, "crash-1", GOOD_CARD)
    async with running_server(settings) as server:  # a new process: the sandbox answers from its file
        c = server.container
        assert await c.merchant_payments.settle_stuck() == 0  # not stuck long enough: it may still be in flight
        assert (await _order(server, person, order_id))["payment_status"] == "processing"
        server.clock.advance(minutes=2)
        # Two sweeps at once (two processes): one capture.
        assert sorted(await asyncio.gather(c.merchant_payments.settle_stuck(), c.merchant_payments.settle_stuck())) in (
            [0, 1],
            [1, 1],
        )
        shown = await _order(server, person, order_id)
        assert (shown["payment_status"], shown["payable"]) == ("paid", False)
        assert await _balance(server, merchant_payable_key(int(biz.waba_id), "BRL")) == TOTAL - FEE
        # The person's app retries the same payment after the restart: the first result, nothing charged again.
        retried = await _pay(server, person, order_id, "crash-1")
        assert retried.status_code == 200 and retried.json()["payment_status"] == "paid", retried.text
        assert await c.merchant_payments.settle_stuck() == 0
        assert await _balance(server, merchant_payable_key(int(biz.waba_id), "BRL")) == TOTAL - FEE
        captured = [s for s in await _payment_statuses(server, biz) if s["status"] == "captured"]
        assert len(captured) == 1
        assert captured[0]["payment"]["transaction"]["pg_transaction_id"] == payment.provider_payment_id
        network = _card_network(settings)
        assert [charge[1] for charge in network.charges()] == [payment.provider_payment_id]
        network.close()
        await _books_agree(server)


async def test_a_card_never_charged_is_canceled_at_the_provider_and_the_order_is_payable_again(
    settings: Settings,
) -> None:
    async with running_server(settings) as first:
        biz, person, order_id, payment = await _stuck_order(first, "crash-2", None)
    async with running_server(settings) as server:
        assert (await _pay(server, person, order_id, "another-try")).status_code == 409  # still claimed
        server.clock.advance(minutes=2)
        assert await server.container.merchant_payments.settle_stuck() == 1
        shown = await _order(server, person, order_id)
        assert (shown["payment_status"], shown["payable"]) == ("failed", True)
        assert [s["status"] for s in await _payment_statuses(server, biz)] == ["pending", "failed"]
        # The dead process's payment, confirmed late (the app retries), cannot charge the card any more.
        late = await _pay(server, person, order_id, "crash-2")
        assert late.status_code == 402 and late.json()["error"]["code"] == "card_declined", late.text
        network = _card_network(settings)
        assert network.charges() == []
        # A new payment goes through as usual.
        paid = await _pay(server, person, order_id, "crash-2-again")
        assert paid.status_code == 200 and paid.json()["payment_status"] == "paid", paid.text
        assert [charge[1] for charge in network.charges()] != [payment.provider_payment_id]
        assert len(network.charges()) == 1
        network.close()
        assert await _balance(server, merchant_payable_key(int(biz.waba_id), "BRL")) == TOTAL - FEE
        await _books_agree(server)


async def test_a_declined_card_whose_answer_was_lost_fails_the_order(server: LiveServer) -> None:
    biz, person, order_id, _ = await _stuck_order(server, "crash-3", DECLINED_CARD)
    server.clock.advance(minutes=2)
    assert await server.container.merchant_payments.settle_stuck() == 1
    assert await server.container.merchant_payments.settle_stuck() == 0
    shown = await _order(server, person, order_id)
    assert (shown["payment_status"], shown["payable"]) == ("failed", True)
    failed = [s for s in await _payment_statuses(server, biz) if s["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["payment"]["transaction"]["status"] == "failed"
    assert await _balance(server, merchant_payable_key(int(biz.waba_id), "BRL")) == 0
    await _books_agree(server)


async def test_a_payment_the_provider_does_not_know_fails_the_order(settings: Settings) -> None:
    async with running_server(settings) as first:
        biz, person, order_id, _ = await _stuck_order(first, "crash-4", None)
    for leftover in settings.data_dir.glob("sandbox-provider.db*"):
        leftover.unlink()  # a provider that forgot the payment (it never reached it, as far as it knows)
    async with running_server(settings) as server:
        server.clock.advance(minutes=2)
        assert await server.container.merchant_payments.settle_stuck() == 1
        shown = await _order(server, person, order_id)
        assert (shown["payment_status"], shown["payable"]) == ("failed", True)
        assert [s["status"] for s in await _payment_statuses(server, biz)] == ["pending", "failed"]
        await _books_agree(server)


async def test_the_cli_settles_stuck_orders(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_server(settings) as first:
        _, person, order_id, _ = await _stuck_order(first, "crash-5", GOOD_CARD)
    for name, value in {
        "PARLEY_DATA_DIR": str(settings.data_dir),
        "PARLEY_DATABASE_URL": settings.resolved_database_url,
        "PARLEY_SECRET_KEY": settings.secret_key,
        "PARLEY_DEV_SHOW_CODES": "true",
        "PARLEY_WEBHOOKS__DELIVER": "false",
        "PARLEY_PAYMENTS__SETTLE_AFTER_S": "0",  # the CLI's clock is the real one: no waiting here
    }.items():
        monkeypatch.setenv(name, value)
    result = await asyncio.to_thread(CliRunner().invoke, app, ["payments", "settle", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"orders": 1, "wallet_funding": 0}
    async with running_server(settings) as server:
        assert (await _order(server, person, order_id))["payment_status"] == "paid"
        await _books_agree(server)
