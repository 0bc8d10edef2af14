"""The operator's side: `parley subscriptions renew` runs a pass of the sweep, `parley subscriptions refund` ends a
subscription with the whole last charge back (cut included), and `parley billing revenue` lists the lever."""

from __future__ import annotations

import asyncio
import datetime
import json
from typing import Any

from typer.testing import CliRunner

from parley.cli.main import app as parley_cli
from parley.config import Settings
from tests.conftest import LiveServer
from tests.integration.subscription_helpers import (
    balance,
    brazilian,
    funded,
    member_ids,
    paid_group,
    subscribe,
    subscription,
    verify_ledger,
)


async def test_the_operator_renews_refunds_and_reads_the_lever(server: LiveServer, settings: Settings) -> None:
    coach, uma = await brazilian(server, "Coach"), await brazilian(server, "Uma")
    await funded(server, uma, "100.00")
    group_id, plan_id, _ = await paid_group(server, coach)
    sub = (await subscribe(server, uma, plan_id)).json()
    env = {
        "PARLEY_DATABASE_URL": settings.resolved_database_url,
        "PARLEY_DATA_DIR": str(settings.data_dir),
        "PARLEY_SECRET_KEY": "test-secret",
        "PARLEY_SUBSCRIPTIONS__SWEEP_INTERVAL_S": "0",
    }

    def run(*args: str) -> Any:
        return CliRunner().invoke(parley_cli, list(args), env=env)

    renewed = await asyncio.to_thread(run, "subscriptions", "renew", "--json")
    assert renewed.exit_code == 0, renewed.output
    assert json.loads(renewed.stdout) == {"handled": 0}  # nothing is due a month early

    day = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, datetime.UTC).date().isoformat()
    report = await asyncio.to_thread(run, "billing", "revenue", "--from", day, "--to", day, "--json")
    assert report.exit_code == 0, report.output
    assert {"lever": "subscriptions", "currency": "BRL", "revenue": "4.99", "postings": 1} in json.loads(report.stdout)[
        "by_lever"
    ]

    refunded = await asyncio.to_thread(run, "subscriptions", "refund", sub["id"], "--full")
    assert refunded.exit_code == 0, refunded.output
    assert "refunded 49.90 BRL" in refunded.stdout
    assert (await subscription(server, uma, sub["id"]))["status"] == "refunded"
    assert (await balance(server, uma), await balance(server, coach)) == ("100.00", "0.00")
    assert uma.user_id not in await member_ids(server, coach, group_id)
    again = await asyncio.to_thread(run, "subscriptions", "refund", sub["id"])
    assert again.exit_code == 2  # "this subscription has ended already", and nothing moves
    await verify_ledger(server)
