"""Rate limits shared by every process through Redis (INCR + EXPIRE on a per-window key)."""

from __future__ import annotations

import redis.asyncio as aioredis


class RedisRateLimiter:
    def __init__(self, url: str) -> None:
        self._client = aioredis.from_url(url)

    async def hit(self, key: str, limit: int, window_s: int) -> int | None:
        redis_key = f"parley:rl:{key}:{window_s}"
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.incr(redis_key)
            pipe.expire(redis_key, window_s, nx=True)
            pipe.ttl(redis_key)
            count, _, ttl = await pipe.execute()
        if int(count) > limit:
            return max(int(ttl), 1)
        return None

    async def close(self) -> None:
        await self._client.aclose()
