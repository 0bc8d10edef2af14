"""The Redis bus: events published by one server process reach subscribers in every other one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

import orjson
import redis.asyncio as aioredis

from parley.platform.bus.base import Event, EventHandler
from parley.platform.bus.memory import _Registry

log = logging.getLogger(__name__)
_PREFIX = "parley:bus:"


class _RedisSubscription:
    __slots__ = ("_bus", "_handler", "_topic")

    def __init__(self, bus: RedisBus, topic: str, handler: EventHandler) -> None:
        self._bus, self._topic, self._handler = bus, topic, handler

    def cancel(self) -> None:
        self._bus._unsubscribe(self._topic, self._handler)


class RedisBus:
    """One pub/sub connection per process; a topic is SUBSCRIBEd while it has a local handler."""

    def __init__(self, url: str) -> None:
        self._client = aioredis.from_url(url)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._registry = _Registry()
        self._reader: asyncio.Task[None] | None = None
        self._pending_changes: set[asyncio.Future[None]] = set()

    async def start(self) -> None:
        # A placeholder channel so the pub/sub connection exists before the first real subscriber.
        await self._pubsub.subscribe(_PREFIX + "_")
        self._reader = asyncio.create_task(self._read_forever(), name="parley-redis-bus")

    async def publish(self, topic: str, event: Event) -> None:
        await self._client.publish(_PREFIX + topic, orjson.dumps(event))

    async def publish_many(self, items: list[tuple[str, Event]]) -> None:
        if not items:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for topic, event in items:
                pipe.publish(_PREFIX + topic, orjson.dumps(event))
            await pipe.execute()

    def subscribe(self, topic: str, handler: EventHandler) -> _RedisSubscription:
        if self._registry.add(topic, handler):
            self._track(self._pubsub.subscribe(_PREFIX + topic))
        return _RedisSubscription(self, topic, handler)

    def _unsubscribe(self, topic: str, handler: EventHandler) -> None:
        if self._registry.remove(topic, handler):
            self._track(self._pubsub.unsubscribe(_PREFIX + topic))

    def _track(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._pending_changes.add(task)
        task.add_done_callback(self._pending_changes.discard)

    async def subscriptions_settled(self) -> None:
        """Wait until every SUBSCRIBE sent so far has been sent to Redis."""
        if self._pending_changes:
            await asyncio.gather(*self._pending_changes, return_exceptions=True)

    async def _read_forever(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # a dropped connection: redis-py reconnects and resubscribes
                log.exception("redis bus read failed; retrying")
                await asyncio.sleep(0.5)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode()
            try:
                self._registry.dispatch(channel[len(_PREFIX) :], orjson.loads(message["data"]))
            except Exception:
                log.exception("bus handler failed for %s", channel)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8
        await self._client.aclose()
