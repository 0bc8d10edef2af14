"""`parley channels verify` as the operator runs it: the verified mark shows in the directory, and goes again."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import Result
from typer.testing import CliRunner

from parley.cli.main import app
from tests.conftest import LiveServer
from tests.integration.channel_helpers import API, make_channel


async def cli(args: list[str]) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, app, args)  # the CLI runs its own event loop


async def test_operator_verifies_a_channel(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = await server.user()
    channel = await make_channel(server, owner, "Town Hall")
    for name, value in {
        "PARLEY_DATA_DIR": str(server.settings.data_dir),
        "PARLEY_DATABASE_URL": server.settings.resolved_database_url,
        "PARLEY_SECRET_KEY": server.settings.secret_key,
        "PARLEY_WEBHOOKS__DELIVER": "false",
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)

    async def verified() -> bool:
        listed = await server.http.get(f"{API}/directory", headers=owner.headers, params={"q": "town"})
        return bool(listed.json()["channels"][0]["verified"])

    assert await verified() is False
    result = await cli(["channels", "verify", channel["id"]])
    assert result.exit_code == 0, result.output
    assert "Town Hall" in result.output and "is verified" in result.output
    assert await verified() is True
    result = await cli(["channels", "verify", channel["id"], "--remove"])
    assert result.exit_code == 0 and await verified() is False
    unknown = await cli(["channels", "verify", "12345"])
    assert unknown.exit_code == 2 and "no such channel" in unknown.output
