"""A merchant's monthly Parley Pay statement, to the micro: opening payable, gross captures and their fees,
refunds with the fees they gave back, a chargeback, a payout and one the bank returned, closing payable; the
closing equals the payable account's balance at the month's end and the next month opens from it. The operator's
revenue report shows the payments lever from the same postings."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from parley import payments
from parley.cli.main import app
from parley.config import Settings
from parley.container import Container
from parley.kit.clock import FrozenClock
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.payments.books import merchant_payable_key
from tests.integration.pay_helpers import balance, card_payment, pay_container, refund_in, write

BRL = 1_000_000
OCT_30_NOON = 1_793_361_600_000


async def _a_month_of_sales(c: Container) -> int:
    clock: FrozenClock = c.clock  # type: ignore[assignment]
    waba = (await c.business.create_business("Loja do Mês", "+5511987650031")).waba_id
    await card_payment(c, waba_id=waba, amount=10 * BRL, fee=399_000, reference_id="october")
    clock.advance(hours=60)  # 2 November, 00:00 UTC
    assert [p.amount for p in (await c.payouts.run_due()).paid] == [9_600_000]
    await card_payment(c, waba_id=waba, amount=100 * BRL, fee=3_990_000, reference_id="big")
    odd = await card_payment(c, waba_id=waba, amount=33_330_000, fee=1_329_867, reference_id="odd")
    clock.advance(hours=24)
    key = f"capture:{odd.payment.provider_payment_id}"
    await write(c, lambda conn: refund_in(conn, c.ledger.journal, key, "refund-odd"))
    clock.advance(hours=24)
    dispute = await c.disputes.open("big", 5 * BRL)
    await c.disputes.resolve(dispute.id, "lost")
    clock.advance(hours=24)
    assert c.payouts.bank is not None
    c.payouts.bank.close_account(waba)  # type: ignore[attr-defined]
    assert [p.amount for p in (await c.payouts.run_due()).failed] == [91_010_000]
    clock.advance(hours=24 * 26)  # 1 December
    await card_payment(c, waba_id=waba, amount=7 * BRL, fee=0, reference_id="december")
    return waba


async def test_a_month_adds_up_to_the_micro_and_ties_to_the_ledger(settings: Settings) -> None:
    async with pay_container(settings, FrozenClock(OCT_30_NOON)) as c:
        waba = await _a_month_of_sales(c)
        november = await payments.merchant_statement(c.db, c.ledger.journal, waba, "2026-11", "BRL")
        assert dict((key, amount) for key, _label, amount in november.lines()) == {
            "opening": 9_601_000,
            "captures": 133_330_000,
            "fees": -5_319_867,
            "refunds": -33_330_000,
            "fees_returned": 1_329_867,
            "disputes": -5_000_000,
            "disputes_won": 0,
            "payouts": -100_610_000,
            "payouts_returned": 91_010_000,
            "other": 0,
            "closing": 91_011_000,
        }
        # The closing is the account's balance at the month's end: today's less December's capture.
        assert november.closing == await balance(c, merchant_payable_key(waba, "BRL")) - 7 * BRL
        october = await payments.merchant_statement(c.db, c.ledger.journal, waba, "2026-10", "BRL")
        assert (october.opening, october.captures, october.fees, october.closing) == (
            0,
            10 * BRL,
            399_000,
            november.opening,
        )
        december = await payments.merchant_statement(c.db, c.ledger.journal, waba, "2026-12", "BRL")
        assert (december.opening, december.captures, december.closing) == (91_011_000, 7 * BRL, 98_011_000)
        assert november.as_json()["lines"]["fees"] == "-5.319867"
        assert await payments.payable_currencies(c.db, c.ledger.journal, waba) == ["BRL"]
        for month, currency, error in (("2026-13", "BRL", InvalidInputError), ("2026-11", "USD", NotFoundError)):
            with pytest.raises(error):
                await payments.merchant_statement(c.db, c.ledger.journal, waba, month, currency)
        assert (await c.ledger.verify()).ok


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in {
        "PARLEY_DATA_DIR": str(settings.data_dir),
        "PARLEY_DATABASE_URL": settings.resolved_database_url,
        "PARLEY_SECRET_KEY": settings.secret_key,
        "PARLEY_DEV_SHOW_CODES": "true",
        "PARLEY_WEBHOOKS__DELIVER": "false",
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)
    return settings


def test_the_statement_and_revenue_commands_show_the_same_money(cli_env: Settings) -> None:
    async def story() -> int:
        async with pay_container(cli_env, FrozenClock(OCT_30_NOON)) as c:
            return await _a_month_of_sales(c)

    waba = asyncio.run(story())
    shown = CliRunner().invoke(app, ["payments", "statement", "--waba", str(waba), "--month", "2026-11", "--json"])
    assert shown.exit_code == 0, shown.output
    [document] = json.loads(shown.stdout)["data"]
    assert document["lines"]["captures"] == "133.33" and document["lines"]["closing"] == "91.011"
    table = CliRunner().invoke(app, ["payments", "statement", "--waba", str(waba), "--month", "2026-11"])
    assert table.exit_code == 0 and "Fees returned on refunds" in table.stdout and "1.329867" in table.stdout
    unknown = CliRunner().invoke(app, ["payments", "statement", "--waba", "999", "--month", "2026-11"])
    assert unknown.exit_code == 2

    revenue = CliRunner().invoke(app, ["billing", "revenue", "--from", "2026-11-01", "--to", "2026-11-30", "--json"])
    assert revenue.exit_code == 0, revenue.output
    levers = {(lever["lever"], lever["currency"]): lever for lever in json.loads(revenue.stdout)["by_lever"]}
    # Two fees less the one a refund returned; October's fee belongs to October.
    assert levers[("payments", "BRL")] == {"lever": "payments", "currency": "BRL", "revenue": "3.99", "postings": 3}
    shown_table = CliRunner().invoke(app, ["billing", "revenue", "--from", "2026-11-01", "--to", "2026-11-30"])
    assert shown_table.exit_code == 0 and "payments" in shown_table.stdout
    verify = CliRunner().invoke(app, ["ledger", "verify"])
    assert verify.exit_code == 0, verify.output
