"""How `parley serve` runs uvicorn: its options, and an HTTP protocol with deadlines for reading a request that
hands `/client/v1/stream` upgrades to the stream's own WebSocket protocol."""

from __future__ import annotations

import asyncio
from typing import Literal

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from parley.config import ServerSettings
from parley.messaging.stream_protocol import STREAM_OPENER, STREAM_PATH, StreamWebSocket

_Phase = Literal["headers", "body"] | None
_REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class DeadlineHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with read deadlines.

    uvicorn times out only a connection idle between requests (`timeout_keep_alive`): one that sends nothing, or
    sends its headers or body a byte at a time, holds its socket and memory for ever. Here a request's headers must
    arrive within `header_timeout_s` of its first byte (or of the connection, for the first request), and its body
    within `body_timeout_s` of the headers, plus a second for every `body_min_rate` bytes received (slow links may
    upload large files; a drip earns nothing). Past a deadline the connection is closed (with a 408 when no
    response has started). A request read whole in one go, the usual case, sets no timer at all.
    """

    header_timeout_s = 10.0
    body_timeout_s = 30.0
    body_min_rate = 4096

    _phase: _Phase = None
    _deadline = 0.0
    _timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._expect("headers", self.header_timeout_s)
        self._arm()  # a connection that never sends a byte is covered too

    def connection_lost(self, exc: Exception | None) -> None:
        self._phase = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._phase is not None and self._timer is None:
            self._arm()  # the request is still incomplete after the bytes at hand

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._phase != "headers":  # a later request on a kept-alive connection
            self._expect("headers", self.header_timeout_s)

    def on_headers_complete(self) -> None:
        upgrade = self.parser.should_upgrade() and self._should_upgrade()
        # A WebSocket is no longer an HTTP request: the stream's own rules apply from here.
        self._expect(None if upgrade else "body", self.body_timeout_s)
        if upgrade and self._timer is not None:
            self._timer.cancel()  # it would keep this protocol (and its parser) alive for the socket's first seconds
            self._timer = None
        super().on_headers_complete()

    def handle_websocket_upgrade(self) -> None:
        opener = self.app_state.get(STREAM_OPENER)
        if opener is None or self.scope["method"] != "GET" or httptools.parse_url(self.url).path != STREAM_PATH:
            super().handle_websocket_upgrade()
            return
        # The stream is served without an ASGI task per socket (see stream_protocol.py).
        self.connections.discard(self)
        ping = self.config.ws_ping_interval
        StreamWebSocket(self.transport, self.connections, self.tasks).upgrade(
            self.url,
            self.headers,
            opener,
            self.config.ws_max_size,
            self.server_state.default_headers,
            (ping, self.config.ws_ping_timeout) if ping else None,
        )

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._deadline += len(body) / self.body_min_rate

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._phase = None  # the app has the whole request; how long it takes to answer is its own business

    def _expect(self, phase: _Phase, within_s: float) -> None:
        self._phase, self._deadline = phase, self.loop.time() + within_s

    def _arm(self) -> None:
        if not self.transport.is_closing():
            self._timer = self.loop.call_at(self._deadline, self._on_deadline)

    def _on_deadline(self) -> None:
        self._timer = None
        if self._phase is None:
            return
        if self.loop.time() < self._deadline:
            self._arm()  # extended since the timer was set (a new request, or body bytes received)
            return
        if self._phase == "headers" and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(_REQUEST_TIMEOUT)
        self._phase = None
        self.transport.close()


def protocol_for(settings: ServerSettings) -> type[DeadlineHttpProtocol]:
    """The protocol class with this server's deadlines."""
    return type(
        "ParleyHttpProtocol",
        (DeadlineHttpProtocol,),
        {
            "header_timeout_s": settings.header_timeout_s,
            "body_timeout_s": settings.body_timeout_s,
            "body_min_rate": settings.body_min_bytes_per_s,
        },
    )
