"""One behavioural suite for every RateLimiter implementation."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from parley.kit.clock import FrozenClock
from parley.platform.ratelimit import MemoryRateLimiter, RateLimiter
from tests.backends import REDIS_URL, require_service


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter(FrozenClock())
        return
    require_service(REDIS_URL is not None, "Redis (PARLEY_TEST_REDIS_URL)")
    from parley.platform.ratelimit.redis import RedisRateLimiter

    assert REDIS_URL is not None
    instance = RedisRateLimiter(REDIS_URL)
    yield instance
    await instance.close()


async def test_allows_up_to_the_limit_then_says_how_long_to_wait(limiter: RateLimiter) -> None:
    key = uuid.uuid4().hex
    assert [await limiter.hit(key, 3, 60) for _ in range(3)] == [None, None, None]
    retry_after = await limiter.hit(key, 3, 60)
    assert retry_after is not None and 0 < retry_after <= 60


async def test_keys_are_counted_separately(limiter: RateLimiter) -> None:
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    assert await limiter.hit(first, 1, 60) is None
    assert await limiter.hit(first, 1, 60) is not None
    assert await limiter.hit(second, 1, 60) is None


async def test_memory_window_resets_when_time_moves_on() -> None:
    clock = FrozenClock()
    limiter = MemoryRateLimiter(clock)
    assert await limiter.hit("k", 1, 30) is None
    assert await limiter.hit("k", 1, 30) is not None
    clock.advance(seconds=31)
    assert await limiter.hit("k", 1, 30) is None
