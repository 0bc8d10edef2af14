"""The Bus protocol."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

Event = dict[str, Any]
EventHandler = Callable[[Event], None]


class Subscription(Protocol):
    def cancel(self) -> None: ...


class Bus(Protocol):
    async def start(self) -> None: ...

    async def publish(self, topic: str, event: Event) -> None: ...

    async def publish_many(self, items: list[tuple[str, Event]]) -> None: ...

    def subscribe(self, topic: str, handler: EventHandler) -> Subscription:
        """Call `handler(event)` on the event loop for every event published to `topic` from now on."""
        ...

    async def close(self) -> None: ...
