"""One device's realtime stream: durable inbox events in order, plus live receipts and typing.

The connection keeps `sent_through`, the highest inbox sequence it has sent. Live bus events with the
next sequence go straight out; older ones are duplicates and are dropped; a gap (an event lost or
reordered between processes) makes it read the missing range from the database. On connect it first
sends everything after the device's ack mark. So: in order, none lost, none twice per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from parley.accounts import device_topic
from parley.messaging.service import MessagingService, user_topic
from parley.platform.bus import Bus

log = logging.getLogger(__name__)
Event = dict[str, Any]


class DeviceStream:
    __slots__ = (
        "_ack_wanted",
        "_acker",
        "_bus",
        "_closer",
        "_device_id",
        "_messaging",
        "_needs_fetch",
        "_queue",
        "_revoked",
        "_sender",
        "_sent_through",
        "_user_id",
        "_ws",
    )

    def __init__(self, ws: WebSocket, bus: Bus, messaging: MessagingService, user_id: int, device_id: int) -> None:
        self._ws, self._bus, self._messaging = ws, bus, messaging
        self._user_id, self._device_id = user_id, device_id
        self._queue: deque[Event] = deque()
        self._sent_through = 0
        self._needs_fetch = True
        self._sender: asyncio.Task[None] | None = None
        self._revoked = False
        self._closer: asyncio.Task[None] | None = None
        self._ack_wanted = 0
        self._acker: asyncio.Task[None] | None = None

    async def run(self) -> None:
        # The ack mark is read before subscribing: an event arriving while it is read would otherwise
        # start the first catch-up from 0 and resend everything already acknowledged. Events committed
        # meanwhile are in the database, after the mark, so the first catch-up still finds them.
        self._sent_through = await self._messaging.device_ack_mark(self._device_id)
        subscription = self._bus.subscribe(user_topic(self._user_id), self._on_event)
        revocation = self._bus.subscribe(device_topic(self._device_id), self._on_revoked)
        try:
            self._wake()
            while True:
                raw = await self._ws.receive_text()
                await self._on_client_message(raw)
        except WebSocketDisconnect:
            pass
        finally:
            subscription.cancel()
            revocation.cancel()
            if self._sender is not None:
                self._sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._sender
            await self._acks_written()

    async def _acks_written(self) -> None:
        """Wait for the acks taken so far: what a client acked holds before its next step is handled."""
        if self._acker is not None and not self._acker.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._acker)

    def _on_event(self, event: Event) -> None:
        self._queue.append(event)
        self._wake()

    def _on_revoked(self, _event: Event) -> None:
        # The device's token stopped working, and so does this stream: nothing more goes out.
        self._revoked = True
        self._queue.clear()
        if self._sender is not None:
            self._sender.cancel()
        self._closer = asyncio.get_running_loop().create_task(self._close(1008, "this device was signed out"))

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self._ws.close(code=code, reason=reason)

    def _wake(self) -> None:
        if self._revoked:
            return
        # The sender task exists only while there is something to send: idle sockets cost no task.
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._needs_fetch or self._queue:
                if self._needs_fetch:
                    self._needs_fetch = False
                    await self._catch_up()
                    continue
                event = self._queue.popleft()
                if event.get("type") == "message":
                    seq = int(event["id"])
                    if seq <= self._sent_through:
                        continue  # already sent (came from the database, or a duplicate)
                    if seq != self._sent_through + 1:
                        self._needs_fetch = True  # a gap: the database has what is missing
                        continue
                    self._sent_through = seq
                await self._ws.send_text(orjson.dumps(event).decode())
        except (WebSocketDisconnect, RuntimeError):
            pass  # the socket closed; run() is ending
        except Exception:
            log.exception("stream sender failed")
            with contextlib.suppress(Exception):
                await self._ws.close(code=1011)

    async def _catch_up(self) -> None:
        while True:
            events = await self._messaging.pending_inbox(self._user_id, self._sent_through)
            for event in events:
                self._sent_through = int(event["id"])
                await self._ws.send_text(orjson.dumps(event).decode())
            if len(events) < 200:
                return

    async def _on_client_message(self, raw: str) -> None:
        try:
            message = orjson.loads(raw)
            kind = message.get("type")
        except (orjson.JSONDecodeError, AttributeError):
            await self._send_error("invalid_event", "events are JSON objects with a 'type'")
            return
        try:
            if kind == "ack" and isinstance(message.get("id"), int):
                self._queue_ack(message["id"])
                return
            await self._acks_written()  # other events are handled after the acks sent before them
            if kind == "typing" and isinstance(message.get("chat_id"), str):
                await self._messaging.typing(self._user_id, message["chat_id"])
            else:
                await self._send_error(
                    "invalid_event", "expected {'type':'ack','id':<int>} or {'type':'typing','chat_id':<str>}"
                )
        except Exception as error:  # one bad event never closes the stream
            code = getattr(error, "code", "internal_error")
            await self._send_error(code, str(error))

    def _queue_ack(self, seq: int) -> None:
        # Acks are cumulative: while one is being written, later ones collapse into the newest.
        self._ack_wanted = max(self._ack_wanted, seq)
        if self._acker is None or self._acker.done():
            self._acker = asyncio.get_running_loop().create_task(self._write_acks())

    async def _write_acks(self) -> None:
        written = 0
        while written < self._ack_wanted:
            target = self._ack_wanted
            try:
                await self._messaging.acknowledge(self._user_id, self._device_id, target)
            except Exception:
                log.exception("ack failed")
                return
            written = target

    async def _send_error(self, code: str, message: str) -> None:
        await self._ws.send_text(orjson.dumps({"type": "error", "error": {"code": code, "message": message}}).decode())
