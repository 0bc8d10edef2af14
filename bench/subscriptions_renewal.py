"""The renewal sweep's cost: N monthly subscriptions to one paid group come due at once; one pass of
`SubscriptionService.renew_due` charges them (three ledger transfers and a charge row each, one write unit per
subscription). Half the wallets are empty, so half the pass is failed attempts with a chat notice.

    .venv/bin/python bench/subscriptions_renewal.py [--subscribers 1000] [--database-url postgresql+asyncpg://…]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sqlalchemy import Connection

from parley import ledger
from parley.config import Settings, SubscriptionSettings
from parley.container import build_container
from parley.kit.clock import FrozenClock
from parley.migrations import upgrade
from parley.payments.books import person_wallet_key
from parley.subscriptions.service import PlanIn, PriceIn

START_MS = 1_796_000_000_000


async def run(settings: Settings, subscribers: int) -> None:
    clock = FrozenClock(START_MS)
    c = build_container(settings, clock)
    await c.start()

    async def no_pin(user_id: int, pin: object) -> None:  # the bench measures renewals, not argon2
        return None

    c.person_payments.check_spending_pin = no_pin  # type: ignore[method-assign]
    try:
        coach = await c.accounts.create_user_with_token("+5511900000001", "Coach")
        group = await c.messaging.create_group(coach.user_id, "Bench group", [])
        plan = await c.subscriptions.create_plan(
            coach.user_id, "group", group["id"], PlanIn("Bench", "", "monthly", [PriceIn("*", "10.00", "BRL")])
        )
        journal = c.billing.journal
        people = [await c.accounts.create_user_with_token(f"+55219{n:08d}", f"P{n}") for n in range(subscribers)]

        def fund(conn: Connection) -> None:
            source = journal.open_account(conn, "bench:source:BRL", currency="BRL", normal_side=ledger.DEBIT, kind="t")
            for n, person in enumerate(people):
                wallet = c.wallets.wallet_in(conn, person.user_id, "BRL")
                amount = 20_000_000 if n % 2 == 0 else 10_000_000  # odd ones can pay the first month only
                journal.transfer(conn, f"bench:fund:{n}", debit=source, credit=wallet, amount=amount, code="t")

        await c.db.write("bench.fund", fund)
        started = time.perf_counter()
        for n, person in enumerate(people):
            await c.subscriptions.subscribe(person.user_id, str(plan.plan.id), "0000", f"bench-{n}")
        subscribe_s = time.perf_counter() - started
        clock.advance(hours=32 * 24)
        started = time.perf_counter()
        handled = await c.subscriptions.renew_due(limit=subscribers)
        renew_s = time.perf_counter() - started
        report = await c.ledger.verify()
        balance = await c.db.read(lambda conn: journal.account(conn, person_wallet_key(people[0].user_id, "BRL")))
        assert balance is not None and balance.balance == 0 and handled == subscribers and report.ok
        print(f"database: {c.db.dialect}; subscribers: {subscribers}")
        print(f"subscribe (first charge + join the group): {subscribe_s * 1000 / subscribers:.2f} ms each")
        print(
            f"renewal pass: {handled} due ({subscribers // 2} charged, {subscribers - subscribers // 2} failed + told) "
            f"in {renew_s:.2f} s = {handled / renew_s:.0f}/s, {renew_s * 1000 / handled:.2f} ms each"
        )
    finally:
        await c.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp(prefix="parley-bench-subs-")),
        database_url=args.database_url or "",
        secret_key="bench",
        subscriptions=SubscriptionSettings(sweep_interval_s=0),
    )
    upgrade(settings.resolved_database_url)  # Alembic runs its own event loop: before ours
    asyncio.run(run(settings, args.subscribers))


if __name__ == "__main__":
    main()
