"""The in-process bus: the default for a single server process."""

from __future__ import annotations

from parley.platform.bus.base import Event, EventHandler


class _LocalSubscription:
    __slots__ = ("_handler", "_registry", "_topic")

    def __init__(self, registry: _Registry, topic: str, handler: EventHandler) -> None:
        self._registry, self._topic, self._handler = registry, topic, handler

    def cancel(self) -> None:
        self._registry.remove(self._topic, self._handler)


class _Registry:
    """Topic -> handlers; shared by the memory bus and the Redis bus's local dispatch."""

    def __init__(self) -> None:
        self.handlers: dict[str, list[EventHandler]] = {}

    def add(self, topic: str, handler: EventHandler) -> bool:
        """Register; True when this is the topic's first handler."""
        handlers = self.handlers.setdefault(topic, [])
        handlers.append(handler)
        return len(handlers) == 1

    def remove(self, topic: str, handler: EventHandler) -> bool:
        """Unregister; True when the topic has no handler left."""
        handlers = self.handlers.get(topic)
        if handlers is None:
            return False
        try:
            handlers.remove(handler)
        except ValueError:
            return False
        if not handlers:
            del self.handlers[topic]
            return True
        return False

    def dispatch(self, topic: str, event: Event) -> None:
        for handler in list(self.handlers.get(topic, ())):
            handler(event)


class MemoryBus:
    def __init__(self) -> None:
        self._registry = _Registry()

    async def start(self) -> None:
        return None

    async def publish(self, topic: str, event: Event) -> None:
        self._registry.dispatch(topic, event)

    async def publish_many(self, items: list[tuple[str, Event]]) -> None:
        for topic, event in items:
            self._registry.dispatch(topic, event)

    def subscribe(self, topic: str, handler: EventHandler) -> _LocalSubscription:
        self._registry.add(topic, handler)
        return _LocalSubscription(self._registry, topic, handler)

    async def close(self) -> None:
        self._registry.handlers.clear()
