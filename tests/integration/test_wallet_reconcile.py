"""People's wallet money in the reconciliation report: top-ups and withdrawals made through the client API agree
with the ledger (a failed payout put back in the wallet too), one still in flight is listed until the provider
answers, and each kind of disagreement is listed and fails `parley payments reconcile`."""

from __future__ import annotations

import asyncio
import datetime
import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from parley import payments
from parley.business import parse_wamid
from parley.cli.main import app
from parley.config import PersonPaySettings, Settings
from parley.payments.wallet_models import wallet_funding
from tests.conftest import LiveServer, User
from tests.integration.business_helpers import create_business, person_writes, send
from tests.integration.test_merchant_payments import brazil_order

API = "/client/v1"
CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}


@pytest.fixture
def settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The sweep stays off (the tests look payments up themselves); the CLI reads the same database."""
    for name, value in {
        "PARLEY_DATA_DIR": str(settings.data_dir),
        "PARLEY_DATABASE_URL": settings.resolved_database_url,
        "PARLEY_SECRET_KEY": settings.secret_key,
        "PARLEY_WEBHOOKS__DELIVER": "false",
        "COLUMNS": "220",
    }.items():
        monkeypatch.setenv(name, value)
    return settings.model_copy(update={"person_pay": PersonPaySettings(sweep_interval_s=0)})


def _days(server: LiveServer) -> tuple[datetime.date, datetime.date]:
    # A day either side: the test may run across midnight UTC.
    today = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, datetime.UTC).date()
    return today - datetime.timedelta(days=1), today + datetime.timedelta(days=1)


async def _report(server: LiveServer) -> payments.ReconcileReport:
    c = server.container
    return await payments.reconcile(c.db, c.ledger.journal, *_days(server))


async def _cli(server: LiveServer) -> tuple[int, Any]:
    start, end = _days(server)
    args = ["payments", "reconcile", "--from", start.isoformat(), "--to", end.isoformat(), "--json"]
    # The command runs its own event loop: off this one's thread.
    result = await asyncio.to_thread(CliRunner().invoke, app, args)
    return result.exit_code, json.loads(result.stdout)


async def _top_up(server: LiveServer, user: User, amount: str, **method: Any) -> httpx.Response:
    body = {"amount": amount, "currency": "BRL", **(method or {"method": "card", "card": CARD})}
    headers = {**user.headers, "Idempotency-Key": uuid.uuid4().hex}
    return await server.http.post(f"{API}/wallet/topups", headers=headers, json=body)


async def _withdraw(server: LiveServer, user: User, amount: str, pix_key: str) -> httpx.Response:
    body = {"amount": amount, "currency": "BRL", "method": "pix", "pix_key": pix_key}
    headers = {**user.headers, "Idempotency-Key": uuid.uuid4().hex}
    return await server.http.post(f"{API}/wallet/withdrawals", headers=headers, json=body)


async def _funding(server: LiveServer, user: User) -> dict[str, tuple[str, str]]:
    """The person's top-ups and withdrawals by amount: (funding id, the provider's id). A declined one's id is not
    in the 402 answer: the operator finds it in `wallet_funding`, as here."""
    rows = await server.container.wallets.recent(int(user.user_id))
    return {f"{r.amount / 1_000_000:.2f}": (str(r.id), r.provider_payment_id or "") for r in rows}


async def _tamper(server: LiveServer, funding_id: str, **values: Any) -> None:
    """What the provider's side says changed behind the ledger's back (its record of the payment, not the books)."""
    await server.container.db.write(
        "test.tamper",
        lambda conn: conn.execute(
            update(wallet_funding).where(wallet_funding.c.id == int(funding_id)).values(**values)
        ),
    )


async def test_wallet_top_ups_and_withdrawals_agree_with_the_ledger(server: LiveServer) -> None:
    ana = await server.user("Ana", phone="+5511987650301")
    assert (await _top_up(server, ana, "100.00")).json()["status"] == "succeeded"
    assert (await _top_up(server, ana, "10.00", method="upi", vpa="success@parley")).status_code == 200
    assert (await _top_up(server, ana, "7.00", method="upi", vpa="failure@parley")).status_code == 402
    code = await _top_up(server, ana, "5.00", method="pix", pix_key="otp@pix.parley")
    assert code.json()["status"] == "requires_action"
    done = await server.http.post(
        f"{API}/wallet/topups/{code.json()['id']}/confirm", headers=ana.headers, json={"code": "123456"}
    )
    assert done.json()["status"] == "succeeded"
    assert (await _withdraw(server, ana, "30.00", "success@pix.parley")).json()["status"] == "succeeded"
    assert (await _withdraw(server, ana, "12.00", "failure@pix.parley")).status_code == 402  # put back

    report = await _report(server)
    assert report.ok, report.mismatches
    # Three top-ups and one payout; the declined top-up and the returned payout moved nothing in the end.
    assert (report.provider_payments, report.ledger_transfers, report.matched) == (4, 4, 4)
    assert await _cli(server) == (0, report.as_json())

    # A payout the provider has not answered: the wallet paid it, the provider has not; listed until it ends.
    slow = await _withdraw(server, ana, "20.00", "timeout@pix.parley")
    assert slow.json()["status"] == "processing"
    pending = (await _report(server)).mismatches
    assert [(m.kind, m.ledger_amount, m.transfers) for m in pending] == [
        ("missing_at_provider", 20_000_000, (f"wallet:withdrawal:{slow.json()['id']}",))
    ]
    assert "processing" in pending[0].detail
    exit_code, listed = await _cli(server)
    assert exit_code == 1 and [m["kind"] for m in listed["mismatches"]] == ["missing_at_provider"]

    looked = await server.http.get(f"{API}/wallet/withdrawals/{slow.json()['id']}", headers=ana.headers)
    assert looked.json()["status"] == "succeeded"
    settled = await _report(server)
    assert settled.ok, settled.mismatches
    assert (settled.provider_payments, settled.matched) == (5, 5)
    assert (await server.container.ledger.verify()).ok


async def test_each_wallet_disagreement_is_listed(server: LiveServer) -> None:
    bia = await server.user("Bia", phone="+5511987650302")
    short = await _top_up(server, bia, "25.00")
    declined = await _top_up(server, bia, "8.00", method="upi", vpa="failure@parley")
    fine = await _top_up(server, bia, "50.00", method="pix", pix_key="success@pix.parley")
    paid = await _withdraw(server, bia, "10.00", "success@pix.parley")
    refused = await _withdraw(server, bia, "6.00", "failure@pix.parley")
    assert [r.status_code for r in (short, declined, fine, paid, refused)] == [200, 402, 200, 200, 402]
    assert (await _report(server)).ok

    # The provider took 25.10 for the first top-up, confirmed the declined one after all, says the paid-out
    # withdrawal failed (yet the wallet never got it back) and paid out the one the wallet took back.
    rows = await _funding(server, bia)
    await _tamper(server, rows["25.00"][0], amount=25_100_000)
    await _tamper(server, rows["8.00"][0], status="succeeded")
    await _tamper(server, rows["10.00"][0], status="failed")
    await _tamper(server, rows["6.00"][0], status="succeeded")

    report = await _report(server)
    ids = {
        name: rows[amount][1]
        for name, amount in [("short", "25.00"), ("declined", "8.00"), ("paid", "10.00"), ("refused", "6.00")]
    }
    assert all(ids.values())
    found = {(m.kind, m.provider_payment_id): m for m in report.mismatches}
    assert set(found) == {
        ("amount_mismatch", ids["short"]),
        ("missing_in_ledger", ids["declined"]),
        ("missing_at_provider", ids["paid"]),
        ("missing_in_ledger", ids["refused"]),
    }
    mismatch = found[("amount_mismatch", ids["short"])]
    assert (mismatch.provider_amount, mismatch.ledger_amount) == (25_100_000, 25_000_000)
    assert "returned it to the wallet" in found[("missing_in_ledger", ids["refused"])].detail
    assert "says it is failed" in found[("missing_at_provider", ids["paid"])].detail
    assert report.matched == 1  # the Pix top-up

    exit_code, listed = await _cli(server)
    assert exit_code == 1
    assert sorted(m["kind"] for m in listed["mismatches"]) == [
        "amount_mismatch",
        "missing_at_provider",
        "missing_in_ledger",
        "missing_in_ledger",
    ]


async def test_an_order_paid_from_a_topped_up_wallet_reconciles(server: LiveServer) -> None:
    biz = await create_business(server, "Loja Carteira")
    caio = await server.user("Caio", phone="+5511987650303")
    await person_writes(server, caio, biz)
    assert (await _top_up(server, caio, "150.00")).json()["status"] == "succeeded"
    pin = await server.http.put(f"{API}/wallet/pin", headers=caio.headers, json={"pin": "1234"})
    assert pin.status_code == 204
    sent = await send(server, biz, brazil_order(caio, "W-1", server.clock.now_ms() // 1000 + 3600))
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["id"]
    order = (await server.http.get(f"{API}/messages/{parse_wamid(wamid)}/order", headers=caio.headers)).json()
    paid = await server.http.post(
        f"{API}/orders/{order['id']}/pay",
        headers={**caio.headers, "Idempotency-Key": uuid.uuid4().hex},
        json={"method": "wallet", "pin": "1234"},
    )
    assert paid.status_code == 200 and paid.json()["payment_status"] == "paid", paid.text

    # The provider saw the top-up only: the order moved money inside Parley, from the wallet to the merchant.
    report = await _report(server)
    assert report.ok, report.mismatches
    assert (report.provider_payments, report.matched) == (1, 1)
