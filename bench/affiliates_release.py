"""The affiliate release sweep: N commissions whose refund window has closed, paid in one `release_due` pass.

    PYTHONPATH=$PWD/src .venv/bin/python bench/affiliates_release.py                 # 2,000 on SQLite
    PYTHONPATH=$PWD/src .venv/bin/python bench/affiliates_release.py --commissions 5000 \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/some_empty_database

Seeds one merchant, one affiliate's link and N pending commissions (each with its `affiliate:{id}:held` transfer,
as a capture would post it) on a migrated database, moves a FrozenClock past the hold and times the sweep: units of
50 commissions, each a status change and one transfer to the affiliate's wallet. Then `ledger verify` must pass.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sqlalchemy import Connection

from parley.affiliates import repository as repo
from parley.affiliates.books import affiliate_clearing_key, commission_key
from parley.config import Settings
from parley.container import build_container
from parley.kit.clock import FrozenClock
from parley.ledger import CREDIT
from parley.migrations import upgrade
from parley.payments.books import merchant_payable_key

DAY_MS = 86_400_000


async def run(count: int, database_url: str) -> None:
    settings = Settings(data_dir=Path(tempfile.mkdtemp()), database_url=database_url, secret_key="bench")
    await asyncio.to_thread(upgrade, settings.resolved_database_url)
    clock = FrozenClock(1_800_000_000_000)
    c = build_container(settings, clock, background=False)
    await c.start()
    try:
        shop = await c.business.create_business("Bench shop", "+14155559999", app_secret=None)
        await c.affiliates.set_program(shop.waba_id, {"rate_bp": 500, "hold_days": 1})
        person = await c.accounts.create_user_with_token("+14155558888", "Affiliate")
        link_id = int((await c.affiliates.create_link("person", person.user_id, str(shop.waba_id), None))["id"])
        journal, now = c.ledger.journal, clock.now_ms()

        def seed(conn: Connection) -> None:
            payable = journal.open_account(
                conn, merchant_payable_key(shop.waba_id, "BRL"), currency="BRL", normal_side=CREDIT,
                kind="merchant_payable", owner_id=shop.waba_id,
            )  # fmt: skip
            clearing = journal.open_account(
                conn, affiliate_clearing_key("BRL"), currency="BRL", normal_side=CREDIT, kind="affiliate_clearing"
            )
            click = repo.ClickRow(c.ids.next_id(), link_id, shop.waba_id, person.user_id, None, now)
            repo.insert_click(conn, click)
            for order in range(count):
                cid = c.ids.next_id()
                repo.insert_commission(
                    conn,
                    repo.CommissionRow(
                        cid, link_id, click.id, order + 1, shop.waba_id, 1, 110_000_000, 5_500_000, 0, "BRL",
                        repo.PENDING, now + DAY_MS, now, None,
                    ),
                )  # fmt: skip
                journal.transfer(
                    conn, commission_key(cid, "held"), debit=payable, credit=clearing, amount=5_500_000,
                    code="affiliate.commission", known_new=True,
                )  # fmt: skip

        await c.db.write("bench.seed", seed)
        clock.advance(hours=25)
        started = time.perf_counter()
        paid = await c.affiliate_commissions.release_due()
        elapsed = time.perf_counter() - started
        verified = (await c.ledger.verify()).ok
        rate = paid / elapsed
        print(f"{c.db.dialect}: {paid} commissions paid in {elapsed:.2f} s ({rate:,.0f}/s); ledger ok={verified}")
    finally:
        await c.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--commissions", type=int, default=2000)
    parser.add_argument("--database-url", default="", help="an EMPTY database (default: a new SQLite file)")
    args = parser.parse_args()
    asyncio.run(run(args.commissions, args.database_url))


if __name__ == "__main__":
    main()
