"""`parley ledger verify` as an operator runs it: a table (or JSON), and exit status 0 only for a sound ledger."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from parley.cli.main import app
from parley.config import Settings
from parley.container import build_container
from parley.platform.db import create_database
from tests.integration.test_ledger_properties import behind_the_ledgers_back

CHECKS = {
    "debits equal credits in every currency",
    "one transfer per key",
    "posted transfers unchanged (digests match, references intact)",
    "no account below its floor",
    "every hold resolved at most once, within its amount",
    "every account's totals equal its journal",
}


@pytest.fixture
def operator_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in {
        "PARLEY_DATA_DIR": str(settings.data_dir),
        "PARLEY_DATABASE_URL": settings.resolved_database_url,
        "PARLEY_SECRET_KEY": settings.secret_key,
        "PARLEY_WEBHOOKS__DELIVER": "false",
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)
    return settings


def _business_with_money(settings: Settings) -> int:
    """A business (its trial credit), two top-ups and a credit line: three transfers on three accounts."""

    async def create() -> int:
        c = build_container(settings)
        await c.start()
        try:
            waba_id = (await c.business.create_business("Ledger Shop", "+14155559101")).waba_id
            await c.billing.topup(waba_id, 25_500_000, reference="bank-1")
            await c.billing.topup(waba_id, 1, reference="bank-2")
            await c.billing.set_credit_line(waba_id, 100_000_000)
            return waba_id
        finally:
            await c.close()

    return asyncio.run(create())


def _verify(*args: str) -> Any:
    return CliRunner().invoke(app, ["ledger", "verify", *args])


def test_an_empty_ledger_verifies(operator_env: Settings) -> None:
    result = _verify("--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["ok"], report["transfers"], report["accounts"]) == (True, 0, 0)


def test_verify_passes_on_a_sound_ledger(operator_env: Settings) -> None:
    _business_with_money(operator_env)

    result = _verify("--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["ok"], report["transfers"], report["accounts"]) == (True, 3, 3)
    assert {c["name"] for c in report["checks"]} == CHECKS
    assert all(c["ok"] and c["problems"] == [] for c in report["checks"])

    table = _verify()
    assert table.exit_code == 0, table.output
    assert "3 transfers, 3 accounts" in table.stdout
    for name in CHECKS:
        assert name in table.stdout
    assert "FAILED" not in table.stdout and "every check passed" in table.stdout


def test_verify_fails_with_the_tampered_transfer_named(operator_env: Settings) -> None:
    waba_id = _business_with_money(operator_env)

    async def tamper() -> None:
        db = create_database(operator_env.resolved_database_url)
        try:
            await behind_the_ledgers_back(
                db, f"UPDATE ledger_transfers SET amount = amount + 1000000 WHERE key = 'topup:{waba_id}:bank-2'"
            )
        finally:
            await db.close()

    asyncio.run(tamper())

    result = _verify("--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False
    failed = {c["name"]: c["problems"] for c in report["checks"] if not c["ok"]}
    assert set(failed) == {
        "posted transfers unchanged (digests match, references intact)",
        "every account's totals equal its journal",
    }
    assert any(
        f"topup:{waba_id}:bank-2" in p for p in failed["posted transfers unchanged (digests match, references intact)"]
    )
    assert any(f"waba:{waba_id}:wallet" in p for p in failed["every account's totals equal its journal"])

    table = _verify()
    assert table.exit_code == 1
    assert "FAILED" in table.stdout and f"topup:{waba_id}:bank-2" in table.stdout
    assert "the ledger is not sound" in table.stdout
