"""Batched claims of the webhook outbox (one UPDATE ... RETURNING per batch, SKIP LOCKED on PostgreSQL): each
claim leases a disjoint batch, and two delivering processes together deliver every event once, statuses in order."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from functools import partial

from parley.kit.clock import FrozenClock
from parley.webhooks import repository
from tests.integration.test_webhooks import WABA, MakeContainer, add_app, event, make_container, numbers, put
from tests.integration.test_webhooks_support import receiver

__all__ = ["make_container"]  # the fixture, shared with test_webhooks


async def test_each_claim_leases_a_disjoint_batch(make_container: MakeContainer) -> None:
    clock = FrozenClock(int(time.time() * 1000))
    c = await make_container(clock)
    await add_app(c, WABA, "http://127.0.0.1:9/hook")
    ids = [await put(c, WABA, {"n": n}) for n in range(12)]
    now = clock.now_ms()

    async def claim(owner: int) -> repository.ClaimOutcome:
        return await c.db.write(
            "tests.claim",
            partial(
                repository.claim_due,
                now=now,
                limit=5,
                owner=owner,
                lease_until=now + 60_000,
                contention_until=now + 250,
                tails={},
                room={},
                stream_queue=1000,
            ),
        )

    first, second, third = await claim(1), await claim(2), await claim(1)
    assert [len(o.accepted) for o in (first, second, third)] == [5, 5, 2]
    assert first.full and second.full and not third.full
    claimed = [e.id for o in (first, second, third) for e in o.accepted]
    assert sorted(claimed) == ids  # oldest first, none twice
    assert all(e.lease_until == now + 60_000 and e.url == "http://127.0.0.1:9/hook" for e in first.accepted)
    assert (await claim(3)).accepted == []  # everything is leased: nothing is due
    row = await event(c, second.accepted[0].id)
    assert row.state == "pending" and row.next_attempt_at == now + 60_000


async def test_two_processes_deliver_every_event_once_and_statuses_in_order(make_container: MakeContainer) -> None:
    clock = FrozenClock(int(time.time() * 1000))
    first = await make_container(clock, node=1, claim_batch=25)
    second = await make_container(clock, node=2, claim_batch=25)
    async with receiver() as rx:
        await add_app(first, WABA, rx.url)
        singles = [await put(first, WABA, {"n": n}) for n in range(120)]
        for m in range(30):
            for s in range(3):
                await put(first, WABA, {"n": 1000 + m * 10 + s}, order=7_000_000 + m)
        await asyncio.gather(first.webhooks.deliver_due_now(), second.webhooks.deliver_due_now())
        await first.webhooks.deliver_due_now()  # anything deferred behind the other's stream
        got = numbers(rx)
        assert sorted(got) == sorted([*range(120), *(1000 + m * 10 + s for m in range(30) for s in range(3))])
        statuses: dict[int, list[int]] = defaultdict(list)
        for n in got:
            if n >= 1000:
                statuses[(n - 1000) // 10].append(n % 10)
        assert all(order == [0, 1, 2] for order in statuses.values())
        assert {(await event(first, e)).state for e in singles} == {"delivered"}


async def test_one_read_finds_which_streams_have_more_behind_what_was_sent(make_container: MakeContainer) -> None:
    clock = FrozenClock(int(time.time() * 1000))
    c = await make_container(clock)
    await add_app(c, WABA, "http://127.0.0.1:9/hook")
    first = [await put(c, WABA, {"n": n}, order=8_000_001) for n in range(2)]
    only = await put(c, WABA, {"n": 9}, order=8_000_002)
    tails = {8_000_001: first[0], 8_000_002: only, 8_000_003: 0}  # the third key has no events at all
    found = await c.db.read(partial(repository.order_keys_with_more, tails=tails))
    assert found == {8_000_001}  # its second status waits behind the first; nothing is behind the others
