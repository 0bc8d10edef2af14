"""The operator's revenue report shows ad spend under the lever "ads" with no change to the report: a spend
transfer as the ad server posts it (books.py's keys and code) is found from `platform:revenue:ads:{CUR}`."""

from __future__ import annotations

import asyncio
import datetime
import json
from typing import Any

from sqlalchemy import Connection
from typer.testing import CliRunner

from parley import ledger
from parley.ads.books import ads_revenue_key, advertiser_wallet_key, spend_transfer_key
from parley.billing.report import revenue_report
from parley.cli.main import app as parley_cli
from parley.config import Settings
from tests.conftest import LiveServer
from tests.integration.business_helpers import create_business


async def test_ad_spend_is_the_ads_lever_of_the_revenue_report(server: LiveServer, settings: Settings) -> None:
    biz = await create_business(server, "Advertiser")
    journal = server.container.billing.journal
    await server.container.billing.balance(int(biz.waba_id))  # the wallet, with the trial credit

    def spend(conn: Connection) -> None:
        wallet = journal.account(conn, advertiser_wallet_key(int(biz.waba_id)))
        assert wallet is not None
        revenue = journal.open_account(
            conn, ads_revenue_key("USD"), currency="USD", normal_side=ledger.CREDIT, kind="revenue"
        )
        for batch in (1, 2):
            journal.transfer(
                conn,
                spend_transfer_key(777, batch),
                debit=wallet,
                credit=revenue,
                amount=1_250_000,
                code="ads.spend",
                refs={"waba_id": int(biz.waba_id), "ad_set_id": 777},
            )

    await server.container.db.write("test.ads_spend", spend)
    today = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, datetime.UTC).date()
    report = await revenue_report(server.container.db, journal, today, today)
    [ads] = [lever for lever in report.levers if lever.lever == "ads"]
    assert (ads.currency, ads.revenue, ads.postings) == ("USD", 2_500_000, 2)
    assert report.totals()["USD"] >= 2_500_000
    assert (await server.container.billing.balance(int(biz.waba_id))).balance == 10_000_000 - 2_500_000

    env = {
        "PARLEY_DATABASE_URL": settings.resolved_database_url,
        "PARLEY_DATA_DIR": str(settings.data_dir),
        "PARLEY_SECRET_KEY": "test-secret",
    }

    def run(*args: str) -> Any:
        return CliRunner().invoke(parley_cli, ["billing", *args], env=env)

    day = today.isoformat()
    result = await asyncio.to_thread(run, "revenue", "--from", day, "--to", day, "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert {"lever": "ads", "currency": "USD", "revenue": "2.50", "postings": 2} in printed["by_lever"]
