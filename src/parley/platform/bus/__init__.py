"""The event bus seam: realtime fan-out of events to whoever listens on a topic, in any process.

Events are best-effort hints for live delivery; the database stays the source of truth (a device that
missed an event fetches what it has not acked on reconnect).
"""

from parley.platform.bus.base import Bus, EventHandler, Subscription
from parley.platform.bus.memory import MemoryBus

__all__ = ["Bus", "EventHandler", "MemoryBus", "Subscription"]
