"""The reconciliation report as an operator reads it: each kind of disagreement between the provider's payments
and the ledger is listed with what identifies it, refunds, payouts and disputes are not mistaken for one, and
`parley payments reconcile` exits 0 only when the books agree (1 otherwise), as a table or JSON."""

from __future__ import annotations

import asyncio
import datetime
import json

import pytest
from typer.testing import CliRunner

from parley import payments
from parley.cli.main import app
from parley.config import Settings
from parley.container import Container
from parley.kit.clock import FrozenClock
from tests.integration.pay_helpers import START_MS, card_payment, pay_container, post_capture_in, refund_in, write

BRL = 1_000_000
NOVEMBER = (datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))


async def _report(c: Container, start: datetime.date, end: datetime.date) -> payments.ReconcileReport:
    return await payments.reconcile(c.db, c.ledger.journal, start, end)


async def _clean_books(c: Container) -> int:
    """A paid order refunded, another paid out, a third disputed and won: every movement explained."""
    waba = (await c.business.create_business("Loja Limpa", "+5511987650021")).waba_id
    await card_payment(c, waba_id=waba, amount=10 * BRL, fee=399_000, reference_id="order-1")
    refunded = await card_payment(c, waba_id=waba, amount=20 * BRL, fee=798_000, reference_id="order-2")
    await card_payment(c, waba_id=waba, amount=30 * BRL, fee=1_197_000, reference_id="order-3")
    key = f"capture:{refunded.payment.provider_payment_id}"
    await write(c, lambda conn: refund_in(conn, c.ledger.journal, key, "refund-1"))
    dispute = await c.disputes.open("order-3", 5 * BRL)
    await c.disputes.resolve(dispute.id, "won")
    c.clock.advance(hours=49)  # type: ignore[attr-defined]
    assert (await c.payouts.run_due()).paid
    return waba


async def test_clean_books_agree(settings: Settings) -> None:
    async with pay_container(settings, FrozenClock(START_MS)) as c:
        await _clean_books(c)
        report = await _report(c, *NOVEMBER)
        assert report.ok, report.mismatches
        assert (report.provider_payments, report.ledger_transfers, report.matched) == (3, 3, 3)
        assert (await c.ledger.verify()).ok


async def test_every_kind_of_mismatch_is_listed(settings: Settings) -> None:
    async with pay_container(settings, FrozenClock(START_MS)) as c:
        waba = (await c.business.create_business("Loja Torta", "+5511987650022")).waba_id
        journal = c.ledger.journal
        await card_payment(c, waba_id=waba, amount=10 * BRL, fee=0, reference_id="fine")
        lost = await card_payment(c, waba_id=waba, amount=11 * BRL, fee=0, reference_id="unposted", post=False)
        await write(
            c,
            lambda conn: post_capture_in(
                conn,
                journal,
                waba_id=waba,
                amount=12 * BRL,
                fee=0,
                currency="BRL",
                reference_id="ghost",
                provider_payment_id="pi_sandbox_never_charged",
            ),
        )
        short = await card_payment(
            c, waba_id=waba, amount=13 * BRL, fee=0, reference_id="short", posted_amount=12_990_000
        )
        twice = await card_payment(c, waba_id=waba, amount=14 * BRL, fee=0, reference_id="twice")
        await write(
            c,
            lambda conn: post_capture_in(
                conn,
                journal,
                waba_id=waba,
                amount=14 * BRL,
                fee=0,
                currency="BRL",
                reference_id="twice",
                provider_payment_id=twice.payment.provider_payment_id,
                key="capture:again",
            ),
        )
        # One order paid by two provider payments, each matched on its own.
        await card_payment(c, waba_id=waba, amount=15 * BRL, fee=0, reference_id="order-7")
        await card_payment(
            c, waba_id=waba, amount=15 * BRL, fee=0, reference_id="order-7", idempotency_key="order-7-again"
        )

        report = await _report(c, *NOVEMBER)
        found = {(m.kind, m.provider_payment_id, m.reference_id) for m in report.mismatches}
        assert found == {
            ("missing_in_ledger", lost.payment.provider_payment_id, None),
            ("missing_at_provider", "pi_sandbox_never_charged", "ghost"),
            ("amount_mismatch", short.payment.provider_payment_id, "short"),
            ("duplicate", twice.payment.provider_payment_id, "twice"),
            ("duplicate", None, "order-7"),
        }
        by_kind = {m.kind: m for m in report.mismatches if m.reference_id != "order-7"}
        assert (by_kind["amount_mismatch"].provider_amount, by_kind["amount_mismatch"].ledger_amount) == (
            13 * BRL,
            12_990_000,
        )
        assert by_kind["duplicate"].transfers == (f"capture:{twice.payment.provider_payment_id}", "capture:again")
        assert not report.ok and report.matched == 3  # fine and both payments of order-7

        # Outside the range, nothing is reported; the day itself (both ends included) has all of it.
        assert (await _report(c, datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))).ok
        day = datetime.date(2026, 11, 10)
        assert len((await _report(c, day, day)).mismatches) == 5


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in {
        "PARLEY_DATA_DIR": str(settings.data_dir),
        "PARLEY_DATABASE_URL": settings.resolved_database_url,
        "PARLEY_SECRET_KEY": settings.secret_key,
        "PARLEY_DEV_SHOW_CODES": "true",
        "PARLEY_WEBHOOKS__DELIVER": "false",
        "COLUMNS": "220",
    }.items():
        monkeypatch.setenv(name, value)
    return settings


def test_the_command_exits_0_on_clean_books_and_1_on_a_mismatch(cli_env: Settings) -> None:
    async def books(broken: bool) -> None:
        # Each container's frozen clock starts later than the last one's ids (a restart, days later).
        async with pay_container(cli_env, FrozenClock(START_MS + (5 if broken else 0) * 86_400_000)) as c:
            if broken:
                waba = (await c.business.create_business("Loja Rota", "+5511987650023")).waba_id
                await card_payment(c, waba_id=waba, amount=9 * BRL, fee=0, reference_id="lost", post=False)
            else:
                await _clean_books(c)

    asyncio.run(books(broken=False))
    args = ["payments", "reconcile", "--from", "2026-11-01", "--to", "2026-11-30"]
    clean = CliRunner().invoke(app, args)
    assert clean.exit_code == 0, clean.output
    assert "3 provider payments, 3 ledger transfers, 3 matched" in clean.stdout and "agree" in clean.stdout

    asyncio.run(books(broken=True))
    table = CliRunner().invoke(app, args)
    assert table.exit_code == 1 and "missing_in_ledger" in table.stdout
    as_json = CliRunner().invoke(app, [*args, "--json"])
    assert as_json.exit_code == 1
    document = json.loads(as_json.stdout)
    assert document["ok"] is False and [m["kind"] for m in document["mismatches"]] == ["missing_in_ledger"]
    assert document["mismatches"][0]["provider_amount"] == "9.00"

    refused = CliRunner().invoke(app, ["payments", "reconcile", "--from", "2026-11-30", "--to", "2026-11-01"])
    assert refused.exit_code == 2
