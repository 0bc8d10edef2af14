"""The sandbox provider remembers its payments in its file across restarts, charges each once, and cancels only
what it has not charged."""

from __future__ import annotations

import asyncio
from pathlib import Path

from parley.kit.clock import FrozenClock
from parley.payments import DECLINED, SUCCEEDED, CardDetails, SandboxStore, SandboxWalletProvider

CLOCK_MS = 1_796_000_000_000  # 2026-11-29
GOOD = CardDetails("4242424242424242", 12, 2034, "123")


def _sandbox(path: Path) -> SandboxWalletProvider:
    return SandboxWalletProvider(FrozenClock(CLOCK_MS), SandboxStore(path))


def test_a_restarted_sandbox_answers_for_what_it_charged(tmp_path: Path) -> None:
    async def run() -> None:
        first = _sandbox(tmp_path / "sandbox.db")
        charged = await first.create_payment(5_000_000, "BRL", "key-1")
        waiting = await first.create_payment(7_000_000, "BRL", "key-2")
        assert (await first.confirm_payment(charged.id, GOOD)).status == SUCCEEDED
        first.close()  # the process is gone; the card network is not

        again = _sandbox(tmp_path / "sandbox.db")
        assert (await again.get_payment(charged.id)).status == SUCCEEDED
        assert (await again.confirm_payment(charged.id, GOOD)).status == SUCCEEDED  # answered, not charged again
        assert (await again.cancel_payment(charged.id)).status == SUCCEEDED  # too late to cancel
        canceled = await again.cancel_payment(waiting.id)
        assert (canceled.status, canceled.decline_code) == (DECLINED, "canceled")
        assert (await again.confirm_payment(waiting.id, GOOD)).status == DECLINED  # a late confirm charges nothing
        assert again.charges() == [("payment", charged.id, 5_000_000, "BRL")]
        again.close()

    asyncio.run(run())
