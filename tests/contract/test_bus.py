"""One behavioural suite for every Bus implementation (memory always; Redis when configured)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from parley.platform.bus import Bus, MemoryBus
from tests.backends import REDIS_URL, require_service


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    if request.param == "memory":
        instance: Bus = MemoryBus()
    else:
        require_service(REDIS_URL is not None, "Redis (PARLEY_TEST_REDIS_URL)")
        from parley.platform.bus.redis import RedisBus

        assert REDIS_URL is not None
        instance = RedisBus(REDIS_URL)
    await instance.start()
    yield instance
    await instance.close()


async def _settle(bus: Bus) -> None:
    settled = getattr(bus, "subscriptions_settled", None)
    if settled is not None:
        await settled()


async def _collect(received: list[Any], count: int) -> None:
    for _ in range(200):
        if len(received) >= count:
            return
        await asyncio.sleep(0.01)


async def test_subscriber_receives_events_of_its_topic_in_order(bus: Bus) -> None:
    received: list[Any] = []
    bus.subscribe("u:1", received.append)
    await _settle(bus)
    await bus.publish_many([("u:1", {"n": i}) for i in range(20)])
    await bus.publish("u:2", {"n": "elsewhere"})
    await _collect(received, 20)
    await asyncio.sleep(0.05)
    assert received == [{"n": i} for i in range(20)]


async def test_cancelled_subscription_hears_nothing_more(bus: Bus) -> None:
    first: list[Any] = []
    second: list[Any] = []
    subscription = bus.subscribe("u:3", first.append)
    bus.subscribe("u:3", second.append)
    await _settle(bus)
    subscription.cancel()
    await bus.publish("u:3", {"n": 1})
    await _collect(second, 1)
    assert second == [{"n": 1}]
    assert first == []


async def test_every_subscriber_of_a_topic_gets_the_event(bus: Bus) -> None:
    listeners: list[list[Any]] = [[] for _ in range(3)]
    for received in listeners:
        bus.subscribe("u:4", received.append)
    await _settle(bus)
    await bus.publish("u:4", {"hello": "all"})
    for received in listeners:
        await _collect(received, 1)
        assert received == [{"hello": "all"}]
