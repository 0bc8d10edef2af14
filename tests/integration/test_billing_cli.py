"""`parley billing ...` as the operator runs it: amounts in currency units, exact, idempotent by reference."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parley.cli.main import app
from parley.config import Settings
from parley.container import build_container


@pytest.fixture
def waba_id(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> int:
    async def create() -> int:
        c = build_container(settings)
        await c.start()
        try:
            return (await c.business.create_business("Cli Shop", "+14155559001")).waba_id
        finally:
            await c.close()

    created = asyncio.run(create())
    for name, value in {
        "PARLEY_DATA_DIR": str(settings.data_dir),
        "PARLEY_DATABASE_URL": settings.resolved_database_url,
        "PARLEY_SECRET_KEY": settings.secret_key,
        "PARLEY_WEBHOOKS__DELIVER": "false",
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)
    return created


def _json(args: list[str]) -> dict[str, str]:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    parsed: dict[str, str] = json.loads(result.stdout)
    return parsed


def test_topup_credit_line_and_balance(waba_id: int) -> None:
    assert _json(["billing", "balance", str(waba_id), "--json"]) == {
        "currency": "USD",
        "balance": "10.00",
        "credit_line": "0.00",
    }
    assert _json(["billing", "topup", str(waba_id), "25.50", "--json"])["balance"] == "35.50"
    # A payment reference credits once, however often the command is retried.
    for _ in range(2):
        assert _json(["billing", "topup", str(waba_id), "0.0001", "--reference", "bank-7", "--json"])["balance"] == (
            "35.5001"
        )
    assert _json(["billing", "credit-line", str(waba_id), "500", "--json"]) == {
        "currency": "USD",
        "balance": "35.5001",
        "credit_line": "500.00",
    }
    table = CliRunner().invoke(app, ["billing", "balance", str(waba_id)])
    assert table.exit_code == 0 and "535.5001" in table.stdout  # available = balance + credit line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["topup", "{waba}", "-5"], "amount"),
        (["topup", "{waba}", "1e3"], "amount"),
        (["topup", "{waba}", "0.0000001"], "amount"),
        (["topup", "999", "5"], "no business account"),
        (["credit-line", "{waba}", "abc"], "limit"),
        (["balance", "999"], "no business account"),
    ],
)
def test_bad_commands_say_why_and_change_nothing(waba_id: int, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["billing", *(a.format(waba=waba_id) for a in args)])
    assert result.exit_code != 0
    assert message in result.output
    assert _json(["billing", "balance", str(waba_id), "--json"])["balance"] == "10.00"


def test_load_card_rejects_a_bad_file_with_its_line_and_accepts_a_good_one(waba_id: int, tmp_path: Path) -> None:
    header = "market,country_codes,currency,pricing_model,marketing,utility,authentication,"
    header += "authentication_international,effective,note\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "Other,all calling codes not mapped elsewhere,USD,PMP,abc,0.01,0.01,,2027-01-01,x\n")
    refused = CliRunner().invoke(app, ["billing", "load-card", str(bad), "--price-list", "resale"])
    assert refused.exit_code != 0 and "line 2" in refused.output
    good = tmp_path / "good.csv"
    good.write_text(header + "Other,all calling codes not mapped elsewhere,USD,PMP,0.05,0.01,0.01,,2027-01-01,x\n")
    loaded = CliRunner().invoke(app, ["billing", "load-card", str(good), "--price-list", "resale", "--markup", "10"])
    assert loaded.exit_code == 0, loaded.output
    assert "2027-01-01" in loaded.stdout and "10 %" in loaded.stdout
    shown = CliRunner().invoke(app, ["billing", "cards", "--price-list", "resale"])
    assert "0.055" in shown.stdout  # 0.05 + 10 %
    profile = CliRunner().invoke(app, ["billing", "profile", str(waba_id), "--price-list", "resale"])
    assert profile.exit_code == 0 and json.loads(profile.stdout)["price_list"] == "resale"
