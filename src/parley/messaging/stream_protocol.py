"""The stream's own WebSocket protocol: frames go to the stream by callback, with no ASGI task, queue or event.

`parley serve` hands an upgrade to `/client/v1/stream` here instead of to uvicorn's WebSocket protocol (see
serving.py). uvicorn's protocol runs one ASGI task per socket, suspended in `receive()` on an `asyncio.Queue`,
with an `asyncio.Event` for writability and the handshake's request, response and scope kept for the socket's
life: most of the 15.5 KiB a bare ASGI app costs per idle socket under uvicorn on this machine. Here an idle
socket is this object (slots), the websockets sans-I/O frame parser and the `DeviceStream`; frames are parsed by
`websockets`, the handshake is checked by its `ServerProtocol`, and tasks exist only while a handshake, a send
or a client event is under way.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import secrets
from collections.abc import MutableSet
from typing import Any, Protocol

from starlette.requests import HTTPConnection
from websockets.datastructures import Headers
from websockets.exceptions import InvalidState
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import OPEN, Side
from websockets.protocol import Protocol as FrameProtocol
from websockets.server import ServerProtocol

from parley.kit.errors import AppError
from parley.messaging.stream import DeviceStream, StreamGone, StreamSocket

log = logging.getLogger(__name__)
STREAM_PATH = b"/client/v1/stream"
STREAM_OPENER = "parley.stream_opener"  # its key in the ASGI lifespan state (see app.py)
Keepalive = tuple[float, float | None]  # seconds between pings, and how long a pong may take (None: for ever)
_CLOSE_TIMEOUT_S = 10.0  # how long a closing socket waits for the peer's close frame (uvicorn's figure)


class StreamOpener(Protocol):
    """What the protocol needs from the application: who a token is, and a stream for them."""

    async def authenticate(self, connection: HTTPConnection) -> tuple[int, int]:
        """(user id, device id) of the upgrade's token; raises an AppError when it is not valid."""
        ...

    def stream(self, socket: StreamSocket, user_id: int, device_id: int) -> DeviceStream: ...


class StreamWebSocket(asyncio.Protocol):
    """One `/client/v1/stream` socket, from the upgrade request to the TCP close."""

    __slots__ = (
        "_close_timer",
        "_connections",
        "_frames",
        "_keepalive",
        "_pending",
        "_ping",
        "_reading_paused",
        "_stream",
        "_tasks",
        "_transport",
        "_writable",
        "_ws",
    )

    def __init__(
        self,
        transport: asyncio.Transport,
        connections: MutableSet[Any],
        tasks: MutableSet[asyncio.Task[None]],
    ) -> None:
        self._transport = transport
        self._connections, self._tasks = connections, tasks  # the server's, so that shutdown sees this socket
        self._ws: FrameProtocol | None = None  # set once the handshake is accepted
        self._stream: DeviceStream | None = None
        self._pending: asyncio.Task[None] | None = None  # the handshake, while the token is checked
        self._frames: list[bytes] | None = None  # a fragmented message being assembled
        self._writable: asyncio.Future[None] | None = None  # exists only while the peer reads too slowly
        self._close_timer: asyncio.TimerHandle | None = None
        self._reading_paused = False
        self._keepalive: Keepalive | None = None
        self._ping: tuple[bytes, asyncio.TimerHandle] | None = None  # the next ping, or the pong awaited

    # --- the handshake -------------------------------------------------------------------------------

    def upgrade(
        self,
        url: bytes,
        headers: list[tuple[bytes, bytes]],
        opener: StreamOpener,
        max_size: int,
        default_headers: list[tuple[bytes, bytes]],
        keepalive: Keepalive | None = None,
    ) -> None:
        """Take over the transport for this upgrade request (headers as the HTTP parser read them); with
        `keepalive`, ping every interval and close a socket whose pong is later than the timeout (uvicorn's
        `ws_ping_interval` and `ws_ping_timeout`, off under `parley serve`)."""
        self._connections.add(self)
        self._keepalive = keepalive
        self._transport.set_protocol(self)
        handshake = ServerProtocol(max_size=max_size, logger=log)
        request = Request(url.decode("latin-1"), Headers((k.decode(), v.decode("latin-1")) for k, v in headers))
        response = handshake.accept(request)
        if response.status_code != 101:  # not a valid WebSocket upgrade: websockets' own answer
            self._transport.write(response.serialize())
            self._transport.close()
            return
        # As uvicorn's protocol does: the server's default headers (server, date) replace websockets' Date.
        del response.headers["Date"]
        response.headers.update((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in default_headers)
        path, _, query = url.partition(b"?")
        scope = {"type": "websocket", "path": path.decode("latin-1"), "headers": headers, "query_string": query}
        connection = HTTPConnection(scope)
        self._pending = asyncio.get_running_loop().create_task(
            self._accept(opener, connection, handshake, response.serialize(), max_size)
        )

    async def _accept(
        self,
        opener: StreamOpener,
        connection: HTTPConnection,
        handshake: ServerProtocol,
        accepted: bytes,
        max_size: int,
    ) -> None:
        try:
            user_id, device_id = await opener.authenticate(connection)
        except Exception as error:
            # Refused before accepting: the client sees an HTTP 403 on the upgrade (a 500 on a failure of
            # ours), as from the ASGI route.
            status = http.HTTPStatus.FORBIDDEN
            if not isinstance(error, AppError):
                log.exception("stream authentication failed")
                status = http.HTTPStatus.INTERNAL_SERVER_ERROR
            if not self._transport.is_closing():
                self._transport.write(handshake.reject(status, status.phrase if status >= 500 else "").serialize())
                self._transport.close()
            return
        finally:
            self._pending = None
        if self._transport.is_closing():
            return
        self._transport.write(accepted)
        self._ws = FrameProtocol(Side.SERVER, state=OPEN, max_size=max_size, logger=log)
        self._stream = opener.stream(self, user_id, device_id)
        self._stream.start()
        self._schedule_ping()

    # --- asyncio.Protocol ------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        ws = self._ws
        if ws is None:
            return  # frames before the handshake's answer: a client may not send them
        ws.receive_data(data)
        for frame in ws.events_received():
            if not isinstance(frame, Frame):
                continue  # only handshakes are other events, and this one is done
            opcode = frame.opcode
            if opcode is Opcode.TEXT or opcode is Opcode.BINARY or opcode is Opcode.CONT:
                self._on_data_frame(opcode, bytes(frame.data), frame.fin)
            elif opcode is Opcode.PONG and self._ping is not None and self._ping[0] == frame.data:
                self._ping[1].cancel()
                self._schedule_ping()
        self._flush()  # pongs, the close handshake, protocol errors
        if ws.close_expected() and self._close_timer is None and not self._transport.is_closing():
            self._close_timer = asyncio.get_running_loop().call_later(_CLOSE_TIMEOUT_S, self._transport.close)

    def _on_data_frame(self, opcode: Opcode, data: bytes, fin: bool) -> None:
        if opcode is Opcode.BINARY or (opcode is Opcode.CONT and self._frames is None):
            # Binary messages are not events: only JSON text is (the frame parser refuses a stray CONT itself).
            self._fail(1003, "the stream takes text messages only")
            return
        if not fin:
            if self._frames is None:
                self._frames = []
            self._frames.append(data)
            return
        if self._frames is not None:
            self._frames.append(data)
            data, self._frames = b"".join(self._frames), None
        try:
            text = data.decode()
        except UnicodeDecodeError:
            self._fail(1007, "invalid UTF-8")
            return
        if self._stream is not None:
            self._stream.on_text(text)

    def _fail(self, code: int, reason: str) -> None:
        assert self._ws is not None
        if self._ws.state is OPEN:
            self._ws.fail(code, reason)
            self._closing()

    def _flush(self) -> None:
        assert self._ws is not None
        for chunk in self._ws.data_to_send():
            if chunk:
                self._transport.write(chunk)
            else:  # websockets' end of the stream: the server closes the TCP connection
                self._transport.close()

    # --- keep-alive --------------------------------------------------------------------------------

    def _schedule_ping(self) -> None:
        if self._keepalive is not None:
            timer = asyncio.get_running_loop().call_later(self._keepalive[0], self._send_ping)
            self._ping = (b"", timer)

    def _send_ping(self) -> None:
        ws = self._ws
        if ws is None or ws.state is not OPEN or self._keepalive is None:
            return
        payload = secrets.token_bytes(4)  # tells this ping's pong from stale or unsolicited ones
        ws.send_ping(payload)
        self._flush()
        timeout = self._keepalive[1]
        if timeout is None:
            self._schedule_ping()
        else:
            self._ping = (payload, asyncio.get_running_loop().call_later(timeout, self._pong_missed))

    def _pong_missed(self) -> None:
        self._ping = None
        self._fail(1011, "keepalive ping timeout")

    # --- asyncio.Protocol, continued ---------------------------------------------------------------

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self)
        if self._ping is not None:
            self._ping[1].cancel()
            self._ping = None
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)  # the sender wakes up and finds the socket gone
        self._writable = None
        if self._stream is not None:
            finished = self._stream.disconnected()
            # The server waits for these before its lifespan closes the database: presence gets written.
            self._tasks.add(finished)
            finished.add_done_callback(self._tasks.discard)

    def pause_writing(self) -> None:
        if self._writable is None or self._writable.done():
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    def eof_received(self) -> bool | None:
        return None  # the transport closes itself

    def shutdown(self) -> None:
        """The server is stopping: 1012 (service restart) to an open stream; anything else just closes."""
        if self._ws is not None and self._ws.state is OPEN:
            with contextlib.suppress(InvalidState):
                self._ws.send_close(1012)
                self._flush()
        self._transport.close()

    # --- StreamSocket ------------------------------------------------------------------------------

    async def send(self, text: str) -> None:
        while self._writable is not None and not self._transport.is_closing():
            await self._writable
        ws = self._ws
        if ws is None or ws.state is not OPEN or self._transport.is_closing():
            raise StreamGone
        ws.send_text(text.encode())
        self._transport.write(b"".join(ws.data_to_send()))

    def send_now(self, text: str) -> bool:
        ws = self._ws
        if self._writable is not None or ws is None or ws.state is not OPEN or self._transport.is_closing():
            return False
        ws.send_text(text.encode())
        self._transport.write(b"".join(ws.data_to_send()))
        return True

    def close(self, code: int, reason: str) -> None:
        ws = self._ws
        if ws is None or ws.state is not OPEN:
            return
        ws.send_close(code, reason)
        self._closing()

    def _closing(self) -> None:
        """A close frame is out: read on until the peer answers it, for at most the close timeout."""
        self._flush()
        self.resume_reading()
        if self._close_timer is None and not self._transport.is_closing():
            self._close_timer = asyncio.get_running_loop().call_later(_CLOSE_TIMEOUT_S, self._transport.close)

    def pause_reading(self) -> None:
        if not self._reading_paused and not self._transport.is_closing():
            self._reading_paused = True
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self._reading_paused:
            self._reading_paused = False
            if not self._transport.is_closing():
                self._transport.resume_reading()
