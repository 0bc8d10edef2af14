"""One device's realtime stream: durable inbox events in order, plus live receipts and typing.

The connection keeps `sent_through`, the highest inbox sequence it has sent. Live bus events with the
next sequence go straight out; older ones are duplicates and are dropped; a gap (an event lost or
reordered between processes) makes it read the missing range from the database. On connect it first
sends everything after the device's ack mark. So: in order, none lost, none twice per connection.

A device has one live stream, as on WhatsApp: a new one tells the device's older streams, in any process, to
close (4409); and a process holds streams for at most `max_streams_per_account` devices of one account (4429).

The stream is driven by callbacks (`start`, `on_text`, `disconnected`) over a small `StreamSocket`, not by a
task per connection: an idle stream is this object, two bus subscriptions and its socket, and tasks exist only
while something is being sent, read or written. `parley serve` feeds it straight from its WebSocket protocol
(stream_protocol.py); any other ASGI server through `serve_asgi`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from typing import Any, Protocol

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from parley.accounts import device_topic
from parley.messaging.service import MessagingService, user_topic
from parley.platform.bus import Bus, Subscription

log = logging.getLogger(__name__)
Event = dict[str, Any]
REPLACED = 4409  # close code: a newer stream of the same device took over (the HTTP 409 of WebSockets)
TOO_MANY_STREAMS = 4429  # close code: the account has as many streams open here as it may (HTTP 429)
_INBOX_HIGH_WATER = 8  # client events waiting to be handled before the socket stops reading


class StreamGone(Exception):
    """The socket closed: nothing more can be sent on it."""


class StreamSocket(Protocol):
    """What a stream needs of its WebSocket."""

    async def send(self, text: str) -> None:
        """Send one text message (waiting while the peer reads slowly); raises StreamGone once closed."""
        ...

    def send_now(self, text: str) -> bool:
        """Send one text message at once if the socket is open and not waiting on a slow peer; False (nothing
        sent) otherwise. Lets a broadcast reach an idle stream without a task per stream."""
        ...

    def close(self, code: int, reason: str) -> None:
        """Start the closing handshake: nothing is sent after it."""
        ...

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class StreamListener(Protocol):
    """Told of every stream this process admits and drops (another domain's live index, e.g. channels')."""

    def stream_opened(self, stream: DeviceStream) -> None: ...

    def stream_closed(self, stream: DeviceStream) -> None:
        """Also called for a stream that was never admitted or was already dropped: forget it if known."""
        ...


class LiveStreams:
    """This process's open streams by account and device: bounds how many devices of one account stream here."""

    def __init__(self, max_per_account: int) -> None:
        self._max_per_account = max_per_account
        self._by_user: dict[int, dict[int, DeviceStream]] = {}
        self._listeners: list[StreamListener] = []

    def add_listener(self, listener: StreamListener) -> None:
        self._listeners.append(listener)

    def admit(self, stream: DeviceStream) -> bool:
        """Register a new stream; False when its account already streams to as many other devices as it may."""
        devices = self._by_user.setdefault(stream.user_id, {})
        if stream.device_id not in devices and len(devices) >= self._max_per_account:
            return False
        older = devices.get(stream.device_id)
        devices[stream.device_id] = stream
        if older is not None:
            older.replace()  # at once, here; streams of this device in other processes hear it over the bus
        for listener in self._listeners:
            listener.stream_opened(stream)
        return True

    def leave(self, stream: DeviceStream) -> None:
        devices = self._by_user.get(stream.user_id)
        if devices is not None and devices.get(stream.device_id) is stream:
            del devices[stream.device_id]
            if not devices:
                del self._by_user[stream.user_id]
        for listener in self._listeners:  # a replaced stream is no longer in `_by_user` but was announced
            listener.stream_closed(stream)

    def refusal(self) -> str:
        return f"too many open streams for this account (at most {self._max_per_account} devices at once)"


class DeviceStream:
    """One accepted socket's stream. Idle, it holds no task: `_reader`, `_sender`, `_acker` and `_background`
    exist only while they have work, and the queues only while they hold something."""

    __slots__ = (
        "_ack_wanted",
        "_acker",
        "_background",
        "_bus",
        "_device_id",
        "_finished",
        "_inbox",
        "_messaging",
        "_needs_fetch",
        "_opened",
        "_presence",
        "_queue",
        "_reader",
        "_ready",
        "_revocation",
        "_revoked",
        "_sender",
        "_sent_through",
        "_socket",
        "_streams",
        "_subscription",
        "_user_id",
    )

    def __init__(
        self,
        socket: StreamSocket,
        bus: Bus,
        messaging: MessagingService,
        streams: LiveStreams,
        user_id: int,
        device_id: int,
    ) -> None:
        self._socket, self._bus, self._messaging, self._streams = socket, bus, messaging, streams
        self._user_id, self._device_id = user_id, device_id
        # Newest wins when a device opens streams in two processes at once: ordered by time, ties by a random nonce.
        self._opened = [time.time_ns(), secrets.randbits(32)]
        self._queue: deque[Event | str] | None = None  # live events waiting to go out (str: already encoded)
        self._inbox: deque[str] | None = None  # client events waiting to be handled, in order
        self._sent_through = 0
        self._needs_fetch = True
        self._ready = False  # subscribed and announced: client events are handled from now on
        self._presence = False  # counted as an open stream (stream_opened ran)
        self._revoked = False
        self._subscription: Subscription | None = None
        self._revocation: Subscription | None = None
        self._reader: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._background: asyncio.Task[None] | None = None  # the latest announcement, kept referenced
        self._finished: asyncio.Task[None] | None = None
        self._ack_wanted = 0
        self._acker: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> int:
        return self._user_id

    @property
    def device_id(self) -> int:
        return self._device_id

    def start(self) -> None:
        """The socket is accepted: take a place, read the ack mark, subscribe, then catch up."""
        if not self._streams.admit(self):
            self._stop(TOO_MANY_STREAMS, self._streams.refusal())
            return
        self._reader = asyncio.get_running_loop().create_task(self._open())

    async def _open(self) -> None:
        # The ack mark is read before subscribing: an event arriving while it is read would otherwise
        # start the first catch-up from 0 and resend everything already acknowledged. Events committed
        # meanwhile are in the database, after the mark, so the first catch-up still finds them.
        self._sent_through = await self._messaging.device_ack_mark(self._device_id)
        if self._revoked or self._finished is not None:  # replaced or gone while reading the mark
            return
        self._subscription = self._bus.subscribe(user_topic(self._user_id), self._on_event)
        self._revocation = self._bus.subscribe(device_topic(self._device_id), self._on_device_event)
        await self._announce()
        self._presence = True
        await self._messaging.stream_opened(self._user_id)
        self._ready = True
        self._wake()
        await self._handle_inbox()

    def on_text(self, raw: str) -> None:
        """A text message from the client: handled after the ones before it."""
        if self._finished is not None:
            return
        if self._inbox is None:
            self._inbox = deque()
        self._inbox.append(raw)
        if len(self._inbox) >= _INBOX_HIGH_WATER:
            self._socket.pause_reading()
        if self._ready and (self._reader is None or self._reader.done()):
            self._reader = asyncio.get_running_loop().create_task(self._handle_inbox())

    async def _handle_inbox(self) -> None:
        while self._inbox:
            raw = self._inbox.popleft()
            if not self._inbox:
                self._inbox = None
                self._socket.resume_reading()
            await self._on_client_message(raw)

    def disconnected(self) -> asyncio.Task[None]:
        """The socket closed (or is closing): stop, clean up; the task ends once presence is written."""
        if self._finished is None:
            self._finished = asyncio.get_running_loop().create_task(self._finish())
        return self._finished

    async def _finish(self) -> None:
        self._inbox = None
        self._queue = None
        self._revoked = True
        self._streams.leave(self)
        if self._subscription is not None:
            self._subscription.cancel()
        if self._revocation is not None:
            self._revocation.cancel()
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sender
        if self._reader is not None:  # the open, or the client event being handled, ends first
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.shield(self._reader)
        await self._acks_written()
        if self._presence:
            await self._closed_presence()

    async def _closed_presence(self) -> None:
        # Shielded: a server shutting down cancels this task, and the count of open streams must still go down.
        with contextlib.suppress(Exception):
            await asyncio.shield(self._messaging.stream_closed(self._user_id))

    async def _acks_written(self) -> None:
        """Wait for the acks taken so far: what a client acked holds before its next step is handled."""
        if self._acker is not None and not self._acker.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._acker)

    def _on_event(self, event: Event) -> None:
        if self._revoked:
            return
        if self._queue is None:
            self._queue = deque()
        self._queue.append(event)
        self._wake()

    def push_text(self, text: str) -> None:
        """Send a live event that is not in the inbox (no sequence, not acked), already encoded as JSON: a
        broadcast encodes once and hands the same text to every stream. Queued until the stream is ready."""
        if self._revoked:
            return
        # Nothing queued or being sent: straight onto the socket (in order, since nothing is ahead of it).
        idle = self._queue is None and (self._sender is None or self._sender.done())
        if idle and self._ready and self._socket.send_now(text):
            return
        if self._queue is None:
            self._queue = deque()
        self._queue.append(text)
        if self._ready:
            self._wake()

    def replace(self) -> None:
        self._stop(REPLACED, "this device opened a newer stream")

    async def _announce(self) -> None:
        """Tell this device's streams in other processes that this one is the newest."""
        await self._bus.publish(device_topic(self._device_id), {"type": "stream_opened", "opened": self._opened})

    def _on_device_event(self, event: Event) -> None:
        if event.get("type") == "stream_opened":
            opened = event.get("opened", self._opened)
            if opened > self._opened:
                self.replace()
            elif opened < self._opened and not self._revoked:
                # An older stream (in another process) announced itself after this one did: tell it again.
                self._background = asyncio.get_running_loop().create_task(self._announce())
            return
        # The device's token stopped working, and so does this stream.
        self._stop(1008, "this device was signed out")

    def _stop(self, code: int, reason: str) -> None:
        """Nothing more goes out; the socket closes with `code`."""
        if self._revoked:
            return
        self._revoked = True
        self._queue = None
        if self._sender is not None:
            self._sender.cancel()
        self._socket.close(code, reason)
        self.disconnected()

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
                assert self._queue is not None
                event = self._queue.popleft()
                if not self._queue:
                    self._queue = None
                if isinstance(event, str):
                    await self._socket.send(event)
                    continue
                if event.get("type") == "message":
                    seq = int(event["id"])
                    if seq <= self._sent_through:
                        continue  # already sent (came from the database, or a duplicate)
                    if seq != self._sent_through + 1:
                        self._needs_fetch = True  # a gap: the database has what is missing
                        continue
                    self._sent_through = seq
                await self._socket.send(orjson.dumps(event).decode())
        except StreamGone:
            pass  # the socket closed; the stream is finishing
        except Exception:
            log.exception("stream sender failed")
            self._stop(1011, "")

    async def _catch_up(self) -> None:
        while True:
            events = await self._messaging.pending_inbox(self._user_id, self._sent_through)
            for event in events:
                self._sent_through = int(event["id"])
                await self._socket.send(orjson.dumps(event).decode())
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
        except StreamGone:
            pass
        except Exception as error:  # one bad event never closes the stream
            code = getattr(error, "code", "internal_error")
            with contextlib.suppress(StreamGone):
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
        await self._socket.send(orjson.dumps({"type": "error", "error": {"code": code, "message": message}}).decode())


class _AsgiSocket:
    """A StreamSocket over an ASGI WebSocket, for servers other than `parley serve` (one task per socket)."""

    __slots__ = ("_closing", "_readable", "_ws")

    def __init__(self, ws: WebSocket) -> None:
        self._ws = ws
        self._readable = asyncio.Event()
        self._readable.set()
        self._closing: asyncio.Task[None] | None = None

    async def send(self, text: str) -> None:
        if self._closing is not None:
            raise StreamGone
        try:
            await self._ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError) as error:
            raise StreamGone from error

    def send_now(self, text: str) -> bool:
        return False  # an ASGI send is a coroutine: queued for the stream's sender

    def close(self, code: int, reason: str) -> None:
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self._ws.close(code=code, reason=reason)

    def pause_reading(self) -> None:
        self._readable.clear()

    def resume_reading(self) -> None:
        self._readable.set()

    async def serve(self, stream: DeviceStream) -> None:
        """Feed the client's messages to `stream` until the socket closes, then wait for its clean-up."""
        stream.start()
        try:
            while self._closing is None:
                await self._readable.wait()
                message = await self._ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("text") is None:
                    self.close(1003, "the stream takes text messages only")  # as parley serve's protocol does
                    break
                stream.on_text(message["text"])
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            await stream.disconnected()
            if self._closing is not None:
                await self._closing  # the close, before the endpoint returns


async def serve_asgi(
    ws: WebSocket, bus: Bus, messaging: MessagingService, streams: LiveStreams, user_id: int, device_id: int
) -> None:
    """Serve an accepted ASGI WebSocket as this device's stream until it closes."""
    socket = _AsgiSocket(ws)
    await socket.serve(DeviceStream(socket, bus, messaging, streams, user_id, device_id))
