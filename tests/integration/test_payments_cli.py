"""`parley payments payouts …` and `parley payments dispute …` as the operator runs them: amounts in currency
units, exact; a second run the same day pays nothing more; a dispute opened twice claws back once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from parley.cli.main import app
from parley.config import Settings
from parley.kit.clock import FrozenClock
from tests.integration.pay_helpers import START_MS, card_payment, pay_container

BRL = 1_000_000


@pytest.fixture
def waba_id(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> int:
    """A merchant with two card sales weeks ago (matured for the CLI's real clock)."""

    async def sales() -> int:
        async with pay_container(settings, FrozenClock(START_MS)) as c:
            waba = (await c.business.create_business("Loja Cli", "+5511987650041")).waba_id
            await card_payment(c, waba_id=waba, amount=100 * BRL, fee=3_990_000, reference_id="cli-1")
            await card_payment(c, waba_id=waba, amount=25_500_000, fee=1_017_450, reference_id="cli-2")
            return waba

    created = asyncio.run(sales())
    for name, value in {
        "PARLEY_DATA_DIR": str(settings.data_dir),
        "PARLEY_DATABASE_URL": settings.resolved_database_url,
        "PARLEY_SECRET_KEY": settings.secret_key,
        "PARLEY_DEV_SHOW_CODES": "true",
        "PARLEY_WEBHOOKS__DELIVER": "false",
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)
    return created


def _json(args: list[str], exit_code: int = 0) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == exit_code, result.output
    return json.loads(result.stdout)


def test_a_dispute_then_the_payout_run_and_the_merchants_payouts(waba_id: int) -> None:
    opened = _json(["payments", "dispute", "open", "cli-2", "--amount", "25.50", "--reason", "fraudulent"])
    assert (opened["amount"], opened["status"], opened["reference_id"]) == ("25.50", "open", "cli-2")
    assert _json(["payments", "dispute", "open", "cli-2", "--amount", "25.50"])["id"] == opened["id"]  # once
    listed = _json(["payments", "payouts", "list", str(waba_id)])
    # 96.01 + 24.48255 captured net, less the 25.50 chargeback (its fee stays with the platform).
    assert listed["payables"] == [{"currency": "BRL", "balance": "94.99255", "available": "94.99", "held": "0.00"}]

    run = _json(["payments", "payouts", "run"])
    assert [(p["waba_id"], p["amount"], p["status"]) for p in run["paid"]] == [(str(waba_id), "94.99", "paid")]
    again = _json(["payments", "payouts", "run"])
    assert (again["paid"], again["already_paid"]) == ([], 1)
    table = CliRunner().invoke(app, ["payments", "payouts", "list", str(waba_id)])
    assert table.exit_code == 0 and "po_sandbox_" in table.stdout and "0.00255" in table.stdout

    won = _json(["payments", "dispute", "won", opened["id"]])
    assert won["status"] == "won"
    assert _json(["payments", "payouts", "list", str(waba_id)])["payables"][0]["balance"] == "25.50255"
    assert [d["status"] for d in _json(["payments", "dispute", "list", "--waba", str(waba_id)])["data"]] == ["won"]
    assert CliRunner().invoke(app, ["ledger", "verify"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dispute", "open", "cli-1", "--amount", "-5"], "negative"),
        (["dispute", "open", "cli-1", "--amount", "1e3"], "exponent"),
        (["dispute", "open", "cli-1", "--amount", "100.01"], "at most the captured amount"),
        (["dispute", "open", "nothing-such", "--amount", "1"], "no card capture"),
        (["dispute", "lost", "42"], "no dispute"),
        (["statement", "--waba", "{waba}", "--month", "2026-13"], "YYYY-MM"),
    ],
)
def test_bad_commands_say_why_and_change_nothing(waba_id: int, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["payments", *(a.format(waba=waba_id) for a in args)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert _json(["payments", "dispute", "list"])["data"] == []
    assert _json(["payments", "payouts", "list", str(waba_id)])["payables"][0]["balance"] == "120.49255"
